"""The rules at their edges: credits that do or don't take a charge back, money exactly at the
tolerance, partial overlaps. Each case is written in the rule docstrings' example format
(rules/examples.py) and run through the whole engine; its `expect` lines are the findings."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

SVC = "service | 12.HCGS.123456..LY | account 1 | rate 450.00"
MRC = "line | 12.HCGS.123456..LY | MRC"
CREDIT = "line | 12.HCGS.123456..LY | credit"


def audit(block: str):
    [ex] = parse_examples("Example: case::\n\n" + "\n".join("    " + r.strip() for r in block.strip().splitlines()))
    given = ex.inputs()
    return ex, audit_parsed(given.services, given.invoices, given.lines,
                            AuditOptions(as_of=given.as_of), records=given.records)


def findings(block: str) -> list[tuple[str, str, Decimal]]:
    _, result = audit(block)
    return sorted((f.rule, f.invoice_number, f.amount_at_issue) for f in result.findings)


def expected(block: str) -> list[tuple[str, str, Decimal]]:
    ex, _ = audit(block)
    return sorted((x.rule, x.invoice_number, x.at_issue) for x in ex.expected)


def check(block: str) -> None:
    assert findings(block) == expected(block)


# --- billed-after-disconnect: what the credits take back ------------------------------------------
# The stop date is the first day not billed; the bills here are dated on or after it, so the
# charges are billed-after-disconnect's (one billed before it is missing-disconnect-credit's).

ADVANCE = f"""
    {SVC} | disconnected 2025-03-01
    invoice | A1 | account 1 | billed 2025-03-01
    {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | A2 | account 1 | billed 2025-04-01
    {CREDIT} | 2025-03-01..2025-03-31 | {{credit}} | MPLS port credit
"""


@pytest.mark.parametrize("credit,left", [("-449.99", None), ("-449.98", "0.02"), ("-450.00", None)])
def test_after_a_disconnect_a_credit_within_the_tolerance_takes_the_charge_back(credit, left):
    want = "expect | nothing" if left is None else \
        f"expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | {left}"
    check(ADVANCE.format(credit=credit) + want)


def test_after_a_disconnect_the_credits_of_later_bills_add_up():
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | A1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | A2 | account 1 | billed 2025-04-01
        {CREDIT} | 2025-03-01..2025-03-31 | -150.00 | MPLS port credit
        invoice | A3 | account 1 | billed 2025-05-01
        {CREDIT} | 2025-03-01..2025-03-31 | -100.00 | MPLS port credit
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 200.00
    """)


def test_after_a_disconnect_an_older_credit_is_passed_over_for_the_one_that_follows():
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | A0 | account 1 | billed 2025-02-01
        {CREDIT} | 2025-01-01..2025-01-31 | -20.00 | Outage credit
        {MRC} | 2025-02-01..2025-02-28 | 450.00 | MPLS port
        invoice | A1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | A2 | account 1 | billed 2025-04-01
        {CREDIT} | 2025-03-01..2025-03-31 | -450.00 | MPLS port credit
        expect | nothing
    """)


def test_after_a_disconnect_a_credit_for_another_period_is_passed_over():
    check(f"""
        {SVC} | disconnected 2025-03-10
        invoice | 88100 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | 88231 | account 1 | billed 2025-04-01
        {CREDIT} | 2025-03-10..2025-03-31 | -319.35 | MPLS port prorated credit
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        invoice | 88302 | account 1 | billed 2025-05-01
        {CREDIT} | 2025-04-01..2025-04-30 | -450.00 | MPLS port April credit
        expect | nothing
    """)


def test_after_a_disconnect_a_credit_without_a_period_takes_back_only_a_charge_of_its_amount():
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | A1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | A2 | account 1 | billed 2025-04-01
        {CREDIT} | - | -20.00 | Goodwill credit
        {CREDIT} | - | -450.00 | MPLS port credit
        expect | nothing
    """)
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | A1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | A2 | account 1 | billed 2025-04-01
        {CREDIT} | - | -20.00 | Goodwill credit
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 450.00
    """)


def test_after_a_disconnect_a_credit_on_an_earlier_bill_takes_nothing_back():
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | A0 | account 1 | billed 2025-02-01
        {MRC} | 2025-02-01..2025-02-28 | 450.00 | MPLS port
        {CREDIT} | 2025-03-01..2025-03-31 | -450.00 | MPLS port credit
        invoice | A1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 450.00
    """)


