"""What a finding says and carries: the sentence a person reads, the fields of findings.csv and
the evidence a person checks it with, for each rule."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.models import Category
from reconcile.core.result import AuditOptions
from reconcile.rules.examples import parse_examples

CIRCUIT = "12.HCGS.123456..LY"


def audit(records: str, services: bool = True):
    [ex] = parse_examples("Not a finding: case::\n\n" + "\n".join(
        "    " + r.strip() for r in records.strip().splitlines()) + "\n    expect | nothing\n")
    given = ex.inputs()
    return audit_parsed(given.services if services else [], given.invoices, given.lines,
                        AuditOptions()).findings


def only(records: str, rule: str):
    found = [f for f in audit(records) if f.rule == rule]
    assert len(found) == 1, [f.explanation for f in found]
    return found[0]


# --- rate-above-contract ------------------------------------------------------------------------

def test_a_whole_month_above_the_rate_says_the_rate_and_the_excess():
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    """, "rate-above-contract")
    assert f.explanation == (f"Circuit {CIRCUIT} is contracted at $450.00 a month but was billed $495.00 "
                             f"for April 2025 on invoice 88231 (account 1): $45.00 above contract.")
    assert (f.billed_amount, f.expected_amount, f.amount_at_issue) == (
        Decimal("495.00"), Decimal("450.00"), Decimal("45.00"))
    assert (f.evidence["contract_rate"], f.evidence["rate_from"], f.evidence["accepted_prorations"]) == (
        "$450.00", "example row 1", ["$450.00"])


def test_a_partial_month_above_the_rate_says_what_the_days_are_worth():
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00 | installed 2025-03-10
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-03-10..2025-03-31 | 450.00 | MPLS port partial month
    """, "rate-above-contract")
    assert ("is contracted at $450.00 a month ($319.35 for 2025-03-10 to 2025-03-31, prorated by days) "
            "but was billed $450.00 for 2025-03-10 to 2025-03-31") in f.explanation
    assert f.evidence["accepted_prorations"] == ["$319.35", "$319.44", "$330.00"]  # calendar days, 22 x 14.52, 22/30


OUT_OF_TERM = f"""
    service | {CIRCUIT} | account 1 | rate 450.00 | contract-end {{end}}
    invoice | 88231 | account 1 | billed 2025-04-01
    line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
