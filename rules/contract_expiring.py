"""contract-expiring: a circuit's contract term that ends within 90 days after the as-of date
with no renewal row after it, or a circuit billed month-to-month past its term end (advice:
what renewing would save a month).

Advice, not an error (domain.md R3): a term that runs out moves the circuit to its after-term
clause, often a month-to-month rate well above the term rate, and a renewal negotiated before
the end avoids it. One finding per circuit contract row that ends in [as-of, as-of + 90 days]
and is the circuit's last row (no renewal starts after it), and one per circuit whose latest
bill charges a period after the end of a month-to-month term (at the term rate a renewal saves
nothing today but holds the rate; the finding says so). A circuit with a stop date
(disconnected, or a disconnect order) has nothing to renew and is left alone; product rows
are not circuit terms. The finding sits on the latest bill that charges the circuit (or its
account's latest bill), and what a renewal would save a month is worked out as: billed
month-to-month, the current month-to-month bill (the latest period's charges, as a month)
minus the last term rate; ending soon, month-to-month, the month-to-month cap (term rate x
mtm %) minus the term rate, "up to"; ending soon under hold, nothing, as the rate holds.

Money at issue: none (0.00), as it is advice on what a renewal would save.

Example: a term ending within 90 days, month-to-month at up to 125 % after it::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-03-01..2026-02-28
        | after-term month-to-month | mtm 125%
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | contract-expiring | 12.HCGS.123456..LY | 88231 | 0

Example: billed month-to-month since its term ended, within the allowed percent::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2022-10-01..2025-09-30
        | after-term month-to-month | mtm 150%
    invoice | 88100 | account 8310-4471-22 | billed 2025-11-01
    line | 12.HCGS.123456..LY | MRC | 2025-11-01..2025-11-30 | 585.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 585.00 | MPLS port
    expect | contract-expiring | 12.HCGS.123456..LY | 88231 | 0

Not a finding: a term ending within 90 days that a renewal row already follows::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-03-01..2026-02-28
        | after-term month-to-month | mtm 125%
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 420.00 | term 2026-03-01..2029-02-28
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | nothing

Not a finding: a term ending 91 days after the as-of date::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-04-01..2026-04-01
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | nothing

Example: month-to-month past its term, still at the term rate (a renewal holds the rate)::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2022-10-01..2025-09-30
        | after-term month-to-month | mtm 150%
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | contract-expiring | 12.HCGS.123456..LY | 88231 | 0

Not a finding: a term that ended, whose rate holds, billed at that rate::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2022-10-01..2025-09-30
        | after-term hold
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | nothing

Not a finding: a term ending soon on a circuit with a disconnect order::

    as-of | 2025-12-31
    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | term 2023-03-01..2026-02-28
    order | ORD-9001 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status pending | ordered 2025-12-15 | due 2026-02-28
    invoice | 88231 | account 8310-4471-22 | billed 2025-12-01
    line | 12.HCGS.123456..LY | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pyarrow as pa

from reconcile.core.ids import account_key, service_key
from reconcile.core.lines import plain_amount
from reconcile.core.models import Category, Invoice, Severity
from reconcile.core.periods import describe_period, period_worth
from reconcile.core.values import CENT, money
from reconcile.expected import Term
from reconcile.rules.context import UNCLAIMED, AuditContext, noun

RULE_ID = "contract-expiring"
SEVERITY = Severity.LOW
CATEGORY = Category.ADVICE
PRECEDENCE = 45  # tiers: rules/__init__.py (reads the charges before the rate tier claims them)
NEEDS = ("contracts",)
HORIZON = timedelta(days=90)  # "ends within 90 days after as-of"


def check(ctx: AuditContext):
    plans, seen = [], set()
    for idx in ctx.expected.contracted():
        plan = ctx.expected.plan(idx)
        key = service_key(plan.service.service_id)
        if plan.stops is None and key not in seen:  # a circuit listed twice is one circuit
            seen.add(key)
            plans.append(plan)
    if not plans:
        return
    billed = _billed(ctx, [p.service.index for p in plans])
    advice = []  # (plan, month-to-month term and charge, or None; the ending term)
    for plan in plans:
        latest = billed.get(plan.service.index)
        mtm = _month_to_month(ctx, plan, latest)
        last = plan.terms[-1]
        if mtm is not None:
            advice.append((plan, mtm, latest))
        elif last.end is not None and ctx.as_of <= last.end <= ctx.as_of + HORIZON:
            advice.append((plan, None, latest))
    ctx.lines_at([i for *_, latest in advice if latest for i in latest[-1]])  # all at once
    for plan, mtm, latest in advice:
        if mtm is not None:
            yield _billed_mtm(ctx, plan, *mtm)
        else:
            found = _ending(ctx, plan, plan.terms[-1], latest)
            if found is not None:
                yield found


def _billed(ctx: AuditContext, services: list[int]) -> dict[int, tuple]:
    """Per service, its latest recurring charge as (bill date, invoice position, period start,
    end, sum, line ids): the latest bill's latest period; duplicates an earlier tier took are left
    out."""
    wanted = pa.table({"service": pa.array(services, pa.int32())})
    rows = ctx.sql(f"""
        WITH g AS (
            SELECT service, max(invoice_date) AS billed_on, invoice, period_start, period_end,
                   sum(amount) AS charged, list(line_id ORDER BY line_id) AS ids
            FROM lines
            WHERE charge_type = 'recurring' AND amount > 0 AND period_start IS NOT NULL
              AND period_end IS NOT NULL AND {UNCLAIMED}
              AND service IN (SELECT service FROM wanted)
            GROUP BY service, invoice, period_start, period_end)
        SELECT service, billed_on, invoice, period_start, period_end, charged, ids FROM g
        QUALIFY row_number() OVER (PARTITION BY service ORDER BY billed_on DESC NULLS LAST,
                                   period_start DESC, invoice DESC) = 1""", wanted=wanted)
    return {service: tuple(rest) for service, *rest in rows}


def _month_to_month(ctx: AuditContext, plan, latest) -> tuple | None:
    """(term, charge, its monthly bill, the saving) when the latest charge falls after the end
    of a month-to-month term: a renewal at the term rate saves what the bill is above it."""
    if latest is None:
        return None
    term = plan.term_on(latest[2])
    if term is None or not term.ended_before(latest[2]) or term.after_term != "month-to-month":
        return None
    worth = period_worth(latest[2], latest[3])[0]
    charged = plain_amount(latest[4])
    monthly = charged if worth == 1 else (charged / worth).quantize(CENT)
    saving = monthly - term.monthly_rate
    return term, latest, monthly, saving if saving > ctx.tolerance else Decimal(0)


def _billed_mtm(ctx: AuditContext, plan, term: Term, group, monthly: Decimal, saving: Decimal):
    _, _, start, end, charged, ids = group
    charged = plain_amount(charged)
    lines = ctx.lines_at(ids)
    as_month = "" if monthly == charged else f", {money(monthly)} as a month"
    svc = plan.service
    return ctx.finding(
        RULE_ID, SEVERITY, lines, service=svc, billed=monthly, expected=term.monthly_rate,
        at_issue=Decimal(0), claim=False, service_id=svc.service_id,
        explanation=(f"{noun(svc.service_id)} is billed month-to-month since its contract term "
                     f"ended on {term.end} ({money(charged)} for {describe_period(start, end)} "
                     f"on invoice {lines[0].invoice_number}{as_month}): {_what_renewal_does(term, saving)}."),
        contract=term.contract.evidence(), term_end=term.end.isoformat(),
        monthly_saving=money(saving),
    )


def _what_renewal_does(term: Term, saving: Decimal) -> str:
    if saving > 0:
        return (f"a renewal at the last term rate of {money(term.monthly_rate)} would save "
                f"{money(saving)} a month (the current month-to-month bill minus the last term "
                f"rate)")
    return (f"a renewal would save nothing a month at today's bill, still the last term rate of "
            f"{money(term.monthly_rate)}, but would hold that rate, which the carrier may raise "
            f"any month without a term")


def _ending(ctx: AuditContext, plan, term: Term, latest):
    svc = plan.service
    if latest is not None:
        lines, invoice = ctx.lines_at(latest[-1]), None
    else:  # not charged here: on its account's latest bill, when the batch has one
        lines, invoice = [], _latest_bill(ctx, svc.account)
        if invoice is None:
            return None
    days = (term.end - ctx.as_of).days
    saving, how = _renewal_saving(term)
    return ctx.finding(
        RULE_ID, SEVERITY, lines, service=svc, invoice=invoice, billed=Decimal(0),
        expected=term.monthly_rate, at_issue=Decimal(0), claim=False, service_id=svc.service_id,
        explanation=(f"{noun(svc.service_id)}'s contract term at {money(term.monthly_rate)} a "
                     f"month ends on {term.end}, {days} days after {ctx.as_of}, with no renewal "
                     f"in the contracts file: {how}."),
        contract=term.contract.evidence(), term_end=term.end.isoformat(),
        days_left=str(days), monthly_saving=money(saving) if saving is not None else "",
    )


def _renewal_saving(term: Term) -> tuple[Decimal | None, str]:
    """What renewing at the term rate saves a month, and how that was worked out."""
    if term.after_term != "month-to-month":
        return Decimal(0), ("its rate holds after the term, so a renewal at the same rate saves "
                            "$0.00 a month (renewing is the moment to negotiate a lower rate)")
    cap = term.allowed_after_end
    if cap is None:
        return None, ("it then goes month-to-month with no cap in the contract, so what a renewal "
                      "saves cannot be worked out")
    saving = max(cap - term.monthly_rate, Decimal(0))
    pct = term.contract.mtm_rate_pct.normalize()
    return saving, (f"it then goes month-to-month at up to {pct:f} % of the term rate "
                    f"({money(cap)}), so a renewal at the term rate would save up to "
                    f"{money(saving)} a month (the month-to-month cap minus the term rate)")


def _latest_bill(ctx: AuditContext, account: str) -> Invoice | None:
    key = account_key(account) if account else ""
    bills = [i for i in ctx.result.invoices
             if key and account_key(i.account) == key and i.invoice_date is not None]
    return max(bills, key=lambda i: i.invoice_date, default=None)

