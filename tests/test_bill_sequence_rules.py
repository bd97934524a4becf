"""The rules that read an account's bills as a sequence (missing-invoice, balance-forward-mismatch,
payment-not-applied, late-fee, unused-service) at their edges: cut-off days, due dates, the
tolerance, moved bill dates, runs of three. Cases are written in the rule docstrings' example
format (rules/examples.py) and run through the whole engine with their payments and contracts."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.core.values import add_months
from reconcile.reports.answer import answer
from reconcile.rules import not_checked
from reconcile.rules.examples import parse_examples

SVC = "service | 12.HCGS.123456..LY | account 1 | rate 450.00"


def audit(block: str):
    text = "\n".join("    " + r.strip() for r in block.strip().splitlines() if r.strip())
    [ex] = parse_examples("Example: case::\n\n" + text + "\n    expect | nothing")
    given = ex.inputs()
    return audit_parsed(given.services, given.invoices, given.lines,
                        AuditOptions(as_of=given.as_of), records=given.records)


def found(block: str, rule: str | None = None) -> list[tuple[str, str, Decimal]]:
    return sorted((f.rule, f.invoice_number, f.amount_at_issue)
                  for f in audit(block).findings if rule is None or f.rule == rule)


def bill(number: str, billed: date, account: str = "1", summary: str = "") -> str:
    """A bill with one month's MRC for the circuit."""
    end = add_months(billed.replace(day=1), 1) - timedelta(days=1)
    return (f"invoice | {number} | account {account} | billed {billed} {summary}\n"
            f"line | 12.HCGS.123456..LY | MRC | {billed.replace(day=1)}..{end} | 450.00 | Port\n")


def summary(prev, paid, due_amount, due: date | None = None, current="450.00") -> str:
    text = (f"| previous-balance {prev} | payments {paid} | current-charges {current} "
            f"| amount-due {due_amount}")
    return text + (f" | due {due}" if due else "")


# --- missing-invoice ------------------------------------------------------------------------------


def monthly(dates, account="1") -> str:
    return SVC + "\n" + "".join(bill(f"B{n}", d, account) for n, d in enumerate(dates))


def test_two_years_of_bills_with_one_lost_give_one_finding_naming_its_bill_date():
    dates = [add_months(date(2024, 1, 5), n) for n in range(24)]
    lost = dates.pop(9)
    result = audit(monthly(dates))
    [f] = [f for f in result.findings if f.rule == "missing-invoice"]
    assert (f.invoice_number, f.invoice_date, f.amount_at_issue) == ("", lost, Decimal(0))
    assert str(lost) in f.explanation and f.category.value == "risk"
    assert f.evidence["bill_before"]["invoice"] == "B8" and f.evidence["bill_after"]["invoice"] == "B9"
    assert f.account == "1"


def test_bill_dates_that_move_a_day_or_two_and_a_corrected_bill_are_no_gap():
    wobble = [-2, 1, 0, 2, -1, 3, -3, 0, 1, -2, 2, 0]
    dates = [add_months(date(2025, 1, 15), n) + timedelta(days=w) for n, w in enumerate(wobble)]
    dates.append(dates[4] + timedelta(days=9))  # a corrected bill within the cycle
    assert found(monthly(sorted(dates)), "missing-invoice") == []


def test_two_cycles_lost_in_a_row_are_two_findings_and_the_ends_are_not_judged():
    dates = [date(2025, 3, 1), date(2025, 4, 1), date(2025, 7, 1), date(2025, 8, 1)]
    result = audit(monthly(dates))
    got = sorted(f.invoice_date for f in result.findings if f.rule == "missing-invoice")
    assert got == [date(2025, 5, 1), date(2025, 6, 1)]
    assert len({f.id for f in result.findings}) == len(result.findings)


def test_a_cycle_when_none_of_the_accounts_services_was_in_service_is_no_gap():
    dates = [date(2025, 1, 1), date(2025, 2, 1), date(2025, 6, 1), date(2025, 7, 1)]
    block = monthly(dates).replace(SVC, SVC + " | disconnected 2025-02-10\n"
                                   "service | 212-555-0147 | account 1 | installed 2025-05-20")
    assert found(block, "missing-invoice") == []
    moved = block.replace("installed 2025-05-20", "installed 2025-03-20")  # April: one in service
    assert [f.invoice_date for f in audit(moved).findings if f.rule == "missing-invoice"] == [
        date(2025, 4, 1), date(2025, 5, 1)]


