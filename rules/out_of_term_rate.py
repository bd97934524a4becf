"""out-of-term-rate: a recurring charge, for a period after the contract term ended, above what
the contract allows after its term (hold: the term rate; month-to-month: the term rate times
its month-to-month percent).

A carrier often moves a circuit whose term ended to a month-to-month rate 25 % to 100 %
higher (domain.md R3). What it may bill then is the contract's after-term clause: under
`hold` (also auto-renew, same rate, or blank) the term rate holds; under `month-to-month`
the most it may bill is the term rate times `mtm_rate_pct`. The term is the circuit's last
contract row started by the period's start (a renewal row starting where it ended brings a
new term and its own rate: rate-above-contract's), else the product row pricing the line
(per unit of its quantity), else the inventory's monthly rate with its contract end, whose
after-term is hold. Month-to-month billing at or under the allowed percent is legitimate here
(contract-expiring advises renewing); month-to-month with no percent in the contract sets no
cap and is not judged. Partial periods are prorated by days, and a charge is flagged only
above every accepted proration by more than the tolerance (as rate-above-contract).

Money at issue: the charge minus the most the contract allows after its term, prorated by calendar days for its period.

Example: the term ended, the rate holds, the carrier raised it::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2025-03-31
        | after-term hold
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 540.00 | MPLS port
    expect | out-of-term-rate | 12.HCGS.123456..LY | 88231 | 90.00

Example: month-to-month above the contract's 125 %::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2025-03-31
        | after-term month-to-month | mtm 125%
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 600.00 | MPLS port
    expect | out-of-term-rate | 12.HCGS.123456..LY | 88231 | 37.50
    expect | contract-expiring | 12.HCGS.123456..LY | 88231 | 0

Example: no contracts file: the inventory's rate holds after its contract end::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | contract-end 2025-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    expect | out-of-term-rate | 12.HCGS.123456..LY | 88231 | 45.00

Not a finding: month-to-month at 120 %, under the contract's 125 % (advice only)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2025-03-31
        | after-term month-to-month | mtm 125%
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 540.00 | MPLS port
    expect | contract-expiring | 12.HCGS.123456..LY | 88231 | 0

Not a finding: the term rate, held after the term ended::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | contract-end 2024-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a renewal row starts where the term ended, billed at its rate::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2025-03-31
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 480.00 | term 2025-04-01..2027-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 480.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.core.models import Category, Severity
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.rules.context import AuditContext, on_invoice
from reconcile.rules.pricing import Priced, over_bound

RULE_ID = "out-of-term-rate"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 50  # tiers: rules/__init__.py (rate-above-contract judges the periods in term)
# a term's end: the inventory's contract end or contract rows (without a rate too,
# rate-above-contract says so)
NEEDS = (("contract_end", "contracts"),)


def check(ctx: AuditContext):
    for charge in over_bound(ctx):
        if not charge.out_of_term or charge.claimed(ctx):
            continue
        allowed = charge.term.allowed_after_end
        if allowed is None:  # month-to-month with no cap in the contract
            continue
        expected = charge.at(allowed)
        billed = charge.billed
        over = charge.over(expected, ctx.tolerance)
        if over is None:
            continue
        lines = charge.lines(ctx)
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=charge.service, billed=billed,
            expected=expected.primary, at_issue=over,
            explanation=(f"{charge.subject()}'s contract term ({_term_text(charge)}) ended on "
                         f"{charge.term.end}, {_allowed_text(charge, allowed)}, but it was "
                         f"billed {money(billed)} for {describe_period(charge.start, charge.end)} "
                         f"on {on_invoice(lines[0])}: {money(over)} above what the contract "
                         f"allows."),
            term_end=charge.term.end.isoformat(), after_term=charge.term.after_term,
            allowed_monthly=money(allowed * charge.units), rate_from=charge.term.source,
            **({"contract": charge.term.contract.evidence()} if charge.term.contract else {}),
            accepted_prorations=[money(a) for a in sorted(set(expected.accepted))],
        )


def _term_text(charge: Priced) -> str:
    term = charge.term
    unit = " a unit" if term.per_unit else ""
    return f"{money(term.monthly_rate)}{unit} a month, {term.describe()}"


def _allowed_text(charge: Priced, allowed: Decimal) -> str:
    term = charge.term
    units = f" for {charge.units_text} units" if term.per_unit else ""
    most = f"{money(allowed * charge.units)} a month{units}"
    if term.after_term == "month-to-month":
        pct = term.contract.mtm_rate_pct
        return (f"after which it may be billed month-to-month at up to {pct.normalize():f} % of "
                f"the term rate ({most})")
    return f"after which its rate holds ({most})"