def test_the_stop_date_is_the_first_day_not_billed():
    # a month that starts on the stop date, on a bill of that date, is billed after it
    check(f"""
        {SVC} | disconnected 2025-04-01
        invoice | A1 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 450.00
    """)
    # the day before it is still billed
    check(f"""
        {SVC} | disconnected 2025-04-02
        invoice | A1 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-01 | 15.00 | MPLS port last day
        expect | nothing
    """)


@pytest.mark.parametrize("start,flagged", [("2025-06-08", False), ("2025-06-09", True)])
def test_usage_is_at_issue_only_for_a_period_starting_over_90_days_after_the_stop(start, flagged):
    # stop 2025-03-10: 90 days after it is 2025-06-08
    want = "expect | billed-after-disconnect | 212-555-0147 | U1 | 4.10" if flagged else \
        "expect | nothing"
    check(f"""
        service | 212-555-0147 | account 1 | rate 45.00 | disconnected 2025-03-10
        invoice | U1 | account 1 | billed 2025-07-01
        line | 212-555-0147 | usage | {start}..2025-06-30 | 4.10 | Long distance calls
        {want}
    """)


def test_a_pending_disconnect_stops_at_the_later_of_its_due_date_and_the_notice():
    order = ("order | D1 | account 1 | service 12.HCGS.123456..LY | action disconnect "
             "| status pending | ordered 2025-03-01 | due {due}")
    # notice from the contract: 45 days after 2025-03-01 is 2025-04-15, later than the due date
    check(f"""
        {SVC}
        contract | 12.HCGS.123456..LY | account 1 | rate 450.00 | notice 45
        {order.format(due="2025-03-15")}
        invoice | A1 | account 1 | billed 2025-04-15
        {MRC} | 2025-04-15..2025-05-14 | 450.00 | MPLS port
        invoice | A0 | account 1 | billed 2025-04-14
        {MRC} | 2025-04-14..2025-04-14 | 15.00 | MPLS port one day
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 450.00
    """)
    # a due date later than the notice: billing runs to it
    check(f"""
        {SVC}
        {order.format(due="2025-05-01")}
        invoice | A1 | account 1 | billed 2025-04-15
        {MRC} | 2025-04-15..2025-04-30 | 225.00 | MPLS port
        invoice | A2 | account 1 | billed 2025-05-01
        {MRC} | 2025-05-01..2025-05-31 | 450.00 | MPLS port
        expect | billed-after-disconnect | 12.HCGS.123456..LY | A2 | 450.00
    """)


def test_a_cancelled_disconnect_order_stops_nothing():
    check(f"""
        {SVC}
        order | D1 | account 1 | service 12.HCGS.123456..LY | action disconnect | status cancelled
            | ordered 2025-02-01 | due 2025-03-01 | completed 2025-03-01
        invoice | A1 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | nothing
    """)


# --- missing-disconnect-credit: the two bills after the advance charge ------------------------------

MARCH = f"""
    {SVC} | disconnected 2025-03-10
    invoice | M1 | account 1 | billed 2025-03-01
    {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
    invoice | M2 | account 1 | billed 2025-04-01
    line | - | tax | - | 1.00 | Tax
    invoice | M3 | account 1 | billed 2025-05-01
    line | - | tax | - | 1.00 | Tax
"""


@pytest.mark.parametrize("bill,credit,left", [
    ("M2", "-319.35", None), ("M3", "-319.35", None), ("M2", "-319.34", None),
    ("M2", "-319.33", "0.02"), ("M2", "-100.00", "219.35")])