def test_an_account_written_two_ways_is_one_account():
    block = SVC + "\n" + bill("B1", date(2025, 3, 1), "0001") + bill("B2", date(2025, 4, 1), "1")
    assert found(block, "missing-invoice") == []


# --- balance-forward-mismatch ---------------------------------------------------------------------


@pytest.mark.parametrize("carried,at_issue", [
    ("450.01", None), ("450.02", "0.02"), ("449.00", None), ("1450.00", "1000.00")])
def test_balance_forward_above_the_last_amount_due_beyond_the_tolerance(carried, at_issue):
    block = (SVC + "\n" + bill("B1", date(2025, 3, 1), summary="| amount-due 450.00")
             + bill("B2", date(2025, 4, 2), "1-", f"| previous-balance {carried}"))
    want = [] if at_issue is None else [("balance-forward-mismatch", "B2", Decimal(at_issue))]
    assert found(block, "balance-forward-mismatch") == want


def test_balance_forward_evidence_names_both_bills_and_their_figures():
    block = (SVC + "\n" + bill("B1", date(2025, 3, 1), summary="| amount-due 450.00")
             + bill("B2", date(2025, 4, 1), summary="| previous-balance 500.00"))
    [f] = audit(block).findings
    assert f.evidence["last_bill"] == {"invoice": "B1", "account": "1", "bill_date": "2025-03-01",
                                       "amount_due": "450.00", "file": "example"}
    assert f.evidence["bill"]["previous_balance"] == "500.00"
    assert "$500.00" in f.explanation and "$450.00" in f.explanation


# --- payment-not-applied --------------------------------------------------------------------------

PAID_BILLS = (SVC + "\n"
              + bill("B1", date(2025, 3, 1), summary=summary("0.00", "0.00", "450.00"))
              + bill("B2", date(2025, 4, 1), summary=summary("450.00", "{shown}", "{due}"))
              + bill("B3", date(2025, 5, 1), summary=summary("{due}", "{later}", "450.00")))


@pytest.mark.parametrize("paid,on", [
    ("2025-03-27", "B2"),  # 5 days before B2: due on it
    ("2025-03-28", "B3"),  # 4 days before: after the cut-off, due on the next bill
])
def test_a_payment_is_due_on_the_first_bill_at_least_5_days_after_it(paid, on):
    pay = f"payment | 1 | paid {paid} | amount 450.00 | reference CHK-1\n"
    neither = PAID_BILLS.format(shown="0.00", due="900.00", later="0.00")
    assert found(pay + neither, "payment-not-applied") == [
        ("payment-not-applied", on, Decimal("450.00"))]
    posted = PAID_BILLS.format(shown="-450.00", due="450.00", later="-450.00")
    assert found(pay + posted, "payment-not-applied") == []


def test_the_payments_shown_are_a_magnitude_whatever_their_sign():
    pay = "payment | 1 | paid 2025-03-20 | amount 450.00\n"
    for shown in ("450.00", "-450.00"):
        block = pay + PAID_BILLS.format(shown=shown, due="450.00", later="0.00")
        assert found(block, "payment-not-applied") == []


def test_of_two_payments_due_on_a_bill_the_unposted_one_is_at_issue():
    pays = ("payment | 1 | paid 2025-03-10 | amount 300.00 | reference A\n"
            "payment | 1 | paid 2025-03-20 | amount 150.00 | reference B\n")
    block = pays + PAID_BILLS.format(shown="-300.00", due="600.00", later="0.00")
    [f] = [f for f in audit(block).findings if f.rule == "payment-not-applied"]
    assert (f.invoice_number, f.amount_at_issue) == ("B2", Decimal("150.00"))
    assert [p["reference"] for p in f.evidence["payments"]] == ["A", "B"]


