"""nrc-above-quote: a one-time charge above the order's quoted NRC or the contract's one-time
rate, or any one-time charge when the contract waives them.

What a one-time charge may be comes from the expected bill (reconcile.expected,
`one_time`): nothing when the contract row in force on the bill date waives one-time
charges; else the quoted NRC of the service's install or change order completed in the 90
days before the bill (the one that explains the charge); else the contract's one-time
rate (the circuit's row in force, then a product row for the line's description). Waived
beats a quote, a quote beats the contract's one-time rate. The one-time charges of one
service on one bill are added up first (an installation billed as install plus activation
is one quote). A charge nothing prices is not judged; neither is one that an earlier rule
explained (a repeat, a fee with no order).

Money at issue: the one-time charges of the service on the bill above what the waiver, quote or contract allows.

Example: an installation billed above its quote::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10 | nrc 500.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 750.00 | Installation
    expect | nrc-above-quote | 12.HCGS.123456..LY | 88231 | 250.00

Example: an installation charged although the contract waives it (waived beats the quote)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | one-time 500.00
        | term 2025-03-01..2028-02-29 | nrc-waived
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10 | nrc 500.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | nrc-above-quote | 12.HCGS.123456..LY | 88231 | 500.00

Example: install plus activation, above the contract's one-time rate when no quote says::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | one-time 300.00
        | term 2025-03-01..2028-02-29
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 250.00 | Installation
    line | 12.HCGS.123456..LY | NRC | - | 100.00 | Activation
    expect | nrc-above-quote | 12.HCGS.123456..LY | 88231 | 50.00

Not a finding: billed at the quote, above the contract's one-time rate (a quote beats it)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    contract | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | one-time 300.00
        | term 2025-03-01..2028-02-29
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10 | nrc 500.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.00 | Installation
    expect | nothing

Not a finding: a cent above the quote, within the tolerance::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    order | ORD-5521 | account 8310-4471-22 | service 12.HCGS.123456..LY | action install
        | status completed | completed 2025-03-10 | nrc 500.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 12.HCGS.123456..LY | NRC | - | 500.01 | Installation
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.models import Category, InvoiceLine, Severity
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice

RULE_ID = "nrc-above-quote"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 50  # tiers: rules/__init__.py
NEEDS = (("orders", "contracts"),)  # a quote or a contract to hold the charge to
_WHY = {"waived": "the contract waives one-time charges",
        "quoted": "order {order} quoted {amount}",
        "contract": "the contract's one-time rate is {amount}"}


def check(ctx: AuditContext):
    if not ctx.records.given & {"orders", "contracts"}:
        return
    rows = ctx.sql(f"""
        SELECT line_id FROM lines
        WHERE charge_type = 'one_time' AND amount > 0 AND service IS NOT NULL
          AND invoice_date IS NOT NULL AND {UNCLAIMED}
        ORDER BY line_id""")
    groups: dict[tuple, list[InvoiceLine]] = defaultdict(list)
    for ln in ctx.lines_at([r[0] for r in rows]):
        groups[(ln.carrier, ln.account, ln.invoice_number, ctx.service(ln).index)].append(ln)
    for (_, _, _, index), lines in groups.items():
        first = lines[0]
        limit = ctx.expected.one_time(index, first.account, first.carrier, first.description,
                                      first.invoice_date)
        if limit is None:
            continue
        billed = sum((ln.amount for ln in lines), Decimal(0))
        over = billed - limit.amount
        if over <= ctx.tolerance:
            continue
        svc = ctx.service(first)
        why = _WHY[limit.basis].format(order=limit.order.order_id if limit.order else "",
                                       amount=money(limit.amount))
        what = "'" + "', '".join(ln.description for ln in lines) + "'"
        evidence = {"allowed_from": limit.source}
        if limit.order is not None:
            evidence["order"] = limit.order.evidence()
        if limit.contract is not None:
            evidence["contract"] = limit.contract.evidence()
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=svc, billed=billed, expected=limit.amount,
            at_issue=over, **evidence,
            explanation=(f"{noun(svc.service_id)} was charged {money(billed)} one-time for "
                         f"{what} on {on_invoice(first)}, but {why}: {money(over)} above it."),
        )
