"""Issue 11's date and order rules at their edges: dates from orders (and which source wins),
the 90-day order window, quotes, waivers and contract one-time rates, the first period billed
in full, the same circuit billed by two accounts. Each case is written in the rule docstrings'
example format (rules/examples.py) and run through the whole engine with its orders and
contracts; its `expect` lines are the findings."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.models import Order, Service
from reconcile.core.records import Records
from reconcile.core.result import AuditOptions
from reconcile.expected import ExpectedBill, plan_for
from reconcile.rules.examples import parse_examples

CKT = "12.HCGS.123456..LY"
SVC = f"service | {CKT} | account 1 | rate 450.00"
MRC = f"line | {CKT} | MRC"
NRC = f"line | {CKT} | NRC | -"
APRIL = "invoice | 88231 | account 1 | billed 2025-04-01"


def run(block: str, records: Records | None = None):
    [ex] = parse_examples("Example: case::\n\n" + "\n".join(
        "    " + r.strip() for r in block.strip().splitlines()))
    given = ex.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines,
                          AuditOptions(as_of=given.as_of),
                          records=given.records if records is None else records)
    got = sorted((f.rule, f.invoice_number, f.amount_at_issue) for f in result.findings)
    want = sorted((x.rule, x.invoice_number, x.at_issue) for x in ex.expected)
    return got, want, result


def check(block: str) -> None:
    got, want, _ = run(block)
    assert got == want


# --- dates from orders, each with its source ---------------------------------------------------

def _order(**kw) -> Order:
    base = dict(source="orders.xlsx", row=4, order_id="O1", service_id=CKT, account="1")
    return Order(**{**base, **kw})


def _service(**kw) -> Service:
    return Service(**{**dict(index=0, source="inventory.xlsx", row=7, service_id=CKT,
                             account="1", monthly_rate=Decimal(450)), **kw})


def test_dates_come_from_the_inventory_then_a_completed_order_then_a_pending_disconnect():
    install = _order(action="install", status="completed", completed_date=date(2025, 3, 24),
                     due_date=date(2025, 3, 3))
    plan = plan_for(_service(), orders=[install])
    assert plan.starts == date(2025, 3, 24)  # turned up, not the due date (seed 000)
    assert plan.starts_from == "completed install order O1, orders.xlsx row 4"
    plan = plan_for(_service(install_date=date(2025, 3, 10)), orders=[install])
    assert (plan.starts, plan.starts_from) == (date(2025, 3, 10), "install date, inventory.xlsx row 7")

    pending = _order(order_id="O2", action="disconnect", status="pending",
                     order_date=date(2025, 5, 1), due_date=date(2025, 5, 10))
    plan = plan_for(_service(), orders=[pending])
    assert plan.stops == date(2025, 5, 31)  # 30 days' notice beats the earlier due date
    assert plan.stops_from.startswith("pending disconnect order O2, orders.xlsx row 4")
    done = _order(order_id="O3", action="disconnect", status="completed",
                  completed_date=date(2025, 6, 15))
    plan = plan_for(_service(), orders=[pending, done])
    assert (plan.stops, plan.stops_from) == (date(2025, 6, 15),
                                             "completed disconnect order O3, orders.xlsx row 4")
    cancelled = _order(order_id="O4", action="disconnect", status="cancelled",
                       completed_date=date(2025, 6, 15))
    assert plan_for(_service(), orders=[cancelled]).stops is None


def test_the_order_window_is_90_days_up_to_the_bill_date_inclusive():
    bill = date(2025, 4, 1)  # 90 days before: 2025-01-01

    def done(**kw):
        records = Records.of(orders=[_order(action="change", status="completed", **kw)])
        return ExpectedBill([_service()], records).orders_done(0, "1", bill)[0]

    assert done(completed_date=date(2025, 1, 1)) is not None
    assert done(completed_date=date(2024, 12, 31)) is None
    assert done(completed_date=bill) is not None
    assert done(completed_date=date(2025, 4, 2)) is None  # completed after the bill
    assert done(due_date=date(2025, 3, 1)) is not None  # no completion date: its due date
    records = Records.of(orders=[_order(action="install", status="completed", account="2",
                                        completed_date=date(2025, 3, 1))])
    assert ExpectedBill([_service()], records).orders_done(0, "1", bill)[0] is None


# --- billed-before-install ----------------------------------------------------------------------

@pytest.mark.parametrize("amount,at_issue", [
    ("174.19", None),    # the days from the install only, prorated: within the rate
    ("174.20", None),    # a cent above: within the tolerance
    ("190.00", "15.81"),  # above what the days from the install are worth: the days before
    ("450.00", "275.81"),
])
def test_a_period_printed_from_before_the_install(amount, at_issue):
    want = "expect | nothing" if at_issue is None else \
        f"expect | billed-before-install | {CKT} | 88231 | {at_issue}"
    check(f"""
        {SVC} | installed 2025-03-20
        {APRIL}
        {MRC} | 2025-03-01..2025-03-31 | {amount} | MPLS port
        {want}
    """)


def test_a_cycle_from_the_15th_billed_in_full_before_a_turn_up_from_the_orders():
    # turned up 2025-03-20; the cycle 03-15..04-14 billed whole: 5 days of March at issue
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action install | status completed
            | due 2025-03-15 | completed 2025-03-20
        invoice | 88231 | account 1 | billed 2025-03-15
        {MRC} | 2025-03-15..2025-04-14 | 450.00 | MPLS port
        expect | billed-before-install | {CKT} | 88231 | 72.58
    """)