def test_the_payments_received_are_worked_out_when_the_bill_prints_none():
    pay = "payment | 1 | paid 2025-03-20 | amount 450.00\n"
    ok = (SVC + "\n" + bill("B1", date(2025, 3, 1), summary="| amount-due 450.00")
          + bill("B2", date(2025, 4, 1), summary="| previous-balance 450.00 "
                 "| current-charges 450.00 | amount-due 450.00"))
    assert found(pay + ok, "payment-not-applied") == []
    unposted = ok.replace("amount-due 450.00\nline | 12.HCGS.123456..LY | MRC | 2025-04",
                          "amount-due 900.00\nline | 12.HCGS.123456..LY | MRC | 2025-04")
    assert found(pay + unposted, "payment-not-applied") == [
        ("payment-not-applied", "B2", Decimal("450.00"))]


def test_a_payment_whose_bill_is_missing_or_before_the_batch_is_not_judged():
    pays = ("payment | 1 | paid 2025-01-20 | amount 450.00\n"  # February's bill: not here
            "payment | 1 | paid 2025-04-20 | amount 450.00\n")  # May's bill: missing
    block = pays + SVC + "\n" + "".join(
        bill(n, d, summary=summary("0.00", "0.00", "450.00"))
        for n, d in (("B3", date(2025, 3, 1)), ("B4", date(2025, 4, 1)), ("B6", date(2025, 6, 1))))
    assert found(block) == [("missing-invoice", "", Decimal(0))]


def test_a_payment_within_the_cut_off_that_the_bill_already_shows_is_counted_there():
    pay = "payment | 1 | paid 2025-03-30 | amount 450.00\n"
    block = pay + PAID_BILLS.format(shown="-450.00", due="450.00", later="0.00")
    assert found(block, "payment-not-applied") == []


def test_without_a_payments_file_the_payment_rules_are_said_not_checked():
    gaps = {g.rule: g.reason for g in not_checked([], given=frozenset({"contracts"}))}
    assert gaps["payment-not-applied"] == gaps["late-fee"] == "no payments file given"
    assert "missing-invoice" not in gaps and "balance-forward-mismatch" not in gaps
    block = PAID_BILLS.format(shown="0.00", due="900.00", later="0.00")
    assert found(block) == []  # nothing paid, nothing to post


# --- late-fee -------------------------------------------------------------------------------------


def late(paid: str, fee: str, pct: str = "", amount: str = "450.00", named: bool = True) -> str:
    contract = f"contract | - | account 1 | late-fee {pct}\n" if pct else ""
    pay = (f"payment | 1 | paid {paid} | amount {amount}"
           + (" | invoice B1\n" if named else "\n")) if paid else ""
    return (contract + pay + SVC + "\n"
            + bill("B1", date(2025, 3, 1), summary=summary("0.00", "0.00", "450.00",
                                                           date(2025, 3, 25)))
            + bill("B2", date(2025, 4, 1), summary=summary("450.00", "0.00", "906.75",
                                                           date(2025, 4, 25)))
            + f"line | - | late fee | - | {fee} | Late payment charge\n")


@pytest.mark.parametrize("paid,at_issue", [
    ("2025-03-25", "6.75"),  # on the due date: paid in time, the fee is all at issue
    ("2025-03-26", None),  # a day late: a fee is due (no contract percent to cap it)
])
def test_a_late_fee_is_judged_by_the_due_date_of_the_last_bill(paid, at_issue):
    want = [] if at_issue is None else [("late-fee", "B2", Decimal(at_issue))]
    assert found(late(paid, "6.75"), "late-fee") == want


@pytest.mark.parametrize("fee,at_issue", [("6.75", None), ("6.76", None), ("6.77", "0.02")])
def test_a_late_fee_above_the_contract_percent_beyond_the_tolerance(fee, at_issue):
    want = [] if at_issue is None else [("late-fee", "B2", Decimal(at_issue))]
    assert found(late("2025-03-28", fee, "1.5"), "late-fee") == want


def test_the_past_due_balance_is_what_was_not_paid_by_the_due_date():
    # 300.00 paid on time, 150.00 past due: 1.5 % of it is 2.25
    [f] = [f for f in audit(late("2025-03-20", "6.75", "1.5", amount="300.00")).findings
           if f.rule == "late-fee"]
    assert (f.rule, f.amount_at_issue, f.expected_amount) == ("late-fee", Decimal("4.50"),
                                                            Decimal("2.25"))
    assert f.evidence["contract"]["late_fee_pct"] == "1.5"
    assert f.evidence["past_due"] == "150.00"


