"""billed-before-install: a recurring charge for a period that ends before the install date.

Billing starts at service commencement (domain.md R5). The first bill after an install
legitimately carries a partial month from the install date plus the next month in
advance; a recurring charge for a period that *ends* before the install date is money for
a service the business did not have yet. A blank install date is not checked. One finding
per line.

Money at issue: the whole charge.

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

Not a finding: the install day billed on its own, a period that ends on the install date::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00 | installed 2025-03-31
    invoice | 88231 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-03-31..2025-03-31 | 14.52 | MPLS port install day
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from decimal import Decimal

from reconcile.core.models import Category, Severity
from reconcile.core.periods import describe_period
from reconcile.core.values import money
from reconcile.rules.context import UNCLAIMED, AuditContext, noun, on_invoice

RULE_ID = "billed-before-install"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 20  # tiers: rules/__init__.py
NEEDS = ("install_date",)  # of the inventory: without it, not checked (rules/registry.py)


def check(ctx: AuditContext):
    rows = ctx.sql(f"""
        SELECT l.line_id FROM lines l JOIN plans p ON l.service = p.service
        WHERE l.charge_type = 'recurring' AND l.amount > 0 AND p.starts IS NOT NULL
          AND l.period_end < p.starts AND l.{UNCLAIMED}
        ORDER BY l.line_id""")
    for ln in ctx.lines_at([r[0] for r in rows]):
        svc = ctx.service(ln)
        plan = ctx.expected.plan(svc.index)
        yield ctx.finding(
            RULE_ID, SEVERITY, [ln], service=svc, billed=ln.amount, expected=Decimal(0),
            at_issue=ln.amount, start_from=plan.starts_from,
            explanation=(f"{noun(svc.service_id)} was installed on {plan.starts} but was "
                         f"billed {money(ln.amount)} for "
                         f"{describe_period(ln.period_start, ln.period_end)}, before it was "
                         f"installed, on {on_invoice(ln)}."),
        )
