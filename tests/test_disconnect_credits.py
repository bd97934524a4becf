"""billed-after-disconnect nets the credits that follow: what a later bill takes back is not at issue."""

from __future__ import annotations

from decimal import Decimal

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

# bills dated the 25th charge the next month in advance; the disconnect falls in between
BILLS = """
Not a finding: the next month billed in advance, then credited::

    service | 12.HCGS.123456..LY | account 1 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 1 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 1 | billed 2025-03-25
    line | 12.HCGS.123456..LY | credit | 2025-03-01..2025-03-31 | {credit} | MPLS port credit
    expect | nothing
"""


def _findings(credit: str):
    [example] = parse_examples(BILLS.format(credit=credit))
    given = example.inputs()
    return audit_parsed(given.services, given.invoices, given.lines, AuditOptions()).findings


def test_month_billed_before_the_disconnect_and_credited_next_bill_is_not_a_finding():
    assert _findings("-450.00") == []


def test_what_a_partial_credit_leaves_is_at_issue():
    [f] = _findings("-150.00")
    assert (f.rule, f.invoice_number, f.amount_at_issue) == ("billed-after-disconnect", "A1", Decimal("300.00"))
    assert "a later credit took $150.00 of it back" in f.explanation
