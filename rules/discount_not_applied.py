"""discount-not-applied: a contracted discount missing, or short, for a service and period.

"Contracted discounts fail to apply when contracts renew" (domain.md R2). A contract row with
a discount_pct gives that percent off its recurring rate while its term is in force, usually
as a separate credit line. The discount due for a period is the contract rate of the period
billed (the row in force on its start, prorated by days; per unit for a product row) times
the percent. It counts as given by credit lines of the same service (or, for an account-level
product line, naming the product) on the same bill, or on a later bill for an overlapping
period, when it names a discount or is the discount's very amount (a disconnect or outage
credit is not a discount); and by a charge billed under the rate: a charge at or below
rate x (1 - discount) is the discount billed net. Each credit is counted once. Discounts end with their term: a period
after it is judged by out-of-term-rate on the undiscounted rate.

Not twice the same money with rate-above-contract: that rule judges the charge against the
undiscounted rate and takes the excess over it; this one takes the discount missing, counting
as given only what the charge is under the rate. A month billed $495.00 against a $450.00 rate
with 10 % off and no credit is $45.00 above contract and $45.00 of discount missing: $90.00,
exactly what was paid above $405.00. This rule runs before the rate tier and claims only the
credit lines it counted, so the charge stays the rate rule's to judge.

Money at issue: the discount due for the period less the credits and the net reduction given, to the cent.

Example: a 10 % discount with no credit on the bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2024-01-01..2026-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | discount-not-applied | 12.HCGS.123456..LY | 88231 | 45.00

Example: the discount credit short by half::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2024-01-01..2026-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | credit | 2025-04-01..2025-04-30 | -22.50 | Term discount 10%
    expect | discount-not-applied | 12.HCGS.123456..LY | 88231 | 22.50

Example: a renewal's discount dropped, and the rate above it too: each counted once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 500.00 | term 2022-04-01..2025-03-31
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2025-04-01..2028-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    expect | rate-above-contract | 12.HCGS.123456..LY | 88231 | 45.00
    expect | discount-not-applied | 12.HCGS.123456..LY | 88231 | 45.00

Example: a product's per-seat discount credited short::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | - | product Hosted PBX seat | account 8310-4471-22 | rate 20.00 | discount 10%
        | term 2025-01-01..2027-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | MRC | 2025-04-01..2025-04-30 | 500.00 | Hosted PBX seat | qty 25 | unit 20.00
    line | - | credit | - | -25.00 | Hosted PBX seat discount
    expect | discount-not-applied | - | 88231 | 25.00

Not a finding: the discount as a separate credit line::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2024-01-01..2026-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | credit | - | -45.00 | Contract discount
    expect | nothing

Not a finding: the discount billed net in the recurring charge::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2024-01-01..2026-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 405.00 | MPLS port (10% off)
    expect | nothing

Not a finding: a partial first month, its discount prorated by days::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-10
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2025-03-10..2028-03-09
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | credit | 2025-03-10..2025-03-31 | -31.94 | Term discount
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | credit | 2025-04-01..2025-04-30 | -45.00 | Term discount
    expect | nothing

Not a finding: the discount credited on the next bill for the month it belongs to::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | discount 10%
        | term 2024-01-01..2026-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88390 | account 8310-4471-22 | billed 2025-05-01
    line | 12.HCGS.123456..LY | credit | 2025-04-01..2025-04-30 | -45.00 | Term discount April
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 405.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from reconcile.core.ids import account_key
from reconcile.core.models import Category, Invoice, InvoiceLine, Severity
from reconcile.core.periods import describe_period, overlap_days
from reconcile.core.values import CENT, money
from reconcile.rules.context import UNCLAIMED, AuditContext, on_invoice
from reconcile.rules.pricing import Priced, priced

RULE_ID = "discount-not-applied"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 40  # tiers: rules/__init__.py (before the rate tier, claiming no charge)
NEEDS = ("contracts",)


def check(ctx: AuditContext):
    if not any(c.discount_pct for c in ctx.records.contracts):
        return
    services = {i for i in ctx.expected.contracted()
                if any(t.discount_pct for t in ctx.expected.plan(i).terms)}
    credits = _credits(ctx)
    left: dict[int, Decimal] = {}  # what each credit has not yet given
    short = []
    for charge in priced(ctx, services=services):
        pct = charge.term.discount_pct
        if pct is None or not charge.term.in_force(charge.start):
            continue
        off = pct / 100
        rate = charge.contract_rate
        billed = charge.billed
        if billed <= charge.at(charge.term.monthly_rate * (1 - off)).highest_accepted + ctx.tolerance:
            continue  # billed net of the discount
        used = _credited(ctx, charge, credits, left, _due(rate.primary, off))
        ctx.claimed.update(used)  # a discount's credit lines are explained
        credited = sum(used.values(), Decimal(0))
        # short under every accepted proration, not just by calendar days
        if min(_missing(base, off, billed, credited) for base in rate.accepted) > ctx.tolerance:
            short.append((charge, list(used), credited))
    ctx.lines_at([i for charge, used, _ in short for i in (*charge.ids, *used)])  # at once
    for charge, used, credited in short:
        yield _finding(ctx, charge, ctx.lines_at(used), credited)


def _finding(ctx: AuditContext, charge: Priced, credits: list[InvoiceLine], credited: Decimal):
    pct, rate, billed = charge.term.discount_pct, charge.contract_rate, charge.billed
    due = _due(rate.primary, pct / 100)
    net = max(rate.primary - billed, Decimal(0))
    missing = _missing(rate.primary, pct / 100, billed, credited)
    lines = charge.lines(ctx)
    given = f"{money(credited)} credited" + (f" and {money(net)} off the charge" if net else "")
    return ctx.finding(
        RULE_ID, SEVERITY, lines + credits, service=charge.service, billed=billed,
        expected=billed - due + net, at_issue=missing, claim=False,
        explanation=(f"{charge.subject()} has {pct.normalize():f} % off its contract rate of "
                     f"{money(rate.primary)} for {describe_period(charge.start, charge.end)} "
                     f"({charge.term.describe()}), {money(due)}, but {on_invoice(lines[0])} "
                     f"billed {money(billed)} with {given}: {money(missing)} of the discount "
                     f"missing."),
        contract=charge.term.contract.evidence(), discount_due=money(due),
        credited=money(credited),
    )


def _due(base: Decimal, off: Decimal) -> Decimal:
    return (base * off).quantize(CENT)


def _missing(base: Decimal, off: Decimal, billed: Decimal, credited: Decimal) -> Decimal:
    """The discount due on `base` less what was credited and what the charge is under it."""
    return _due(base, off) - credited - max(base - billed, Decimal(0))


def _credits(ctx: AuditContext) -> dict[tuple, list[InvoiceLine]]:
    """Unclaimed credit lines by (account, service) (service None: account-level)."""
    rows = ctx.sql(f"SELECT line_id FROM lines WHERE amount < 0 AND {UNCLAIMED} ORDER BY line_id")
    out: dict[tuple, list[InvoiceLine]] = defaultdict(list)
    for ln in ctx.lines_at([r[0] for r in rows]):
        svc = ctx.service(ln)
        out[(account_key(ln.account), svc.index if svc else None)].append(ln)
    return out


def _credited(ctx: AuditContext, charge: Priced, credits, left: dict[int, Decimal],
              due: Decimal) -> dict[int, Decimal]:
    """What each credit gives of this charge's discount: credits naming a discount first, each
    one's amount used once over all charges."""
    bill = ctx.result.invoices[charge.invoice]
    svc = charge.service.index if charge.service else None
    # an account-level credit is this product's when it names it
    product = _blind(charge.term.contract.product) if svc is None else ""
    # a credit is this discount's when it says so, or is its very amount (a disconnect or
    # outage credit of the same service is another rule's)
    mine = [c for c in credits.get((account_key(bill.account), svc), ())
            if _for_charge(c, charge, bill, product)
            and ("disc" in c.description.lower() or abs(-c.amount - due) <= ctx.tolerance)]
    mine.sort(key=lambda c: ("disc" not in c.description.lower(), c.line_id))
    used: dict[int, Decimal] = {}
    for c in mine:
        if due <= 0:
            break
        have = left.get(c.line_id, -c.amount)
        take = min(have, due)
        if take > 0:
            used[c.line_id] = take
            left[c.line_id] = have - take
            due -= take
    return used


def _for_charge(c: InvoiceLine, charge: Priced, bill: Invoice, product: str) -> bool:
    if product and product not in _blind(c.description):
        return False
    if c.period_start and c.period_end:  # for this period, on this bill or a later one
        return ((c.invoice_date or date.min) >= (bill.invoice_date or date.min)
                and overlap_days(c.period_start, c.period_end, charge.start, charge.end) > 0)
    return c.invoice_number == bill.invoice_number


def _blind(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())

