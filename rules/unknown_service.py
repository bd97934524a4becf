"""unknown-service: a billed service ID that matches nothing in the inventory (the three nearest
inventory services are in the evidence).

Phantom services are among the most common telecom billing errors (domain.md R7). A line
whose service ID matches no inventory service, even after normalising and fuzzy matching,
is money paid for something the business may not have. One finding per invoice per billed
ID. Not unknown: an inventory circuit or number billed in another spelling of its ID, and
account-level charges (taxes, late fees) billed with no service ID.

Money at issue: everything the unknown ID was billed on the invoice.

Example: a circuit the inventory does not have, and its tax::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12/HCGS/123456/LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 47.KQGN.900211..LY | MRC | 2025-04-01..2025-04-30 | 310.00 | DIA 50M
    line | 47.KQGN.900211..LY | tax | - | 12.40 | Federal USF
    expect | unknown-service | 47.KQGN.900211..LY | 88231 | 322.40

Not a finding: the inventory's circuit and phone number, billed in other spellings::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    service | 212-555-0147 | account 8310-4471-22 | rate 45.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12hcgs0123456ly | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | 1 (212) 555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    expect | nothing

Not a finding: taxes and a late fee billed to the account, with no service ID::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | tax | - | 38.25 | State and local taxes
    line | - | late fee | - | 6.75 | Late payment charge
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.ids import service_key
from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun

RULE_ID = "unknown-service"
SEVERITY = Severity.HIGH
CATEGORY = Category.UNVERIFIED
PRECEDENCE = 10  # tiers: rules/__init__.py


def check(ctx: AuditContext):
    rows = ctx.sql(f"""
        SELECT line_id, service_id FROM lines
        WHERE match_method = 'none' AND {UNCLAIMED} ORDER BY line_id""")
    keys = {billed_id: service_key(billed_id) for billed_id in {r[1] for r in rows}}
    by_invoice = defaultdict(list)
    for ln in ctx.lines_at([r[0] for r in rows]):
        by_invoice[(ln.carrier, ln.account, ln.invoice_number, keys[ln.service_id])].append(ln)
    for lines in by_invoice.values():
        m = ctx.result.matches[lines[0].line_id]
        billed = sum((ln.amount for ln in lines), Decimal(0))
        cands = [{"service_id": ctx.result.services[i].service_id, "score": s,
                  "account": ctx.result.services[i].account,
                  "inventory_row": f"{ctx.result.services[i].source} row {ctx.result.services[i].row}"}
                 for i, s in m.candidates]
        nearest = (f"; the nearest inventory service is {cands[0]['service_id']} "
                   f"(similarity {cands[0]['score']:.0f})") if cands else ""
        ln = lines[0]
        yield ctx.finding(
            RULE_ID, SEVERITY, lines, service=None, billed=billed, expected=Decimal(0),
            at_issue=billed,
            explanation=(f"{noun(ln.service_id)} was billed {money(billed)} on invoice "
                         f"{ln.invoice_number} (account {ln.account}) but is not in the inventory"
                         f"{nearest}."),
            candidates=cands, match_reason=m.reason,
        )