def test_a_disconnect_credit_within_the_two_bills_and_the_tolerance_settles_it(bill, credit, left):
    head = f"invoice | {bill} | account 1 | billed 2025-0{int(bill[1]) + 2}-01"  # M2: April
    block = MARCH.replace(head, f"{head}\n    {CREDIT} | 2025-03-10..2025-03-31 | {credit} | "
                                f"Disconnect credit")
    assert credit in block
    want = "expect | nothing" if left is None else \
        f"expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | {left}"
    check(block + want)


def test_a_disconnect_credit_on_the_third_bill_comes_too_late():
    check(MARCH + f"""
        invoice | M4 | account 1 | billed 2025-06-01
        {CREDIT} | 2025-03-10..2025-03-31 | -319.35 | Disconnect credit
        expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 319.35
    """)


def test_a_disconnect_credit_for_another_period_does_not_count():
    other = f"{CREDIT} | 2025-02-01..2025-02-28 | -50.00 | Feb outage"
    check(MARCH.replace("line | - | tax | - | 1.00 | Tax", other, 1)
          + "expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 319.35")


def test_a_stop_on_the_last_day_of_the_period_is_owed_one_day():
    check(f"""
        {SVC} | disconnected 2025-03-31
        invoice | M1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | M2 | account 1 | billed 2025-04-01
        line | - | tax | - | 1.00 | Tax
        invoice | M3 | account 1 | billed 2025-05-01
        line | - | tax | - | 1.00 | Tax
        expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 14.52
    """)


def test_a_period_begun_before_the_stop_billed_after_it_still_owes_its_credit():
    # a bill dated after the stop date charges a cycle that began before it: the days from the
    # stop date on are owed back, and no rule but this one judges them
    check(f"""
        {SVC} | disconnected 2025-03-10
        invoice | M1 | account 1 | billed 2025-03-12
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | M2 | account 1 | billed 2025-04-12
        line | - | tax | - | 1.00 | Tax
        invoice | M3 | account 1 | billed 2025-05-12
        line | - | tax | - | 1.00 | Tax
        expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 319.35
    """)


def test_one_credit_is_shared_by_the_two_lines_it_takes_back_and_counted_once():
    # a port and its loop billed in advance; one credit for the whole month of both
    check(f"""
        {SVC} | disconnected 2025-03-01
        invoice | M1 | account 1 | billed 2025-02-25
        {MRC} | 2025-03-01..2025-03-31 | 300.00 | MPLS port
        {MRC} | 2025-03-01..2025-03-31 | 150.00 | Access loop
        invoice | M2 | account 1 | billed 2025-03-25
        {CREDIT} | 2025-03-01..2025-03-31 | -400.00 | Disconnect credit
        invoice | M3 | account 1 | billed 2025-04-25
        line | - | tax | - | 1.00 | Tax
        expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 50.00
    """)


def test_the_advance_charge_and_the_months_billed_after_are_each_counted_once():
    # a lost disconnect: the advance month uncredited, two more months billed after the stop
    check(f"""
        {SVC} | disconnected 2025-03-10
        invoice | M1 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | M2 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        invoice | M3 | account 1 | billed 2025-05-01
        {MRC} | 2025-05-01..2025-05-31 | 450.00 | MPLS port
        {CREDIT} | - | -450.00 | Credit
        expect | missing-disconnect-credit | 12.HCGS.123456..LY | M1 | 319.35
        expect | billed-after-disconnect | 12.HCGS.123456..LY | M3 | 450.00
    """)


# --- duplicate-charge: which credits cancel a duplicate -----------------------------------------

TWICE = f"""
    {SVC}
    invoice | 88231 | account 1 | billed 2025-04-01
    {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    invoice | 88302 | account 1 | billed 2025-05-01
    {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    {MRC} | 2025-05-01..2025-05-31 | 450.00 | MPLS port
"""


def test_a_credit_within_the_tolerance_of_the_duplicate_cancels_it():
    check(TWICE + f"""
        invoice | 88377 | account 1 | billed 2025-06-01
        {CREDIT} | - | -449.99 | MPLS port April billed twice
        expect | nothing
    """)
    check(TWICE + f"""
        invoice | 88377 | account 1 | billed 2025-06-01
        {CREDIT} | - | -449.98 | MPLS port April billed twice
        expect | duplicate-charge | 12.HCGS.123456..LY | 88302 | 450.00
    """)


