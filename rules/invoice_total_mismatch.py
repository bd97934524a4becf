"""invoice-total-mismatch: a stated invoice total that differs from the sum of its lines.

Invoice arithmetic is the first identity an auditor checks (domain.md R15): the carrier's
own total must equal what its lines add up to. The total is the bill's current charges (its
printed invoice total, else its current charges), never the amount due, which adds what was
carried from the last bill. An invoice with rows that could not be read
is not checked (the difference would be ours, not the carrier's); errors.json names those
rows instead.

Money at issue: the difference between the stated total and the sum of the lines, an
overcharge when the total is above the lines, in your favour (never added) when below.

Example: a total 15.00 above the lines::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | total 510.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    expect | invoice-total-mismatch | - | 88231 | 15.00

Not a finding: a total that equals its lines, taxes and credits included::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | total 483.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    line | 12.HCGS.123456..LY | credit | - | -12.00 | Service credit for an outage
    expect | nothing

Not a finding: a cent of rounding, within the tolerance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | total 495.01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    expect | nothing

Not a finding: last month's balance, paid, beside this month's charges::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    payment | 8310-4471-22 | paid 2025-03-20 | amount 495.00 | reference ACH-3311 | invoice 88100
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25 | total 495.00
        | previous-balance 495.00 | payments -495.00 | adjustments 0.00
        | current-charges 495.00 | amount-due 495.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    expect | nothing

Example: current charges 15.00 above the lines, the amount due carrying last month's balance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 495.00 | payments 0.00 | current-charges 510.00 | amount-due 1005.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    expect | invoice-total-mismatch | - | 88231 | 15.00

Not a finding: an amount due above the lines by last month's unpaid balance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 495.00 | payments 0.00 | current-charges 495.00 | amount-due 990.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 45.00 | Taxes and surcharges
    expect | nothing
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.core.lines import plain_amount
from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.rules.context import AuditContext

RULE_ID = "invoice-total-mismatch"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 90  # tiers: rules/__init__.py


def check(ctx: AuditContext):
    sums = {n: (count, total) for n, count, total in ctx.sql(
        "SELECT invoice, count(*), sum(amount) FROM lines GROUP BY invoice")}
    for n, inv in enumerate(ctx.result.invoices):
        printed = inv.stated_total if inv.stated_total is not None else inv.current_charges
        if printed is None or inv.unreadable_rows or inv.self_check_failed:
            continue
        count, total = sums.get(n, (0, Decimal(0)))
        total = plain_amount(total)
        diff = printed - total
        if abs(diff) <= ctx.tolerance:
            continue
        way = "more" if diff > 0 else "less"
        yield ctx.finding(
            RULE_ID, SEVERITY, [], service=None, invoice=inv, billed=printed,
            # a printed total above the lines asks for money no charge explains; below them the
            # carrier under-billed itself: shown, never counted as overcharge
            category=Category.OVERCHARGE if diff > 0 else Category.IN_YOUR_FAVOUR,
            expected=total, at_issue=abs(diff), claim=False,
            explanation=(f"Invoice {inv.invoice_number} (account {inv.account}) states a total of "
                         f"{money(printed)} but its {count} lines add up to "
                         f"{money(total)}: {money(abs(diff))} {way} than the charges."),
            stated_total_from=f"{inv.source}: {inv.total_where or 'current charges'}",
            lines_counted=count,
        )
