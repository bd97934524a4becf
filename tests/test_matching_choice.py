"""Matching beyond the common cases of test_matching.py: which of several inventory rows of one
ID a line is tied to, which candidates an unmatched line keeps, and the reason each match
gives (it is printed in lines.csv and in the findings' evidence)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.models import ChargeType, InvoiceLine, Service
from reconcile.core.result import AuditOptions
from reconcile.matching import Matcher
from reconcile.rules.examples import parse_examples

CIRCUIT = "12.HCGS.123456..LY"


def _svc(i, sid=CIRCUIT, account="111", **kw):
    return Service(index=i, source="inv.csv", row=i + 2, service_id=sid, account=account, **kw)


def _line(i, sid=CIRCUIT, account="111", invoice="A1", start=date(2025, 4, 1)):
    return InvoiceLine(line_id=i, source="bill.csv", row=i + 2, account=account, invoice_number=invoice,
                       invoice_date=date(2025, 4, 1), service_id=sid, charge_type=ChargeType.RECURRING,
                       period_start=start, period_end=date(2025, 4, 30), amount=Decimal("10"))


def match(services, lines, **opts):
    return Matcher(services, AuditOptions(**opts)).match_all(lines)


# --- several inventory rows share the billed ID -------------------------------------------------

def test_a_row_installed_later_is_not_in_service_before_its_install_date():
    # an upgrade row with a future install date listed before the row in service today
    services = [_svc(0, install_date=date(2025, 6, 1)), _svc(1, install_date=date(2020, 1, 1))]
    assert [m.service for m in match(services, [_line(0)])] == [1]


def test_a_row_is_in_service_from_its_install_day():
    # cut-over: the new row is installed the day the period starts and the old one is still in
    # service; of the rows in service the first listed is taken, so the new one only if its
    # install day counts
    services = [_svc(0, install_date=date(2025, 4, 1)),
                _svc(1, install_date=date(2020, 1, 1), disconnect_date=date(2025, 4, 15))]
    assert [m.service for m in match(services, [_line(0)])] == [0]


def test_the_row_in_service_wins_over_a_later_row_already_disconnected():
    services = [_svc(0, install_date=date(2020, 1, 1)),
                _svc(1, install_date=date(2023, 1, 1), disconnect_date=date(2024, 6, 30))]
    assert [m.service for m in match(services, [_line(0)])] == [0]


def test_a_row_without_dates_is_in_service_on_any_day():
    services = [_svc(0, install_date=date(2025, 6, 1)), _svc(1)]
    assert [m.service for m in match(services, [_line(0)])] == [1]


def test_with_no_row_in_service_the_latest_installed_row_is_chosen():
    # billed after the last disconnect: judged against the last installation, wherever it is listed
    services = [_svc(0, install_date=date(2024, 9, 1), disconnect_date=date(2025, 2, 28)),
                _svc(1, install_date=date(2023, 1, 1), disconnect_date=date(2024, 6, 30))]
    assert [m.service for m in match(services, [_line(0)])] == [0]


def test_with_no_row_installed_yet_the_first_row_is_chosen():
    services = [_svc(0, install_date=date(2025, 9, 1)), _svc(1, install_date=date(2025, 6, 1))]
    assert [m.service for m in match(services, [_line(0)])] == [0]


def test_a_line_billed_after_the_last_disconnect_names_the_last_installation():
    [ex] = parse_examples("""
Example: billed after the second disconnect::

    service | 12.HCGS.123456..LY | account 1 | rate 450.00 | installed 2024-09-01 | disconnected 2025-02-28
    service | 12.HCGS.123456..LY | account 1 | rate 450.00 | installed 2023-01-01 | disconnected 2024-06-30
    invoice | A1 | account 1 | billed 2025-04-01
    line | 12.HCGS.123456..LY | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    expect | billed-after-disconnect | 12.HCGS.123456..LY | A1 | 450.00
""")
    given = ex.inputs()
    [f] = audit_parsed(given.services, given.invoices, given.lines, AuditOptions()).findings
    assert "was to stop billing on 2025-02-28" in f.explanation
    assert f.evidence["inventory_row"] == given.services[0].evidence()


def test_a_circuit_re_installed_on_its_disconnect_day_bills_at_the_new_rows_rate():
    [ex] = parse_examples("""
Not a finding: re-installed at a new rate on the day the old row was disconnected::

    service | 12.HCGS.123456..LY | account 1 | rate 450.00 | installed 2024-01-01 | disconnected 2025-04-10
    service | 12.HCGS.123456..LY | account 1 | rate 500.00 | installed 2025-04-10
    invoice | A1 | account 1 | billed 2025-04-10
    line | 12.HCGS.123456..LY | MRC | 2025-04-10..2025-05-09 | 500.00 | MPLS port
    expect | nothing