def test_a_duplicate_is_cancelled_by_the_credit_of_its_amount_after_another_credit():
    check(TWICE + f"""
        invoice | 88377 | account 1 | billed 2025-06-01
        {CREDIT} | - | -50.00 | Goodwill credit
        {CREDIT} | - | -450.00 | MPLS port April billed twice
        expect | nothing
    """)


def test_a_credit_on_a_bill_before_the_duplicate_does_not_cancel_it():
    check(f"""
        {SVC}
        invoice | 88231 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        {CREDIT} | - | -450.00 | Outage credit for March
        invoice | 88302 | account 1 | billed 2025-05-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        {MRC} | 2025-05-01..2025-05-31 | 450.00 | MPLS port
        expect | duplicate-charge | 12.HCGS.123456..LY | 88302 | 450.00
    """)


def test_one_credit_cancels_one_duplicate():
    check(TWICE + f"""
        invoice | 88377 | account 1 | billed 2025-06-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        {MRC} | 2025-06-01..2025-06-30 | 450.00 | MPLS port
        {CREDIT} | - | -450.00 | MPLS port April billed twice
        expect | duplicate-charge | 12.HCGS.123456..LY | 88377 | 450.00
    """)


def test_a_partly_overlapping_repeat_is_at_issue_for_its_overlapping_days_rounded_to_cents():
    # the later bill moves to a 21st-to-20th cycle: 10 of its 30 days were billed already
    check("""
        service | 12.HCGS.123456..LY | account 1 | rate 100.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 100.00 | MPLS port
        invoice | 88302 | account 1 | billed 2025-04-21
        line | 12.HCGS.123456..LY | MRC | 2025-04-21..2025-05-20 | 100.00 | MPLS port
        expect | duplicate-charge | 12.HCGS.123456..LY | 88302 | 33.33
    """)


def test_a_month_billed_twice_and_credited_on_the_same_bill_is_not_a_finding():
    check(f"""
        {SVC}
        invoice | 88231 | account 1 | billed 2025-04-01
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        {CREDIT} | - | -450.00 | MPLS port billed twice
        expect | nothing
    """)


# --- rate-above-contract and invoice-total-mismatch at the tolerance -------------------------------

@pytest.mark.parametrize("billed,over", [("450.01", None), ("450.02", "0.02"), ("330.01", None),
                                         ("330.02", "10.67")])
def test_a_charge_is_above_contract_only_beyond_the_highest_accepted_charge_plus_the_tolerance(billed, over):
    # a whole April is 450.00; Mar 10-31 is 319.35 by calendar days and at most 330.00 (22/30)
    period = "2025-04-01..2025-04-30" if billed.startswith("450") else "2025-03-10..2025-03-31"
    got = findings(f"""
        {SVC}
        invoice | 88231 | account 1 | billed 2025-04-01
        {MRC} | {period} | {billed} | MPLS port
        expect | nothing
    """)
    assert got == ([] if over is None else [("rate-above-contract", "88231", Decimal(over))])


@pytest.mark.parametrize("total,diff", [("495.01", None), ("494.99", None), ("495.02", "0.02"),
                                        ("494.98", "0.02"), ("495.50", "0.50")])
def test_a_stated_total_differs_from_its_lines_only_beyond_the_tolerance(total, diff):
    got = findings(f"""
        {SVC}
        invoice | 88231 | account 1 | billed 2025-04-01 | total {total}
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        line | - | tax | - | 45.00 | Taxes and surcharges
        expect | nothing
    """)
    assert got == ([] if diff is None else [("invoice-total-mismatch", "88231", Decimal(diff))])


def test_every_invoice_with_a_stated_total_is_checked_after_one_without():
    check(f"""
        {SVC}
        invoice | 88100 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | 88231 | account 1 | billed 2025-04-01 | total 460.00
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | invoice-total-mismatch | - | 88231 | 10.00
    """)


