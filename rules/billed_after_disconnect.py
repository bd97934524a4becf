"""billed-after-disconnect: a recurring charge, on a bill dated on or after the stop date, for
a period that starts on or after it; or usage for a period that starts more than 90 days after
it.

The stop date is the first day not billed: the inventory's disconnect date, else the
completion date of the service's disconnect order, else for a pending disconnect order the
later of its due date and its order date plus the notice days (the contract's, else 30:
carriers require notice, seed 003); the finding names which. Recurring charges are billed a
month in advance, so the bill that covers the stop date legitimately charges the whole month
and a prorated credit for [stop date, period end] follows on the next bill (domain.md §4.1,
R4). A recurring charge for a period that *starts* on or after the stop date, on a bill
dated on or after it, is money for a service the business no longer has. Such a charge on a
bill dated *before* the stop date is the advance charge a disconnect credit must take back:
`missing-disconnect-credit` judges it, never this rule, so no money is counted twice. Usage
is billed in arrears and may come up to 90 days after the stop date (Lumen's terms); usage
for a period that starts later is at issue. One finding per line.

Money at issue: the charge, less what a credit on the same or a later bill took back of it.

Example: disconnected in March, billed again for April::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-10..2025-03-31 | -319.35 | MPLS port prorated credit
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-after-disconnect | 12.HCGS.123456..LY | 88231 | 450.00

Example: a completed disconnect order the inventory does not show, billed on::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-7731 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status completed | ordered 2025-02-10 | due 2025-03-01 | completed 2025-03-01
    invoice | 88231 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-after-disconnect | 12.HCGS.123456..LY | 88231 | 450.00
    expect | billed-after-disconnect | 12.HCGS.123456..LY | 88302 | 450.00

Example: a pending disconnect order, billed past its notice period::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | notice 30 days
    order | ORD-7731 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status pending | ordered 2025-02-10 | due 2025-02-20
    invoice | 88302 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-after-disconnect | 12.HCGS.123456..LY | 88302 | 450.00

Example: usage for a month that starts more than 90 days after the disconnect::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-10
    invoice | 88500 | account 8310-4471-22 | billed 2025-07-01
    line | 212-555-0147 | usage | 2025-06-09..2025-06-30 | 4.10 | Long distance calls
    expect | billed-after-disconnect | 212-555-0147 | 88500 | 4.10

Not a finding: the month of the disconnect billed in advance, a prorated credit on the next bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-10..2025-03-31 | -319.35 | MPLS port prorated credit
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

Not a finding: a pending disconnect order, billed until its notice period ends::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-7731 | account 8310-4471-22 | service 12.HCGS.123456..LY | action disconnect
        | status pending | ordered 2025-02-10 | due 2025-02-20
    invoice | 88231 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88302 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-12..2025-03-31 | -290.32 | MPLS port credit
    expect | nothing

Not a finding: calls made before the disconnect, billed in arrears after it::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 212-555-0147 | credit | 2025-03-10..2025-03-31 | -31.94 | Business line prorated credit
    line | 212-555-0147 | usage | 2025-03-01..2025-03-09 | 3.20 | Long distance calls | qty 64 | unit 0.05
    expect | nothing

Not a finding: usage billed 90 days after the disconnect::

    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-10
    invoice | 88500 | account 8310-4471-22 | billed 2025-07-01
    line | 212-555-0147 | usage | 2025-06-08..2025-06-30 | 0.85 | Long distance calls
    expect | nothing
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal


from reconcile.core.models import Category, ChargeType, InvoiceLine, Severity
from reconcile.core.periods import describe_period, overlap_days
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice, order_evidence

RULE_ID = "billed-after-disconnect"
SEVERITY = Severity.HIGH
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 20  # tiers: rules/__init__.py
# a disconnect date in the inventory, or an orders file whose disconnect orders give one
NEEDS = (("disconnect_date", "orders"),)  # without either, not checked (rules/registry.py)
USAGE_GRACE_DAYS = 90  # usage may be billed this long after the stop date (Lumen; domain.md R4)


def check(ctx: AuditContext):
    # recurring: billed on or after the stop date (earlier bills' advance charges are
    # missing-disconnect-credit's); usage: a period starting over 90 days after it
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN plans p ON l.service = p.service
        WHERE l.amount > 0 AND p.stops IS NOT NULL AND l.{UNCLAIMED} AND (
              (l.charge_type = 'recurring' AND l.period_start >= p.stops
               AND (l.invoice_date IS NULL OR l.invoice_date >= p.stops))
           OR (l.charge_type = 'usage'
               AND l.period_start > p.stops + INTERVAL {USAGE_GRACE_DAYS} DAY))
        ORDER BY l.line_id""")
    if not rows:
        return
    after = [(ln, ctx.service(ln)) for ln in ctx.lines_at([r[0] for r in rows])]
    credits = ctx.credits_of({svc.index for _, svc in after})
    used: set[int] = set()
    for ln, svc in after:
        plan = ctx.expected.plan(svc.index)
        usage = ln.charge_type is ChargeType.USAGE
        back = Decimal(0) if usage else \
            _credited_back(ln, credits.get(svc.index, ()), used, ctx.tolerance)
        if ln.amount - back <= ctx.tolerance:
            ctx.claimed.add(ln.line_id)  # taken back in full: explained, not at issue
            continue
        note = f" (a later credit took {money(back)} of it back)" if back else ""
        what = (f"usage more than {USAGE_GRACE_DAYS} days after it, " if usage else "")
        yield ctx.finding(
            RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount, expected=back,
            at_issue=ln.amount - back, stop_from=plan.stops_from,
            **order_evidence(plan.stop_order),
            explanation=(f"{noun(svc.service_id)} was to stop billing on {plan.stops} "
                         f"({stop_source(plan)}) but was billed {what}{money(ln.amount)} for "
                         f"{describe_period(ln.period_start, ln.period_end)}, on "
                         f"{on_invoice(ln)}{note}."),
        )
    ctx.claimed.update(used)  # a credit takes back one charge only


def stop_source(plan) -> str:
    """Where the stop date comes from, for a sentence: 'disconnected per the inventory',
    'completed disconnect order ORD-7731', 'pending disconnect order ORD-7731 and its
    notice'; the evidence names the row."""
    where = plan.stops_from
    if where.startswith("disconnect date"):
        return "disconnected per the inventory"
    if where.startswith("pending"):
        return where.split(",")[0] + " and its notice"
    return where.split(",")[0]



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
