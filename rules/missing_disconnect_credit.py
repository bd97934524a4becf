"""missing-disconnect-credit: the advance charge for days from the stop date on, billed before
the disconnect, that the two bills after it do not credit.

Recurring charges are billed a month in advance, so the last bill before a disconnect
charges days after it; a prorated credit for [stop date, period end] is due on the next
bill or the one after (domain.md §4.1, R4 b, R9; seed 003: "two bills from the old carrier
after the disconnect"). The stop date is the first day not billed, from the inventory or
the orders as `billed-after-disconnect` says. A recurring charge on a bill dated before the
stop date whose period runs to the stop date or past it is such an advance charge (so is
one for a period that began before the stop date, whatever the bill's date); the
credits on the service (negative lines, whatever their type, with a period that overlaps
the days due or none) on that bill and the two bills of the account that follow it are
counted, each credit once. A credit at least what any accepted proration convention gives
for those days (calendar days, 30-day months, billing cycles) settles it. The finding is on
the bill that carried the advance charge (its date starts the dispute window), and only
once two bills have followed it in the batch: until then the credit may still come.
Charges for a period that starts on or after the stop date, on a bill dated on or after it,
are `billed-after-disconnect`'s, so a line is judged by one of the two rules only.

Money at issue: the charge prorated by calendar days over the days from the stop date to the
period end (a whole cycle's charge as its monthly rate), less the credits of the two bills that
follow. A service's advance lines of one period on one bill (a port and its access loop) are
one charge, credited and prorated as one.

Example: the month of the disconnect billed in advance, never credited::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | - | tax | - | 4.50 | State tax
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | - | tax | - | 4.50 | State tax
    expect | missing-disconnect-credit | 12.HCGS.123456..LY | 88100 | 319.35

Example: the next month billed before the disconnect, credited in part::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 8310-4471-22 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 8310-4471-22 | billed 2025-03-25
    line | 12.HCGS.123456..LY | credit | 2025-03-01..2025-03-31 | -150.00 | MPLS port credit
    invoice | A3 | account 8310-4471-22 | billed 2025-04-25
    line | - | tax | - | 4.50 | State tax
    expect | missing-disconnect-credit | 12.HCGS.123456..LY | A1 | 300.00

Example: a completed disconnect order, credited from the day after it::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-7731 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status completed | ordered 2025-02-10 | due 2025-03-10 | completed 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-11..2025-03-31 | -304.84 | MPLS port credit
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | - | tax | - | 4.50 | State tax
    expect | missing-disconnect-credit | 12.HCGS.123456..LY | 88100 | 14.51

Not a finding: the prorated credit on the second bill after the disconnect::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | - | tax | - | 4.50 | State tax
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | credit | 2025-03-10..2025-03-31 | -319.35 | MPLS port prorated credit
    expect | nothing

Not a finding: a credit prorated by 30-day months::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-02-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-02-01
    line | 12.HCGS.123456..LY | MRC | 2025-02-01..2025-02-28 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | credit | 2025-02-10..2025-02-28 | -285.00 | MPLS port credit
    invoice | 88302 | account 8310-4471-22 | billed 2025-04-01
    line | - | tax | - | 4.50 | State tax
    expect | nothing

Not a finding: a port and its access loop credited as one, by 30-day months::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 382.50 | disconnected 2026-02-10
    invoice | 26 | account 8310-4471-22 | billed 2026-02-01
    line | 12.HCGS.123456..LY | MRC | 2026-02-01..2026-02-28 | 306.00 | DS1 access port
    line | 12.HCGS.123456..LY | MRC | 2026-02-01..2026-02-28 | 76.50 | Access loop
    invoice | 36 | account 8310-4471-22 | billed 2026-03-01
    line | 12.HCGS.123456..LY | credit | 2026-02-10..2026-02-28 | -242.25 | DS1 prorated credit
    invoice | 46 | account 8310-4471-22 | billed 2026-04-01
    line | - | tax | - | 4.50 | State tax
    expect | nothing

Not a finding: only one bill has followed the advance charge yet::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | - | tax | - | 4.50 | State tax
    expect | nothing

Not a finding: disconnected on the first day of a cycle the last bill did not charge::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-04-01
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | - | tax | - | 4.50 | State tax
    invoice | 88302 | account 8310-4471-22 | billed 2025-05-01
    line | - | tax | - | 4.50 | State tax
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal


from reconcile.core.ids import account_key
from reconcile.core.models import Category, Invoice, InvoiceLine, Severity
from reconcile.core.periods import (describe_period, expected_charges, overlap_days,
                                    part_of_charge, period_worth)
from reconcile.core.values import money
from reconcile.rules.billed_after_disconnect import stop_source
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice, order_evidence

RULE_ID = "missing-disconnect-credit"
SEVERITY = Severity.HIGH
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 20  # tiers: rules/__init__.py (after billed-after-disconnect: by id)
NEEDS = (("disconnect_date", "orders"),)  # a stop date from one or the other
BILLS_AFTER = 2  # the credit is due on the next bill or the one after


def check(ctx: AuditContext):
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN plans p ON l.service = p.service
        WHERE l.charge_type = 'recurring' AND l.amount > 0 AND p.stops IS NOT NULL
          AND l.period_end >= p.stops AND l.invoice_date IS NOT NULL
          AND (l.invoice_date < p.stops OR l.period_start < p.stops)
          AND l.period_start IS NOT NULL AND l.{UNCLAIMED}
        ORDER BY l.line_id""")
    if not rows:
        return
    # a service's advance lines of one period on one bill are one charge (a port and its
    # access loop): a carrier credits them as one, prorated as one
    groups: dict[tuple, list[InvoiceLine]] = {}
    for ln in ctx.lines_at([r[0] for r in rows]):
        key = (ctx.service(ln).index, ln.invoice_number, ln.period_start, ln.period_end)
        groups.setdefault(key, []).append(ln)
    following = _bills_after(ctx)
    credits = ctx.credits_of({key[0] for key in groups})
    left: dict[int, Decimal] = {}  # what is left of each credit counted so far
    for group in groups.values():
        ln = group[0]
        svc = ctx.service(ln)
        after = following(ln)
        if len(after) < BILLS_AFTER:
            continue  # the credit may still come
        plan = ctx.expected.plan(svc.index)
        since = max(plan.stops, ln.period_start)
        charged = sum((g.amount for g in group), Decimal(0))
        due, lowest = _due(charged, ln.period_start, ln.period_end, since)
        bills = {ln.invoice_number, *(b.invoice_number for b in after)}
        took = _take(credits.get(svc.index, ()), bills, since, ln.period_end, due, left)
        credited = sum((amount for _, amount in took), Decimal(0))
        ctx.claimed.update(c.line_id for c, _ in took)  # a credit takes back one charge
        if credited >= lowest - ctx.tolerance or due - credited <= ctx.tolerance:
            ctx.claimed.update(g.line_id for g in group)  # credited: explained, not at issue
            continue
        numbers = ", ".join(b.invoice_number for b in after)
        yield ctx.finding(
            RULE_ID, SEVERITY, group, service=svc, billed=charged, expected=charged - due,
            at_issue=due - credited, stop_from=plan.stops_from,
            **order_evidence(plan.stop_order),
            credit_due=f"{money(due)} for {describe_period(since, ln.period_end)}",
            credited=[{**ctx.line_evidence(c), "counted": money(amount)} for c, amount in took],
            bills_after=[b.invoice_number for b in after],
            explanation=(f"{noun(svc.service_id)} was to stop billing on {plan.stops} "
                         f"({stop_source(plan)}) but {on_invoice(ln)} charged "
                         f"{money(charged)} in advance for "
                         f"{describe_period(ln.period_start, ln.period_end)}, and the two bills "
                         f"after it ({numbers}) credit {money(credited)} of the {money(due)} "
                         f"due for {describe_period(since, ln.period_end)}: "
                         f"{money(due - credited)} not credited."),
        )


