"""missing-invoice: an account billed every cycle has a cycle with no bill in the batch, between
its first and last bill here.

Every active account should have one bill per cycle (domain.md R19): a cycle with none is a bill
lost in the mail or the portal, unpaid and soon carrying late fees or a shut-off notice, or a
batch that is not the whole year it claims to be. The account's cycle comes from its bills
(rules/bill_sequence.py): the months its recurring lines cover, or the shortest gap between its
bills; a bill date that moves a day or two, or a corrected bill within a cycle, is no gap.
Cycles before the first bill or after the last one here are not judged (the batch has to start
and end somewhere), nor a cycle in which none of the account's services in the inventory was in
service (all stopped, or none started yet: nothing to bill).

Money at issue: none (0.00): the risk is the unpaid bill and what follows it; the explanation
says which bill to ask the carrier for.

Example: March's bill is not in the batch::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-02-01
    line | 12.HCGS.123456..LY | MRC | 2025-02-01..2025-02-28 | 450.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | missing-invoice | - | - | 0.00

Not a finding: a bill date that moves a few days, every month billed::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-02-01
    line | 12.HCGS.123456..LY | MRC | 2025-02-01..2025-02-28 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-03-03
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-03-31
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a quarterly account, billed every quarter::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-01-01
    line | 12.HCGS.123456..LY | MRC | 2025-01-01..2025-03-31 | 1350.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-06-30 | 1350.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-07-01
    line | 12.HCGS.123456..LY | MRC | 2025-07-01..2025-09-30 | 1350.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from reconcile.core.ids import account_key
from reconcile.core.models import Category, Finding, Severity, finding_id
from reconcile.rules.bill_sequence import accounts, bill_evidence
from reconcile.rules.context import AuditContext

RULE_ID = "missing-invoice"
SEVERITY = Severity.LOW
CATEGORY = Category.RISK
PRECEDENCE = 80  # tiers: rules/__init__.py (what is not on the bill; claims nothing)


def check(ctx: AuditContext):
    services = defaultdict(list)  # the inventory's services of each account
    for s in ctx.result.services:
        if s.account:
            services[account_key(s.account)].append(s.index)
    for acct in accounts(ctx):
        gaps = [(before, after, acct.cycle_date(before, j))
                for before, after, steps in acct.pairs() for j in range(1, steps)]
        plans = [ctx.expected.plan(i) for i in services.get(acct.key, ())] if gaps else []
        for before, after, due in gaps:
            # an account whose every service had stopped, or not started, had nothing to bill
            if not plans or any(p.active_on(due) for p in plans):
                yield _finding(ctx, acct.months, before.invoice, after.invoice, due)


def _finding(ctx, months, before, after, due) -> Finding:
    every = "month" if months == 1 else f"{months} months"
    f = ctx.finding(
        RULE_ID, SEVERITY, [], service=None, invoice=after, billed=Decimal(0),
        expected=Decimal(0), at_issue=Decimal(0), claim=False, service_id="",
        explanation=(f"Account {after.account} is billed every {every}, but the batch has no bill "
                     f"for the cycle due about {due} between invoice {before.invoice_number} "
                     f"({before.invoice_date}) and invoice {after.invoice_number} "
                     f"({after.invoice_date}): ask the carrier for the bill dated about {due}."),
        expected_bill_date=due.isoformat(), cycle_months=months,
        bill_before=bill_evidence(before), bill_after=bill_evidence(after))
    # no bill exists: the finding names the cycle, not the next bill's number
    f.invoice_number, f.invoice_date = "", due
    f.description = f"no bill for the cycle due {due}"
    f.id = finding_id(f)
    return f
