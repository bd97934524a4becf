"""nrc-without-order: a one-time charge on a service with no install or change order completed
in the 90 days before the bill date (or only a cancelled one).

One-time charges (installation, activation, change fees) follow an order (domain.md R18): an
install or change order on the same service and account, completed within [bill date - 90
days, bill date] (an order marked completed without a completion date counts from its due
date). A one-time charge with no such order is a fee nobody ordered; with only a cancelled
order, a fee for work that never happened. The evidence names the cancelled order, or says
that the orders file has none for the service. Account-level one-time charges (no service ID)
are not judged. Silent without an orders file: "no order" would then mean "no file". One
finding per line.

Money at issue: the charge.

Example: an activation fee two years after the circuit's install order::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-4410 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2023-05-02
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 250.00 | Activation fee
    expect | nrc-without-order | 12.HCGS.123456..LY | 88231 | 250.00

Example: a change fee for a change order that was cancelled::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-6000 | account 8310-4471-22 | service 12.HCGS.123456..LY | action change
        | status cancelled | ordered 2025-03-02 | due 2025-03-20 | nrc 150.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 150.00 | Bandwidth change charge
    expect | nrc-without-order | 12.HCGS.123456..LY | 88231 | 150.00

Example: an install completed more than 90 days before the bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2024-12-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | nrc-without-order | 12.HCGS.123456..LY | 88231 | 500.00

Not a finding: the installation charge on the first bill after the install order::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10 | nrc 500.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-10..2025-03-31 | 319.35 | MPLS port partial month
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | nothing

Not a finding: a change order completed 90 days before the bill, its fee beside a cancelled one::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5999 | account 8310-4471-22 | service 12.HCGS.123456..LY | action change
        | status cancelled | ordered 2024-12-01
    order | ORD-6000 | account 8310-4471-22 | service 12.HCGS.123456..LY | action change
        | status completed | completed 2025-01-01
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 150.00 | Bandwidth change charge
    expect | nothing
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.expected import ORDER_WINDOW
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice

RULE_ID = "nrc-without-order"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 40  # tiers: rules/__init__.py (after duplicates: a repeat is claimed as one)
NEEDS = ("orders",)  # without an orders file, silent (rules/registry.py)


def check(ctx: AuditContext):
    if "orders" not in ctx.records.given:
        return
    rows = ctx.sql(f"""
        SELECT line_id FROM lines
        WHERE charge_type = 'one_time' AND amount > 0 AND service IS NOT NULL
          AND invoice_date IS NOT NULL AND {UNCLAIMED}
        ORDER BY line_id""")
    for ln in ctx.lines_at([r[0] for r in rows]):
        svc = ctx.service(ln)
        done, cancelled = ctx.expected.orders_done(svc.index, ln.account, ln.invoice_date)
        if done is not None:
            continue
        since = ln.invoice_date - ORDER_WINDOW
        why = f"no install or change order for it was completed from {since} to the bill date"
        if cancelled:
            why += " (" + ", ".join(f"{o.action} order {o.order_id}" for o in cancelled) + \
                   (" was" if len(cancelled) == 1 else " were") + " cancelled)"
        yield ctx.finding(
            RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount, expected=Decimal(0),
            at_issue=ln.amount, cancelled_orders=[o.evidence() for o in cancelled],
            orders_checked=(f"install and change orders of {svc.service_id} on account "
                            f"{ln.account}, completed {since} to {ln.invoice_date}"),
            explanation=(f"{noun(svc.service_id)} was charged {money(ln.amount)} one-time for "
                         f"'{ln.description}' on {on_invoice(ln)}, but {why}."),
        )
