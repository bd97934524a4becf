"""billed-after-disconnect: a recurring charge for a period that starts after the disconnect.

Recurring charges are billed a month in advance, so the bill that covers the disconnect
date legitimately charges the whole month, and a prorated credit follows on the next bill
(domain.md §4.1, R4). A recurring charge for a period that *starts* after the disconnect
(bill-stop) date is money for a service the business no longer has. One finding per line;
the whole line is at issue.

Billed::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | disconnected 2025-03-10
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | credit | 2025-03-11..2025-03-31 | -304.84 | MPLS port prorated credit
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port

Expected::

    billed-after-disconnect | 12.HCGS.123456..LY | 88231 | 450.00
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.models import Severity
from reconcile.periods import describe_period
from reconcile.values import money
from rules.context import AuditContext, noun, on_invoice

RULE_ID = "billed-after-disconnect"
SEVERITY = Severity.HIGH


def check(ctx: AuditContext):
    for ln, svc in list(ctx.recurring_charges()):
        if svc.disconnect_date is None or ln.period_start is None:
            continue
        if ln.period_start > svc.disconnect_date:
            yield ctx.finding(
                RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount, expected=Decimal(0),
                at_issue=ln.amount,
                explanation=(f"{noun(svc.service_id)} was disconnected on {svc.disconnect_date} but "
                             f"was billed {money(ln.amount)} for "
                             f"{describe_period(ln.period_start, ln.period_end)} on {on_invoice(ln)}."),
            )