""")
    given = ex.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines, AuditOptions())
    assert result.matches[0].service == 1
    assert result.findings == []


# --- candidates of an unmatched line ------------------------------------------------------------

def test_an_unmatched_lines_candidates_come_from_its_own_account():
    services = [_svc(0, "33.KQXX.700123..LY"), _svc(1, "33.KQXX.700124..LY", account="222")]
    [m] = match(services, [_line(0, "33.KQXX.700128..LY")], match_threshold=99)
    assert m.method == "none"
    assert m.candidates == ((0, 92.9),)  # rounded to one decimal, the other account's left out


def test_an_account_the_inventory_does_not_know_looks_across_all_accounts():
    services = [_svc(0, "33.KQXX.700123..LY", account="222")]
    [m] = match(services, [_line(0, "33.KQXX.700128..LY", account="999")])
    assert (m.service, m.method) == (0, "fuzzy")
    assert "across all accounts (account not in inventory)" in m.reason
    assert "(similarity 93, next best 0)" in m.reason


def test_a_fuzzy_match_on_the_lines_account_says_so():
    services = [_svc(0, "33.KQXX.700123..LY"), _svc(1, "47.KQGN.900211..LY", account="222")]
    [m] = match(services, [_line(0, "33.KQXX.700128..LY")])
    assert m.reason == "closest inventory ID 33.KQXX.700123..LY on the same account (similarity 93, next best 0)"
    assert m.candidates == ((0, 92.9),)  # shown beside the match in the report


def test_two_inventory_services_about_as_close_are_not_guessed_between():
    services = [_svc(0, "33.KQXX.700123..LY"), _svc(1, "33.KQXX.700124..LY")]
    [m] = match(services, [_line(0, "33.KQXX.700128..LY")])
    assert (m.service, m.method) == (None, "none")
    assert m.reason == "two inventory services are about as close (93 vs 93); not guessing"


def test_an_unmatched_line_keeps_its_three_nearest_candidates():
    services = [_svc(i, f"98.ZZZZ.90021{i}..LY") for i in range(5)]
    [m] = match(services, [_line(0, "47.KQGN.900219..LY")])
    assert m.method == "none" and len(m.candidates) == 3


def test_a_refused_near_miss_keeps_its_nearest_candidates_for_the_evidence():
    services = [_svc(0, "33.KQXX.700123..LY")]
    got = match(services, [_line(0, "33.KQXX.700123..LY"), _line(1, "33.KQXX.700128..LY")])
    assert got[1].method == "none" and "already billed under its own ID" in got[1].reason
    assert got[1].candidates == ((0, 92.9),)


# --- what each match says -------------------------------------------------------------------------

@pytest.mark.parametrize("billed,method,score,reason", [
    ("", "account-level", 0.0, "no service ID on the line: an account-level charge"),
    ("---", "account-level", 0.0, "service ID has no letters or digits"),
    ("212-555-1234", "exact", 100.0, "identical ID"),
    ("(212) 555-1234", "exact", 100.0, "same telephone number after normalising punctuation and country code"),
    ("12/hcgs/123456/ly", "exact", 100.0, "same circuit ID after normalising delimiters, case and zero-fill"),
    ("555-1234", "exact", 95.0, "7-digit number matches the last 7 digits of one line on this account"),
    ("212-555-9999", "none", 69.2, "no inventory service has this telephone number"),
    ("21.KQXX.555123..LY", "none", 59.3, "no inventory circuit is close enough"),
])
def test_every_match_says_why_in_words(billed, method, score, reason):
    services = [_svc(0, "212-555-1234"), _svc(1, CIRCUIT)]
    inventory = services if billed != "21.KQXX.555123..LY" else services[:1]
    [m] = match(inventory, [_line(0, billed)])
    assert (m.method, m.score, m.reason) == (method, score, reason)


def test_the_same_number_on_two_rows_of_the_account_says_it_is_the_same_telephone_number():
    services = [_svc(0, "212-555-1234", install_date=date(2020, 1, 1)), _svc(1, "2125551234")]
    [m] = match(services, [_line(0, "(212) 555-1234")])
    assert (m.service, m.reason) == (0, "same telephone number after normalising punctuation and country code")


def test_with_an_empty_inventory_nothing_matches_and_there_are_no_candidates():
    got = match([], [_line(0, CIRCUIT), _line(1, "212-555-1234")])
    assert [(m.method, m.reason, m.candidates) for m in got] == [
        ("none", "no inventory service has this ID", ()),
        ("none", "no inventory service has this telephone number", ())]
