"""billed-after-disconnect: a recurring charge for a period that starts after the disconnect date.

Recurring charges are billed a month in advance, so the bill that covers the disconnect
date legitimately charges the whole month, and a prorated credit follows on the next bill
(domain.md §4.1, R4). A recurring charge for a period that *starts* after the disconnect
(bill-stop) date is money for a service the business no longer has. One finding per line.
A bill issued before the disconnect (e.g. on the 25th for the next month) charges the next
month in advance and the next bill credits it back: the legitimate pattern, not a finding.
Usage is billed in arrears, so calls made before the disconnect come on later bills.

Money at issue: the charge, less what a credit on the same or a later bill took back of it.

Example: disconnected in March, billed again for April::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    order | ORD-7731 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status completed | ordered 2025-02-10 | due 2025-03-10 | completed 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-11..2025-03-31 | -304.84 | MPLS port prorated credit
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-after-disconnect | 12.HCGS.123456..LY | 88231 | 450.00

Example: the next month billed in advance, then credited only in part::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 8310-4471-22 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 8310-4471-22 | billed 2025-03-25
    line | 12.HCGS.123456..LY | credit | 2025-03-01..2025-03-31 | -150.00 | MPLS port credit
    expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 300.00

Not a finding: the month of the disconnect billed in advance, a prorated credit on the next bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-11..2025-03-31 | -304.84 | MPLS port prorated credit
    expect | nothing

Not a finding: the next month billed in advance before the disconnect, credited in full::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 8310-4471-22 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 8310-4471-22 | billed 2025-03-25
    line | 12.HCGS.123456..LY | credit | 2025-03-01..2025-03-31 | -450.00 | MPLS port credit
    expect | nothing

Not a finding: two months billed after the disconnect, each taken back by a credit on a later bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 8310-4471-22 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 8310-4471-22 | billed 2025-03-25
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | A3 | account 8310-4471-22 | billed 2025-04-25
    line | 12.HCGS.123456..LY | credit | - | -450.00 | MPLS port credit
    line | 12.HCGS.123456..LY | credit | - | -450.00 | MPLS port credit
    expect | nothing

Not a finding: calls made before the disconnect, billed in arrears after it::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | credit | 2025-03-11..2025-03-31 | -30.48 | Business line prorated credit
    line | 212-555-0147 | usage | 2025-03-01..2025-03-10 | 3.20 | Long distance calls | qty 64 | unit 0.05
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pyarrow as pa

from reconcile.core.models import Category, InvoiceLine, Severity
from reconcile.core.periods import describe_period, overlap_days
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice

RULE_ID = "billed-after-disconnect"
SEVERITY = Severity.HIGH
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 20  # tiers: rules/__init__.py
NEEDS = ("disconnect_date",)  # of the inventory: without it, not checked (rules/registry.py)


def check(ctx: AuditContext):
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN plans p ON l.service = p.service
        WHERE l.charge_type = 'recurring' AND l.amount > 0 AND p.stops IS NOT NULL
          AND l.period_start > p.stops AND l.{UNCLAIMED}
        ORDER BY l.line_id""")
    if not rows:
        return
    after = [(ln, ctx.service(ln)) for ln in ctx.lines_at([r[0] for r in rows])]
    credits = _credits(ctx, {svc.index for _, svc in after})
    used: set[int] = set()
    for ln, svc in after:
        back = _credited_back(ln, credits.get(svc.index, ()), used, ctx.tolerance)
        if ln.amount - back <= ctx.tolerance:
            ctx.claimed.add(ln.line_id)  # taken back in full: explained, not at issue
            continue
        note = f" (a later credit took {money(back)} of it back)" if back else ""
        plan = ctx.expected.plan(svc.index)
        yield ctx.finding(
            RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount, expected=back,
            at_issue=ln.amount - back, stop_from=plan.stops_from,
            explanation=(f"{noun(svc.service_id)} was disconnected on {plan.stops} but "
                         f"was billed {money(ln.amount)} for "
                         f"{describe_period(ln.period_start, ln.period_end)} on {on_invoice(ln)}{note}."),
        )
    ctx.claimed.update(used)  # a credit takes back one charge only


def _credits(ctx: AuditContext, services: set[int]) -> dict[int, list[InvoiceLine]]:
    wanted = pa.table({"service": pa.array(sorted(services), pa.int32())})
    rows = ctx.sql(f"""
        SELECT line_id FROM lines WHERE amount < 0 AND {UNCLAIMED}
          AND service IN (SELECT service FROM wanted) ORDER BY line_id""", wanted=wanted)
    out: dict[int, list[InvoiceLine]] = defaultdict(list)
    for ln in ctx.lines_at([r[0] for r in rows]):
        out[ctx.result.matches[ln.line_id].service].append(ln)
    return out


def _credited_back(ln: InvoiceLine, credits, used: set[int], tol: Decimal) -> Decimal:
    """Credits on the same or a later bill for this line's period (or, with no period, of its
    very amount); each credit is used once."""
    back = Decimal(0)
    for c in credits:
        if c.line_id in used or (c.invoice_date or date.min) < (ln.invoice_date or date.min):
            continue
        if c.period_start and c.period_end:
            if not overlap_days(c.period_start, c.period_end, ln.period_start, ln.period_end):
                continue
        elif abs(c.amount + ln.amount) > tol:
            continue
        used.add(c.line_id)
        back += -c.amount
        if back >= ln.amount:
            return ln.amount
    return back