def test_an_install_order_that_was_cancelled_gives_no_start_date():
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action install | status cancelled
            | due 2025-03-15 | completed 2025-05-20
        {APRIL}
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | nothing
    """)


# --- nrc-without-order ---------------------------------------------------------------------------

def test_without_an_orders_file_a_one_time_charge_is_not_judged():
    got, _, result = run(f"""
        {SVC}
        {APRIL}
        {NRC} | 500.00 | Installation
        expect | nothing
    """, Records.of())
    assert got == []
    assert result.findings == []


def test_an_order_on_another_account_does_not_explain_the_charge():
    check(f"""
        {SVC}
        order | O1 | account 2 | service {CKT} | action install | status completed
            | completed 2025-03-10
        {APRIL}
        {NRC} | 500.00 | Installation
        expect | nrc-without-order | {CKT} | 88231 | 500.00
    """)


def test_a_disconnect_order_does_not_explain_a_one_time_charge():
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action disconnect | status completed
            | completed 2025-06-10
        {APRIL}
        {NRC} | 75.00 | Activation fee
        expect | nrc-without-order | {CKT} | 88231 | 75.00
    """)


def test_an_unordered_fee_billed_twice_is_one_duplicate_and_one_fee_without_order():
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action install | status completed
            | completed 2023-03-10
        {APRIL}
        {NRC} | 75.00 | Activation fee
        {NRC} | 75.00 | Activation fee
        expect | duplicate-charge | {CKT} | 88231 | 75.00
        expect | nrc-without-order | {CKT} | 88231 | 75.00
    """)


# --- nrc-above-quote -------------------------------------------------------------------------------

def test_a_quote_prices_the_charge_only_from_the_order_that_explains_it():
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action install | status completed
            | completed 2025-03-10 | nrc 500.00
        invoice | 88900 | account 1 | billed 2025-08-01
        {NRC} | 600.00 | Installation
        expect | nrc-without-order | {CKT} | 88900 | 600.00
    """)  # outside the window the charge is unordered: the whole of it, not the excess
    check(f"""
        {SVC}
        order | O1 | account 1 | service {CKT} | action install | status completed
            | completed 2025-03-10 | nrc 500.00
        contract | {CKT} | account 1 | rate 450.00 | one-time 550.00
        {APRIL}
        {NRC} | 600.00 | Installation
        expect | nrc-above-quote | {CKT} | 88231 | 100.00
    """)  # a quote beats the contract's one-time rate


def test_a_product_row_prices_and_waives_one_time_charges_by_description():
    check(f"""
        {SVC}
        contract | - | product MPLS | account 1 | rate 450.00 | one-time 200.00
        {APRIL}
        {NRC} | 250.00 | MPLS port installation
        expect | nrc-above-quote | {CKT} | 88231 | 50.00
    """)
    check(f"""
        {SVC}
        contract | - | product MPLS | account 1 | rate 450.00 | nrc-waived
        order | O1 | account 1 | service {CKT} | action install | status completed
            | completed 2025-03-10 | nrc 500.00
        {APRIL}
        {NRC} | 500.00 | MPLS port installation
        expect | nrc-above-quote | {CKT} | 88231 | 500.00
    """)


def test_a_waiver_in_a_contract_row_not_yet_in_force_does_not_apply():
    check(f"""
        {SVC}
        contract | {CKT} | account 1 | rate 450.00 | term 2025-05-01..2028-04-30 | nrc-waived
        order | O1 | account 1 | service {CKT} | action install | status completed
            | completed 2025-03-10 | nrc 500.00
        {APRIL}
        {NRC} | 500.00 | Installation
        expect | nothing
    """)


# --- duplicate-charge across accounts ----------------------------------------------------------------