"""


def test_a_charge_above_the_rate_after_the_contract_term_is_out_of_term_rate():
    # issue 11: after the term ends only out-of-term-rate judges; the inventory's rate holds
    assert not [f for f in audit(OUT_OF_TERM.format(end="2025-03-31"))
                if f.rule == "rate-above-contract"]
    f = only(OUT_OF_TERM.format(end="2025-03-31"), "out-of-term-rate")
    assert f.explanation == (
        f"Circuit {CIRCUIT}'s contract term ($450.00 a month, the inventory) "
        f"ended on 2025-03-31, after which its rate holds ($450.00 a month), but it was billed "
        f"$495.00 for April 2025 on invoice 88231 (account 1): $45.00 above what the contract "
        f"allows.")
    assert f.amount_at_issue == Decimal("45.00")
    assert f.evidence["rate_from"] == "example row 1" and f.evidence["after_term"] == "hold"


@pytest.mark.parametrize("end", ["2025-04-01", "2025-12-31"])
def test_a_period_starting_within_the_contract_term_has_no_out_of_term_note(end):
    f = only(OUT_OF_TERM.format(end=end), "rate-above-contract")
    assert "contract term" not in f.explanation


def test_an_out_of_term_charge_is_still_one_sentence():
    f = only(OUT_OF_TERM.format(end="2025-03-31"), "out-of-term-rate")
    assert not re.search(r"[.!?] [A-Z]", f.explanation), f.explanation


# --- duplicate-charge -----------------------------------------------------------------------------

def test_a_duplicate_on_one_bill_and_across_bills_say_where_it_was_billed_first():
    same = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | NRC | - | 500.00 | Installation
        line | {CIRCUIT} | NRC | - | 500.00 | Installation
    """, "duplicate-charge")
    assert same.explanation == (f"Circuit {CIRCUIT} was billed $500.00 for 'Installation' (an unstated "
                                f"period) again on the same invoice 88231 (account 1).")
    across = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        invoice | 88302 | account 1 | billed 2025-05-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    """, "duplicate-charge")
    assert across.explanation == (f"Circuit {CIRCUIT} was billed $450.00 for 'MPLS port' (April 2025) on "
                                  f"invoice 88231 and again on invoice 88302 (account 1).")
    first = across.evidence["first_billed"]
    assert (first["invoice"], first["bill_date"], first["period"], first["amount"]) == (
        "88231", "2025-04-01", "April 2025", "$450.00")
    assert [ln["invoice"] for ln in across.evidence["lines"]] == ["88302"]
    assert (across.expected_amount, across.amount_at_issue) == (Decimal("0.00"), Decimal("450.00"))


def test_an_account_level_charge_billed_twice_names_the_account():
    f = only("""
        service | 212-555-0147 | account 1 | rate 45.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
        line | - | NRC | - | 25.00 | Paper bill fee
        line | - | NRC | - | 25.00 | Paper bill fee
    """, "duplicate-charge")
    assert f.explanation == ("Account 1 was billed $25.00 for 'Paper bill fee' (an unstated period) again "
                             "on the same invoice 88231 (account 1).")
    assert (f.service_id, f.matched_service_id) == ("", "")


# --- invoice-total-mismatch -----------------------------------------------------------------------

@pytest.mark.parametrize("total,words,category", [
    ("495.50", "$0.50 more than the charges", Category.OVERCHARGE),
    ("494.50", "$0.50 less than the charges", Category.IN_YOUR_FAVOUR),
])
def test_a_total_above_its_lines_is_an_overcharge_and_below_them_in_your_favour(total, words, category):
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01 | total {total}
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        line | - | tax | - | 45.00 | Taxes and surcharges
    """, "invoice-total-mismatch")
    assert f.explanation == (f"Invoice 88231 (account 1) states a total of ${total} but its 2 lines add "
                             f"up to $495.00: {words}.")
    assert f.category is category and f.amount_at_issue == Decimal("0.50")
    assert f.evidence == {"stated_total_from": "example: example", "lines_counted": 2}
    assert (f.description, f.period_start, f.line_ids, f.invoice_date) == ("", None, [], date(2025, 4, 1))
    assert f.carrier == ""  # neither the bill nor the inventory names one
    assert (f.billed_amount, f.expected_amount) == (Decimal(total), Decimal("495.00"))


def test_without_an_inventory_only_the_invoice_arithmetic_is_checked():
    got = audit(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01 | total 500.00
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    """, services=False)
    assert [(f.rule, f.amount_at_issue, f.category) for f in got] == [
        ("invoice-total-mismatch", Decimal("400.00"), Category.IN_YOUR_FAVOUR)]


def test_a_bill_of_an_account_the_inventory_does_not_list_takes_the_carrier_of_the_matched_service():
    f = only(f"""
        service | {CIRCUIT} | account 1 | carrier Lumen | rate 450.00
        invoice | 88231 | account 999 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 495.00 | MPLS port
    """, "rate-above-contract")
    assert (f.carrier, f.account, f.matched_service_id) == ("Lumen", "999", CIRCUIT)


# --- unknown-service and missing-from-bill ----------------------------------------------------------

def test_an_unknown_number_names_the_nearest_inventory_service_and_its_similarity():
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        service | 212-555-0199 | account 1 | rate 45.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        line | 212-555-0199 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
        line | 212-555-0147 | MRC | 2025-04-01..2025-04-30 | 45.00 | Business line
        line | 212-555-0147 | tax | - | 4.50 | Taxes
    """, "unknown-service")
    assert f.explanation == ("Phone number 212-555-0147 was billed $49.50 on invoice 88231 (account 1) but "
                             "is not in the inventory; the nearest inventory service is 212-555-0199 "
                             "(similarity 85).")
    assert (f.billed_amount, f.expected_amount, f.amount_at_issue) == (
        Decimal("49.50"), Decimal(0), Decimal("49.50"))
    assert f.category is Category.UNVERIFIED and f.matched_service_id == ""
    assert f.evidence["candidates"][0] == {"service_id": "212-555-0199", "score": 84.6, "account": "1",
                                           "inventory_row": "example row 2"}
    assert f.evidence["match_reason"] == "no inventory service has this telephone number"


