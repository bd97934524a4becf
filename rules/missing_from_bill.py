"""missing-from-bill: an installed, active service of the account that is not on its invoice
(back-billing risk or wrong inventory).

Reconciliation runs both ways (domain.md R8, Calero's "bi-directional" audit). A service
of the invoice's account, installed on or before the bill date (or with no install date)
and not disconnected by then, that no line of the invoice matches is no overcharge today
but a risk: the carrier may back-bill it, or the inventory is wrong (the service was moved,
renamed or cancelled without updating it).

Money at issue: none today (0.00), as the risk is a later back-bill or a wrong inventory.

Example: one of the account's numbers is not on its bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | installed 2025-04-10
    service | 212-555-0188 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-20
    service | 212-555-0199 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | missing-from-bill | 212-555-0199 | 88231 | 0.00

Not a finding: a number installed after the bill date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00 | installed 2025-04-10
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a number disconnected before the bill date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0188 | account 8310-4471-22 | rate 45.00 | disconnected 2025-03-20
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a circuit listed twice in the inventory, billed once::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 12/HCGS/123456/LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.ids import account_key, service_key
from reconcile.core.models import Severity
from reconcile.rules.context import AuditContext, noun

RULE_ID = "missing-from-bill"
SEVERITY = Severity.LOW
PRECEDENCE = 80  # tiers: rules/__init__.py


def check(ctx: AuditContext):
    res = ctx.result
    by_account = defaultdict(list)
    for s in res.services:
        by_account[account_key(s.account)].append(s)
    # by service key, not inventory row: a circuit listed twice in the inventory is billed once
    billed_keys = defaultdict(set)
    for invoice, service in ctx.sql("SELECT DISTINCT invoice, service FROM lines "
                                    "WHERE service IS NOT NULL"):
        billed_keys[invoice].add(service_key(res.services[service].service_id))
    for n, inv in enumerate(res.invoices):
        if inv.invoice_date is None:
            continue
        on_bill = billed_keys[n]
        for svc in by_account.get(account_key(inv.account), ()):
            if service_key(svc.service_id) in on_bill:
                continue
            plan = ctx.expected.plan(svc.index)
            if not plan.active_on(inv.invoice_date):
                continue
            since = f"installed on {plan.starts}" if plan.starts else "in the inventory"
            yield ctx.finding(
                RULE_ID, SEVERITY, [], service=svc, invoice=inv, billed=Decimal(0),
                expected=plan.terms[-1].monthly_rate if plan.terms else Decimal(0),
                at_issue=Decimal(0), claim=False,
                service_id=svc.service_id,
                explanation=(f"{noun(svc.service_id)} is {since} and not disconnected, but is not "
                             f"on invoice {inv.invoice_number} (account {inv.account}, billed "
                             f"{inv.invoice_date}): nothing is overcharged now, but the carrier may "
                             f"back-bill it later, or the inventory is wrong."),
                invoice_file=inv.source,
            )