def _due(amount: Decimal, start: date, end: date, since: date) -> tuple[Decimal, Decimal]:
    """The credit due for [since, end] of a charge for [start, end], prorated by calendar
    days (a whole cycle's charge is its rate: reconcile.core.periods.part_of_charge), and the
    least any accepted convention gives."""
    if since <= start:
        return amount, amount
    due = part_of_charge(amount, start, end, since, end)
    if period_worth(start, end)[0] != 1:
        return due, due  # a partial period charged: its own days are the only measure
    return due, min([due, *expected_charges(amount, since, end)[1]])


def _take(credits: list[InvoiceLine], bills: set[str], since: date, end: date, due: Decimal,
          left: dict[int, Decimal]) -> list[tuple[InvoiceLine, Decimal]]:
    """Credits on these bills for the days due (a period that overlaps them, or none), up to
    what is due; what is left of a credit stays for the service's other charges."""
    took, need = [], due
    for c in credits:
        if need <= 0:
            break
        if c.invoice_number not in bills:
            continue
        if c.period_start and c.period_end and not overlap_days(c.period_start, c.period_end,
                                                                 since, end):
            continue
        rest = left.get(c.line_id, -c.amount)
        if rest <= 0:
            continue
        amount = min(rest, need)
        left[c.line_id] = rest - amount
        need -= amount
        took.append((c, amount))
    return took


def _bills_after(ctx: AuditContext):
    """line -> the next two bills of its account (same carrier), in date order."""
    by_account: dict[tuple, list[Invoice]] = defaultdict(list)
    for inv in ctx.result.invoices:
        if inv.invoice_date is not None:
            by_account[(inv.carrier, account_key(inv.account))].append(inv)
    for bills in by_account.values():
        bills.sort(key=lambda b: (b.invoice_date, b.invoice_number))

    def following(ln: InvoiceLine) -> list[Invoice]:
        bills = by_account.get((ln.carrier, account_key(ln.account)), ())
        later = [b for b in bills if b.invoice_date > ln.invoice_date
                 and b.invoice_number != ln.invoice_number]
        return later[:BILLS_AFTER]
    return following