def test_an_invoice_with_unreadable_rows_or_a_failed_self_check_is_not_added_up():
    block = f"""
        {SVC}
        invoice | 88231 | account 1 | billed 2025-04-01 | total 460.00
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | invoice-total-mismatch | - | 88231 | 10.00
    """
    for broken in ({"unreadable_rows": 1}, {"self_check_failed": True}):
        ex, _ = audit(block)
        given = ex.inputs()
        given.invoices[0] = given.invoices[0].model_copy(update=broken)
        result = audit_parsed(given.services, given.invoices, given.lines, AuditOptions())
        assert result.findings == [], broken


def test_a_stated_total_on_an_invoice_without_lines_is_all_at_issue():
    check(f"""
        {SVC} | installed 2025-01-10
        invoice | 88100 | account 1 | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | 88231 | account 1 | billed 2025-04-01 | total 450.00
        expect | invoice-total-mismatch | - | 88231 | 450.00
        expect | missing-from-bill | 12.HCGS.123456..LY | 88231 | 0.00
    """)


PORTED = """
    service | 212-555-0147 | account NEW-77 | carrier Bluestem | rate 45.00
    invoice | 5501 | account OLD-12 | carrier Northwind | billed 2025-03-01
    line | 212-555-0147 | MRC | 2025-03-01..2025-03-31 | 45.00 | Business line
    invoice | 7701 | account NEW-77 | carrier Bluestem | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
    invoice | 5502 | account OLD-12 | carrier Northwind | billed 2025-04-01
    line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
"""


@pytest.mark.parametrize("credit, found", [
    # the old biller's own credit of the whole copy: taken back
    ("invoice | 5503 | account OLD-12 | carrier Northwind | billed 2025-05-01\n"
     "line | 212-555-0147 | credit | - | -45.00 | Credit", False),
    # a smaller goodwill credit does not take it back
    ("invoice | 5503 | account OLD-12 | carrier Northwind | billed 2025-05-01\n"
     "line | 212-555-0147 | credit | - | -10.00 | Goodwill", True),
    # the new carrier's credit is not the old biller's refund
    ("invoice | 7702 | account NEW-77 | carrier Bluestem | billed 2025-05-01\n"
     "line | 212-555-0147 | credit | - | -45.00 | Credit", True),
    # a credit on a bill before the copy does not take it back
    ("invoice | 5500 | account OLD-12 | carrier Northwind | billed 2025-02-01\n"
     "line | 212-555-0147 | credit | - | -45.00 | Credit", True),
])
def test_a_duplicate_across_accounts_is_taken_back_only_by_the_old_billers_later_credit(credit, found):
    got = [f for f in findings(PORTED + credit + "\nexpect | nothing") if f[0] == "duplicate-charge"]
    assert got == ([("duplicate-charge", "5502", Decimal("45.00"))] if found else [])


def test_line_records_are_the_same_read_few_or_many():
    """AuditContext.lines_at reads a few lines cell by cell and many with one take over every
    column (dictionary columns decoded first): the same records either way, in the order
    asked, and the same as the batch's own records."""
    from reconcile.rules.context import FEW_LINES, AuditContext

    months = "\n".join(f"invoice | {88000 + m} | account 1 | billed 2025-{m:02d}-01\n"
                       f"{MRC} | 2025-{m:02d}-01..2025-{m:02d}-28 | 450.00 | MPLS port\n"
                       f"line | 12.HCGS.123456..LY | usage | - | {m}.25 | Calls"
                       for m in range(1, 13))
    _, result = audit(f"{SVC}\n{months}\nexpect | nothing")
    ids = [int(i) for i in result.lines.table.column("line_id").to_pylist()]
    assert len(ids) > FEW_LINES
    few = AuditContext(result).lines_at(ids[:FEW_LINES - 1][::-1])
    many = AuditContext(result).lines_at(ids[::-1])
    assert few == many[-(FEW_LINES - 1):] == [result.lines[i] for i in ids[:FEW_LINES - 1]][::-1]
    assert [ln.description for ln in many][:2] == ["Calls", "MPLS port"]