def test_an_unknown_circuit_is_called_a_circuit():
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
        line | 47.KQGN.900211..LY | MRC | 2025-04-01..2025-04-30 | 310.00 | DIA 50M
    """, "unknown-service")
    assert f.explanation.startswith("Circuit 47.KQGN.900211..LY was billed $310.00 on invoice 88231")
    assert f"the nearest inventory service is {CIRCUIT} (similarity" in f.explanation


@pytest.mark.parametrize("installed,since", [("| installed 2025-01-10", "is installed on 2025-01-10"),
                                             ("", "is in the inventory")])
def test_a_service_missing_from_its_bill_says_since_when_it_is_in_service(installed, since):
    # the inventory has install dates (without any, the rule checks less: rules/missing_from_bill.py)
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00 | installed 2024-06-01
        service | 212-555-0199 | account 1 | rate 45.00 {installed}
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    """, "missing-from-bill")
    assert f.explanation == (f"Phone number 212-555-0199 {since} and not disconnected, but is not on invoice "
                             f"88231 (account 1, billed 2025-04-01): nothing is overcharged now, but the "
                             f"carrier may back-bill it later, or the inventory is wrong.")
    assert (f.billed_amount, f.expected_amount, f.amount_at_issue) == (Decimal(0), Decimal("45.00"), Decimal(0))
    assert (f.service_id, f.matched_service_id, f.evidence["invoice_file"]) == (
        "212-555-0199", "212-555-0199", "example")
    assert f.category is Category.RISK


# --- the dates rules and the evidence of a line ------------------------------------------------------

def test_a_charge_after_the_disconnect_says_when_and_where_the_date_comes_from():
    f = only(f"""
        service | {CIRCUIT} | account 1 | carrier Lumen | rate 450.00 | disconnected 2025-03-10
        invoice | 88231 | account 1 | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    """, "billed-after-disconnect")
    assert f.explanation == (f"Circuit {CIRCUIT} was to stop billing on 2025-03-10 (disconnected per "
                             f"the inventory) but was billed $450.00 for April 2025, on invoice "
                             f"88231 (account 1).")
    assert f.evidence["stop_from"] == "disconnect date, example row 1"
    assert (f.carrier, f.account, f.invoice_number, f.invoice_date) == ("Lumen", "1", "88231", date(2025, 4, 1))
    assert (f.description, f.period_start, f.period_end) == ("MPLS port", date(2025, 4, 1), date(2025, 4, 30))
    assert (f.expected_amount, f.line_ids) == (Decimal(0), [0])
    assert f.evidence["lines"] == [{
        "where": "example row 3", "invoice": "88231", "bill_date": "2025-04-01", "service_id": CIRCUIT,
        "description": "MPLS port", "charge_type": "recurring", "period": "April 2025",
        "amount": "$450.00", "match": "exact (100): identical ID"}]


def test_a_charge_before_the_install_says_when_and_where_the_date_comes_from():
    f = only(f"""
        service | {CIRCUIT} | account 1 | rate 450.00 | installed 2025-03-10
        invoice | 88100 | account 1 | billed 2025-02-01
        line | {CIRCUIT} | MRC | - | 450.00 | MPLS port
    """, "billed-before-install")
    assert f.explanation == (f"Circuit {CIRCUIT} was installed on 2025-03-10 (per the inventory) but "
                             f"was billed $450.00 for "
                             f"February 2025, before it was installed, on invoice 88100 (account 1).")
    assert f.evidence["start_from"] == "install date, example row 1"
    assert f.evidence["lines"][0]["period"] == "February 2025 (inferred from the bill date)"
    assert (f.period_start, f.period_end) == (date(2025, 2, 1), date(2025, 2, 28))
