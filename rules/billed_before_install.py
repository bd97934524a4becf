"""billed-before-install: a recurring charge for days before the service's start date: a period
that ends before it, or a first period billed in full from before it.

Billing starts at service commencement (domain.md R5). The start date is the inventory's
install date, else the completion date of the service's install order (a circuit turned up
weeks after its due date starts billing when it was turned up, not on the due date: seed
000); the finding names which. The first bill after an install legitimately carries a
partial month from the start date plus the next month in advance. A recurring charge for a
period that *ends* before the start date is money for a service the business did not have
yet; one whose period *starts* before it and runs past it (the install on the 20th, the
whole month billed) charges the days before it as well: those days, prorated by calendar
days (a whole cycle's charge as its monthly rate), are at issue, unless the amount is no
more than the period from the start date is worth (a period printed from the 1st, the charge
prorated from the install). No start date: not checked. One finding per line.

Money at issue: the whole charge for a period that ends before the start date; for one that
starts before it and runs past it, the charge prorated by calendar days over the days before
the start date (never more than the charge exceeds what the days from the start date are
worth).

Example: a month billed before the circuit was installed::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | ordered 2025-01-20 | foc 2025-03-07 | due 2025-03-07
        | completed 2025-03-10 | nrc 500.00 | new-rate 450.00 | description MPLS port
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-02-01..2025-02-28 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | billed-before-install | 12.HCGS.123456..LY | 88100 | 450.00

Example: installed on the 20th, the whole month billed::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-20
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-before-install | 12.HCGS.123456..LY | 88231 | 275.81

Example: billed from the order's due date, turned up three weeks later (the order dates it)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | ordered 2025-01-20 | due 2025-03-03 | completed 2025-03-24
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-03..2025-03-31 | 420.97 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-before-install | 12.HCGS.123456..LY | 88231 | 304.84

Not a finding: the first bill's partial month plus the next month in advance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | nothing

Not a finding: billed in cycles that start on the install date (the 10th to the 9th)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    invoice | 88140 | account 8310-4471-22 | billed 2025-03-10
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-04-09 | 450.00 | MPLS port
    expect | nothing

Not a finding: the month printed from the 1st, the charge prorated from the install::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-20
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 174.19 | MPLS port from 03/20
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: billed from the turn-up the install order records::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | ordered 2025-01-20 | due 2025-03-03 | completed 2025-03-24
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-24..2025-03-31 | 116.13 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: the install day billed on its own, a period that ends on the install date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-31..2025-03-31 | 14.52 | MPLS port install day
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from reconcile.core.models import Category, InvoiceLine, Severity
from reconcile.core.periods import describe_period, part_of_charge
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice, order_evidence

RULE_ID = "billed-before-install"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 20  # tiers: rules/__init__.py
# an install date in the inventory, or an orders file whose install orders give one
NEEDS = (("install_date", "orders"),)  # without either, not checked (rules/registry.py)


def check(ctx: AuditContext):
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN plans p ON l.service = p.service
        WHERE l.charge_type = 'recurring' AND l.amount > 0 AND p.starts IS NOT NULL
          AND l.period_start < p.starts AND l.{UNCLAIMED}
        ORDER BY l.line_id""")
    for ln in ctx.lines_at([r[0] for r in rows]):
        svc = ctx.service(ln)
        plan = ctx.expected.plan(svc.index)
        starts = plan.starts
        if ln.period_end < starts:
            at_issue, before = ln.amount, "before it was installed"
        else:
            at_issue = _days_before(ctx, ln, svc.index, starts)
            if at_issue <= ctx.tolerance:
                continue
            before = (f"{money(at_issue)} of it for the {(starts - ln.period_start).days} "
                      f"day(s) before it was installed")
        yield ctx.finding(
            RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount,
            expected=ln.amount - at_issue, at_issue=at_issue, start_from=plan.starts_from,
            **order_evidence(plan.start_order),
            explanation=(f"{noun(svc.service_id)} was installed on {starts} ({_source(plan)}) "
                         f"but was billed {money(ln.amount)} for "
                         f"{describe_period(ln.period_start, ln.period_end)}, {before}, on "
                         f"{on_invoice(ln)}."),
        )


def _days_before(ctx: AuditContext, ln: InvoiceLine, index: int, starts: date) -> Decimal:
    """The charge's share of the days before the start date, by calendar days, and no more
    than the charge exceeds what the days from the start date are worth; nothing when it is
    no more than that (a period printed from the 1st, prorated from the install)."""
    due = ctx.expected.recurring(index, starts, ln.period_end)
    if due is not None and ln.amount <= due.highest_accepted + ctx.tolerance:
        return Decimal(0)
    before = part_of_charge(ln.amount, ln.period_start, ln.period_end, ln.period_start,
                            starts - timedelta(days=1))
    # never more than the charge exceeds what the days from the start date are worth
    return before if due is None else min(before, ln.amount - min(due.accepted))


def _source(plan) -> str:
    """'the inventory' or 'install order ORD-5521', for the sentence; evidence has the row."""
    where = plan.starts_from
    return "per the inventory" if where.startswith("install date") else "per the " + where.split(",")[0]
