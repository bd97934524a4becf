"""rate-above-contract: a recurring charge above the contracted monthly rate, partial periods
prorated by days.

The contracted rate is the inventory's monthly rate (contracts with effective dates come
later). Partial periods are prorated by days (domain.md R1, R12): the expected charge is
the rate times the calendar-day share of each month, or exactly the rate for a whole
billing cycle (e.g. the 15th to the 14th). Carriers prorate in several ways (30-day
months, anniversary cycles, a daily rate rounded to cents), so a charge is flagged only
when it is above every one of those by more than the tolerance. Recurring lines of one
service for one period on one invoice are added up first (a port and its access loop may
be billed as two lines of one contracted MRC). It sees only lines no earlier rule explained.

Money at issue: the charge minus the contracted rate prorated by calendar days for its period.

Example: a whole month above the rate, beside a correct partial month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | product MPLS port | rate 450.00
        | term 2025-03-10..2028-03-09 | after-term month-to-month | mtm 25%
        | dispute-window 60 days | late-fee 1.5% | notice 30 days
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00

Example: a whole month's rate billed for a partial month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 450.00 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 130.65

Example: a port and its access loop that add up to more than the rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 300.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 195.00 | Access loop
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00

Not a finding: a partial month prorated by 30-day months::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 330.00 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a billing cycle from the 15th to the 14th::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-03-15
    line | 12.HCGS.123456..LY | MRC | 2025-03-15..2025-04-14 | 450.00 | MPLS port
    expect | nothing

Not a finding: a port and its access loop, two lines of one contracted rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 300.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 150.00 | Access loop
    expect | nothing

Not a finding: a month billed twice on one bill is a duplicate, not a rate above contract::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | duplicate-charge | 12.HCGS.123456..LY | 88231 | 450.00
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.models import Severity
from reconcile.core.periods import describe_period, expected_charges
from reconcile.core.values import money
from reconcile.rules.context import AuditContext, noun, on_invoice

RULE_ID = "rate-above-contract"
SEVERITY = Severity.MEDIUM
PRECEDENCE = 50  # tiers: rules/__init__.py


def check(ctx: AuditContext):
    groups = defaultdict(list)
    for ln, svc in ctx.recurring_charges():
        if svc.monthly_rate is None or ln.period_start is None or ln.period_end is None:
            continue
        groups[(ln.carrier, ln.account, ln.invoice_number, svc.index, ln.period_start,
                ln.period_end)].append(ln)
    for (_, _, _, idx, start, end), lines in groups.items():
        svc = ctx.result.services[idx]
        billed = sum((ln.amount for ln in lines), Decimal(0))
        primary, accepted = expected_charges(svc.monthly_rate, start, end)
        if billed <= max(accepted) + ctx.tolerance:
            continue
        period = describe_period(start, end)
        full = primary == svc.monthly_rate
        rate_text = f"contracted at {money(svc.monthly_rate)} a month" + (
            "" if full else f" ({money(primary)} for {period}, prorated by days)")
        over = billed - primary
        note = ""
        if svc.contract_end and start > svc.contract_end:
            note = (f" The contract term ended on {svc.contract_end}; the carrier may be applying "
                    f"out-of-term rates.")
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=svc, billed=billed, expected=primary, at_issue=over,
            explanation=(f"{noun(svc.service_id)} is {rate_text} but was billed {money(billed)} for "
                         f"{period} on {on_invoice(lines[0])}: {money(over)} above contract.{note}"),
            contract_rate=money(svc.monthly_rate),
            accepted_prorations=[money(a) for a in sorted(set(accepted))],
        )
