"""payment-not-applied: a payment in the payments file, made at least 5 days before a bill date,
that the first bill after it does not show as received.

A payment the carrier did not post comes back as a balance carried forward, then as a late fee
(domain.md R16). A payment is due on the account's first bill dated at least 5 days after it
(the carrier's cut-off); each bill's payments received (a magnitude, whatever its printed sign;
worked out from previous balance, adjustments, current charges and amount due when it prints
none) is compared with the sum of the payments due on it. A payment whose bill is not in the
batch (after the last bill, before the first, or in a missing cycle) is not judged. A payment
made less than 5 days before a bill that the bill already shows is counted there.

Money at issue: the payments due on the bill less the payments it shows received: the unposted
amount.

Example: March's payment is not on April's bill::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    payment | 8310-4471-22 | paid 2025-03-20 | amount 450.00 | reference ACH-3311 | invoice 88100
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments 0.00 | current-charges 450.00 | amount-due 900.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | payment-not-applied | - | 88200 | 450.00

Not a finding: a payment after the cut-off, posted on the next cycle::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    payment | 8310-4471-22 | paid 2025-03-29 | amount 450.00 | reference ACH-3311
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments 0.00 | current-charges 450.00 | amount-due 900.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-05-01 | due 2025-05-25
        | previous-balance 900.00 | payments -450.00 | current-charges 450.00 | amount-due 900.00
    line | 12.HCGS.123456..LY | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    expect | nothing

Not a finding: a payment after the last bill here (its bill is not in the batch)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    payment | 8310-4471-22 | paid 2025-04-20 | amount 450.00 | reference ACH-3412
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.rules.bill_sequence import (accounts, bill_evidence, payments_by_account,
                                           payments_text, received)
from reconcile.rules.context import AuditContext

RULE_ID = "payment-not-applied"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 90  # tiers: rules/__init__.py (the invoice as a whole)
NEEDS = ("payments",)
CUT_OFF = timedelta(days=5)  # a payment reaches the first bill dated at least this long after it


def check(ctx: AuditContext):
    paid = payments_by_account(ctx)
    for acct in accounts(ctx):
        due_on = defaultdict(list)  # bill index -> payments due on it
        for p in paid.get(acct.key, ()):
            bill = acct.bill_due(p.date + CUT_OFF) if p.amount > 0 else None
            if bill is not None:
                due_on[bill.index].append(p)
        _early_posted(acct, due_on)
        for bill in acct.bills:
            due, inv = due_on.get(bill.index), bill.invoice
            shown = received(inv)
            if not due or shown is None:
                continue
            total = sum((p.amount for p in due), Decimal(0))
            short = total - shown
            if short <= ctx.tolerance:
                continue
            yield ctx.finding(
                RULE_ID, SEVERITY, [], service=None, invoice=inv, billed=shown, expected=total,
                at_issue=short, claim=False, service_id="",
                explanation=(f"Invoice {inv.invoice_number} (account {inv.account}, billed "
                             f"{inv.invoice_date}) shows {money(shown)} of payments received, "
                             f"but {money(total)} was paid before its cut-off "
                             f"({payments_text(due)}): {money(short)} not posted."),
                bill=bill_evidence(inv), payments=[p.evidence() for p in due])


def _early_posted(acct, due_on) -> None:
    """A payment made within the cut-off before a bill, which that bill already shows received
    beyond what was due on it, counts there, not on the next bill."""
    for before, after, _ in acct.pairs():
        later = due_on.get(after.index, [])
        early = [p for p in later if p.date <= before.date]
        room = (received(before.invoice) or Decimal(0)) - sum(
            (p.amount for p in due_on.get(before.index, ())), Decimal(0))
        for p in early:
            if p.amount <= room:
                room -= p.amount
                later.remove(p)
                due_on[before.index].append(p)