PORTED = "service | 212-555-0147 | account NEW | rate 45.00"
LINE = "line | 212-555-0147 | MRC"


def test_across_accounts_the_old_biller_is_the_one_that_started_earlier():
    got, want, result = run(f"""
        {PORTED}
        invoice | N1 | account NEW | billed 2025-05-01
        {LINE} | 2025-05-01..2025-05-31 | 45.00 | Business line
        invoice | O1 | account OLD | billed 2025-04-01
        {LINE} | 2025-04-01..2025-04-30 | 45.00 | Business line
        invoice | O2 | account OLD | billed 2025-05-01
        {LINE} | 2025-05-01..2025-05-31 | 45.00 | Business line
        expect | duplicate-charge | 212-555-0147 | O2 | 45.00
    """)
    assert got == want
    [f] = result.findings
    assert f.account == "OLD" and f.evidence["new_biller_since"] == "2025-05-01"
    assert "(account OLD) and again on invoice N1 (account NEW)" in f.explanation


def test_across_accounts_a_tie_goes_to_the_account_the_inventory_lists():
    check(f"""
        {PORTED}
        invoice | O2 | account OLD | billed 2025-05-01
        {LINE} | 2025-05-01..2025-05-31 | 45.00 | Business line
        invoice | N1 | account NEW | billed 2025-05-01
        {LINE} | 2025-05-01..2025-05-31 | 45.00 | Business line
        expect | duplicate-charge | 212-555-0147 | O2 | 45.00
    """)


def test_across_accounts_overlapping_but_different_dates_are_not_the_same_period():
    check(f"""
        {PORTED}
        invoice | O1 | account OLD | billed 2025-05-01
        {LINE} | 2025-04-10..2025-05-09 | 45.00 | Business line
        invoice | N1 | account NEW | billed 2025-05-01
        {LINE} | 2025-05-01..2025-05-31 | 45.00 | Business line
        expect | nothing
    """)


def test_one_circuit_listed_for_two_accounts_is_still_one_circuit():
    check(f"""
        service | {CKT} | account OLD | rate 450.00
        service | 12/HCGS/123456/LY | account NEW | rate 450.00
        invoice | O1 | account OLD | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 450.00 | MPLS port
        invoice | N1 | account NEW | billed 2025-03-01
        {MRC} | 2025-03-01..2025-03-31 | 300.00 | Ethernet port
        {MRC} | 2025-03-01..2025-03-31 | 100.00 | Access loop
        invoice | N2 | account NEW | billed 2025-02-01
        {MRC} | 2025-02-01..2025-02-28 | 400.00 | Ethernet port
        expect | duplicate-charge | {CKT} | N1 | 400.00
    """)  # NEW billed since February, OLD since March: NEW is the old biller here


def test_identical_usage_rows_without_a_period_are_a_duplicate_and_different_ones_are_not():
    check("""
        service | 212-555-0147 | account 1 | rate 45.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | 212-555-0147 | usage | - | 3.10 | Calls | qty 62 | unit 0.05
        line | 212-555-0147 | usage | - | 3.10 | Calls | qty 62 | unit 0.05
        line | 212-555-0147 | usage | - | 3.10 | Calls | qty 31 | unit 0.10
        expect | duplicate-charge | 212-555-0147 | 88231 | 3.10
    """)


def test_a_finding_on_a_date_from_an_order_names_the_order_and_its_row():
    _, _, result = run(f"""
        {SVC}
        order | D1 | account 1 | service {CKT} | action disconnect | status pending
            | ordered 2025-02-10 | due 2025-02-20
        {APRIL}
        {MRC} | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        expect | billed-after-disconnect | {CKT} | 88231 | 450.00
    """)
    [f] = result.findings
    assert f.evidence["order"]["order_id"] == "D1" and f.evidence["order"]["status"] == "pending"
    assert f.evidence["stop_from"] == ("pending disconnect order D1, order D1: the later of its due "
                                       "date and 30 days' notice")
    assert "was to stop billing on 2025-03-12 (pending disconnect order D1 and its notice)" \
        in f.explanation
    _, _, result = run(f"""
        {SVC}
        order | I1 | account 1 | service {CKT} | action install | status completed
            | due 2025-03-03 | completed 2025-03-24
        {APRIL}
        {MRC} | 2025-03-03..2025-03-31 | 420.97 | MPLS port
        expect | billed-before-install | {CKT} | 88231 | 304.84
    """)
    [f] = result.findings
    assert f.evidence["order"]["completed_date"] == "2025-03-24"
    assert "was installed on 2025-03-24 (per the completed install order I1)" in f.explanation
    assert "$304.84 of it for the 21 day(s) before it was installed" in f.explanation
