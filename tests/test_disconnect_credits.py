"""The advance charge billed before a disconnect and the credits that follow it: what the two
bills after it take back is not at issue (missing-disconnect-credit); a bill dated after the
stop date is billed-after-disconnect's, so the same money is never counted twice."""

from __future__ import annotations

from decimal import Decimal

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

# bills dated the 25th charge the next month in advance; the stop date falls in between
BILLS = """
Not a finding: the next month billed in advance, then credited::

    service | 12.HCGS.123456..LY | account 1 | rate 450.00 | disconnected 2025-02-27
    invoice | A1 | account 1 | billed 2025-02-25
    line | 12.HCGS.123456..LY | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 1 | billed 2025-03-25
    line | 12.HCGS.123456..LY | credit | 2025-03-01..2025-03-31 | {credit} | MPLS port credit
    invoice | A3 | account 1 | billed 2025-04-25
    line | - | tax | - | 1.00 | Tax
    expect | nothing
"""


def _findings(credit: str, bills: int = 3):
    [example] = parse_examples(BILLS.format(credit=credit))
    given = example.inputs()
    keep = {inv.invoice_number for inv in given.invoices[:bills]}
    invoices = [inv for inv in given.invoices if inv.invoice_number in keep]
    lines = [ln for ln in given.lines if ln.invoice_number in keep]
    return audit_parsed(given.services, invoices, lines, AuditOptions()).findings


def test_month_billed_before_the_disconnect_and_credited_next_bill_is_not_a_finding():
    assert _findings("-450.00") == []


def test_what_a_partial_credit_leaves_is_at_issue_once_two_bills_followed():
    [f] = _findings("-150.00")
    assert (f.rule, f.invoice_number, f.amount_at_issue) == ("missing-disconnect-credit", "A1",
                                                              Decimal("300.00"))
    assert "the two bills after it (A2, A3) credit $150.00 of the $450.00 due" in f.explanation
    assert [c["invoice"] for c in f.evidence["credited"]] == ["A2"]
    assert f.evidence["bills_after"] == ["A2", "A3"]
    assert f.evidence["stop_from"] == "disconnect date, example row 1"


def test_with_one_bill_after_it_the_credit_may_still_come():
    assert _findings("-150.00", bills=2) == []
