"""rate-above-contract: a recurring charge above the contracted monthly rate in force for its
period, partial periods prorated by days.

The rate is the one in force on the period's start (issue 11): a circuit's contract row (a
renewal's lower rate from its start date), else a product row whose product the line's
description contains (its rate per unit of the line's quantity), else the inventory's
monthly rate; the evidence names the row used. A period that starts after the term ended is
out of term: out-of-term-rate judges it, this rule never applies an expired row. The rate is
the one before any discount: a discount missing is discount-not-applied's money, the excess
over the undiscounted rate is this rule's, so no dollar is counted twice.

Partial periods are prorated by days (domain.md R1, R12): the expected charge is the rate
times the calendar-day share of each month, or exactly the rate for a whole billing cycle
(e.g. the 15th to the 14th). Carriers prorate partial periods in several ways (30-day
months, anniversary cycles, a daily rate rounded to cents), so such a charge is flagged only
when it is above every one of those by more than the tolerance; a whole cycle is only ever
the rate. A circuit's recurring lines for one period on one invoice are added up first (a
port and its access loop may be billed as two lines of one contracted MRC); a line a product
row prices is judged alone. It sees only lines no earlier rule explained.

Money at issue: the charge minus the contracted rate in force prorated by calendar days for its period.

Example: a whole month above the rate, beside a correct partial month::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | product MPLS port | rate 450.00
        | term 2025-03-10..2028-03-09 | after-term month-to-month | mtm 125%
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

Example: a whole billing cycle over February above the rate, though under its calendar days::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2026-01-20
    line | 12.HCGS.123456..LY | MRC | 2026-01-20..2026-02-19 | 477.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 27.00

Not a finding: a port and its access loop, two lines of one contracted rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 300.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 150.00 | Access loop
    expect | nothing

Not a finding: a cent above the rate, within the tolerance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.01 | MPLS port
    expect | nothing

Not a finding: a month billed twice on one bill is a duplicate, not a rate above contract::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | duplicate-charge | 12.HCGS.123456..LY | 88231 | 450.00

Example: a renewal's lower rate not applied from its start date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-01-01..2025-03-31
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 400.00 | term 2025-04-01..2028-03-31
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 50.00

Example: a product contracted per seat on the account, billed above it::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | - | product Hosted PBX seat | account 8310-4471-22 | rate 20.00
        | term 2025-01-01..2027-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | MRC | 2025-04-01..2025-04-30 | 550.00 | Hosted PBX seat | qty 25 | unit 22.00
    expect | rate-above-contract | - | 88231 | 50.00

Not a finding: a renewal's lower rate billed from its start date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-01-01..2025-03-31
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 400.00 | term 2025-04-01..2028-03-31
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 400.00 | MPLS port
    expect | nothing

Not a finding: after the last contract row ends, the rate is out-of-term-rate's to judge::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2025-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    expect | out-of-term-rate | 12.HCGS.123456..LY | 88231 | 45.00
"""

from __future__ import annotations

from reconcile.core.models import Category, Severity
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.rules.context import AuditContext, on_invoice
from reconcile.rules.pricing import Priced, over_bound

RULE_ID = "rate-above-contract"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 50  # tiers: rules/__init__.py
# a rate from the inventory or from contract rows (rules/registry.py)
NEEDS = (("monthly_rate", "contracts"),)


def check(ctx: AuditContext):
    for charge in over_bound(ctx):
        if charge.out_of_term or charge.claimed(ctx):
            continue  # out of term: out-of-term-rate judges it
        expected = charge.contract_rate
        billed = charge.billed
        over = charge.over(expected, ctx.tolerance)
        if over is None:
            continue
        lines = charge.lines(ctx)
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=charge.service, billed=billed,
            expected=expected.primary, at_issue=over,
            explanation=(f"{charge.subject()} is {rate_text(charge, expected.primary)} but was "
                         f"billed {money(billed)} for {describe_period(charge.start, charge.end)} "
                         f"on {on_invoice(lines[0])}: {money(over)} above contract."),
            contract_rate=money(charge.term.monthly_rate),
            rate_from=charge.term.source,
            **({"contract": charge.term.contract.evidence()} if charge.term.contract else {}),
            accepted_prorations=[money(a) for a in sorted(set(expected.accepted))],
        )


def rate_text(charge: Priced, primary) -> str:
    """'contracted at $450.00 a month ($319.35 for ..., prorated by days)', per unit when a
    product row prices it."""
    term = charge.term
    if term.per_unit:
        text = (f"contracted at {money(term.monthly_rate)} a unit a month ({charge.units_text} "
                f"units: {money(term.monthly_rate * charge.units)})")
        monthly = term.monthly_rate * charge.units
    else:
        text, monthly = f"contracted at {money(term.monthly_rate)} a month", term.monthly_rate
    text += f" by {term.describe()}" if term.contract else ""
    if primary != monthly:
        text += f" ({money(primary)} for {describe_period(charge.start, charge.end)}, prorated by days)"
    return text
