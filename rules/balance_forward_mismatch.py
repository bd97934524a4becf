"""balance-forward-mismatch: a bill's previous balance is above the amount due of the account's
bill for the cycle before.

The balance a bill carries forward must be what the last bill asked for (domain.md R16): a higher
one asks again for money nobody billed, and it is paid without a look because it is not a
charge. Only bills of consecutive cycles both in the batch are compared (with a cycle missing,
the bill in between may explain the difference), and only the bills that print both figures.
A previous balance below the last amount due is the carrier's loss, not a claim.

Money at issue: the previous balance less the last bill's amount due: the amount carried forward
against the customer.

Example: 120.00 more carried forward than the last bill asked for::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 570.00 | payments 0.00 | current-charges 450.00 | amount-due 1020.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | balance-forward-mismatch | - | 88200 | 120.00

Not a finding: the last amount due carried forward, then paid::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-03-01 | due 2025-03-25
        | previous-balance 0.00 | payments 0.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | 88200 | account 8310-4471-22 | billed 2025-04-01 | due 2025-04-25
        | previous-balance 450.00 | payments -450.00 | current-charges 450.00 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | nothing

Not a finding: a cycle missing in between (the bill not here may explain it)::

    service | 12.HCGS.123456..LY | account 8310-4471-22 | rate 450.00
    invoice | 88100 | account 8310-4471-22 | billed 2025-02-01 | amount-due 450.00
    line | 12.HCGS.123456..LY | MRC | 2025-02-01..2025-02-28 | 450.00 | MPLS port
    invoice | 88300 | account 8310-4471-22 | billed 2025-04-01 | previous-balance 900.00
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | missing-invoice | - | - | 0.00
"""

from __future__ import annotations

from reconcile.core.models import Category, Severity
from reconcile.core.values import money
from reconcile.rules.bill_sequence import accounts, bill_evidence
from reconcile.rules.context import AuditContext

RULE_ID = "balance-forward-mismatch"
SEVERITY = Severity.MEDIUM
CATEGORY = Category.OVERCHARGE
PRECEDENCE = 90  # tiers: rules/__init__.py (the invoice as a whole)


def check(ctx: AuditContext):
    for acct in accounts(ctx):
        for before, bill, steps in acct.pairs():
            last, inv = before.invoice, bill.invoice
            if steps != 1 or last.amount_due is None or inv.previous_balance is None:
                continue
            extra = inv.previous_balance - last.amount_due
            if extra <= ctx.tolerance:
                continue
            yield ctx.finding(
                RULE_ID, SEVERITY, [], service=None, invoice=inv, billed=inv.previous_balance,
                expected=last.amount_due, at_issue=extra, claim=False, service_id="",
                explanation=(f"Invoice {inv.invoice_number} (account {inv.account}, billed "
                             f"{inv.invoice_date}) carries forward a previous balance of "
                             f"{money(inv.previous_balance)}, but the last bill, invoice "
                             f"{last.invoice_number} ({last.invoice_date}), asked for "
                             f"{money(last.amount_due)}: {money(extra)} more than was owed."),
                bill=bill_evidence(inv), last_bill=bill_evidence(last))