def test_an_unnamed_payment_pays_the_oldest_unpaid_bill():
    # paid before B1's due date without naming it: it pays B1, the fee is at issue
    assert found(late("2025-03-20", "6.75", named=False), "late-fee") == [
        ("late-fee", "B2", Decimal("6.75"))]
    # nothing paid at all: the fee is due, within a 1.5 % cap of 450.00
    assert found(late("", "6.75", "1.5"), "late-fee") == []


def test_another_accounts_late_fee_percent_does_not_cap_this_one():
    block = late("2025-03-28", "25.00").replace(
        "payment |", "contract | - | account 2 | late-fee 1.5\npayment |", 1)
    assert found(block, "late-fee") == []


# --- unused-service -------------------------------------------------------------------------------

TN = "212-555-0147"


def phone_bills(usage: list[str | None]) -> str:
    """A number's bills from March 2025, one a month, each with its MRC and the usage given."""
    out = [f"service | {TN} | account 1 | rate 45.00"]
    for n, amount in enumerate(usage):
        d = add_months(date(2025, 3, 1), n)
        out.append(f"invoice | U{n} | account 1 | billed {d}")
        if amount == "no MRC":  # a bill with only a 0.00 usage line of the number
            out.append(f"line | {TN} | usage | - | 0.00 | Calls")
            continue
        out.append(f"line | {TN} | MRC | {d}..{add_months(d, 1) - timedelta(days=1)} | 45.00 | Line")
        if amount is not None:
            out.append(f"line | {TN} | usage | - | {amount} | Calls")
    return "\n".join(out)


@pytest.mark.parametrize("usage,on", [
    (["5.00", None, None], None),  # two quiet bills
    (["5.00", None, None, None], "U3"),  # three
    (["5.00", None, None, "1.00", None, None], None),  # usage again after two
    (["5.00", None, None, None, None, "1.00"], "U4"),  # a run of four, then usage: it happened
    (["5.00", None, None, None, "1.00", None, "0.00", None, None], "U8"),  # once, latest run
    ([None, None, None, "5.00", None, None], None),  # quiet bills before the first usage
    (["0.00", None, None, None], None),  # no usage history at all
    (["5.00", None, "no MRC", None, None], "U4"),  # a bill without the MRC breaks no run
    (["5.00", None, "no MRC", None], None),  # nor counts in one
])
def test_unused_service_needs_three_quiet_bills_after_its_first_usage(usage, on):
    want = [] if on is None else [("unused-service", on, Decimal(0))]
    assert found(phone_bills(usage), "unused-service") == want


def test_unused_service_gives_the_monthly_saving_and_claims_nothing():
    [f] = audit(phone_bills(["5.00", None, None, None])).findings
    assert "$45.00 a month" in f.explanation and f.category.value == "advice"
    assert f.evidence["monthly_saving"] == "45.00"  # summary.json's savings_monthly adds it
    assert len(f.line_ids) == 1  # the MRC line of the run's latest bill
    assert answer(audit(phone_bills(["5.00", None, None, None])))["savings_monthly"] == "45.00"
    assert [b["invoice"] for b in f.evidence["quiet_bills"]] == ["U1", "U2", "U3"]


def test_a_bill_without_its_carrier_takes_the_late_fee_percent_of_its_accounts_carrier():
    block = late("2025-03-28", "25.00").replace(
        "payment |", "contract | - | carrier Lumen | late-fee 1.5\n"
                     "contract | - | carrier Zayo | late-fee 10\npayment |", 1)
    assert found(block.replace(SVC, SVC + " | carrier Lumen"), "late-fee") == [
        ("late-fee", "B2", Decimal("18.25"))]
    assert found(block.replace(SVC, SVC + " | carrier Zayo"), "late-fee") == []


def test_a_late_fee_after_a_bill_that_asked_for_nothing_is_all_at_issue():
    block = late("", "6.75").replace("amount-due 450.00 | due 2025-03-25",
                                     "amount-due 0.00 | due 2025-03-25")
    [f] = [f for f in audit(block).findings if f.rule == "late-fee"]
    assert f.amount_at_issue == Decimal("6.75") and "asked for nothing" in f.explanation
