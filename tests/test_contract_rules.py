"""The contract-rate rules of issue 11 at their edges: which row prices a charge (renewals,
product rows per unit, the inventory), the term's end, the month-to-month cap, the 90 days of
contract-expiring, the tolerance, and a discount's money never counted twice with the rate's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.rules import not_checked
from reconcile.rules.docs import needs_table
from reconcile.rules.examples import parse_examples

CIRCUIT = "12.HCGS.123456..LY"
ACCOUNT = "8310-4471-22"
CONTRACT_RULES = {"rate-above-contract", "out-of-term-rate", "contract-expiring",
                  "discount-not-applied"}


def audit(records: str):
    [ex] = parse_examples("Not a finding: case::\n\n" + "\n".join(
        "    " + r.strip() for r in records.strip().splitlines()) + "\n    expect | nothing\n")
    given = ex.inputs()
    return audit_parsed(given.services, given.invoices, given.lines,
                        AuditOptions(as_of=given.as_of), records=given.records).findings


def found(records: str) -> list[tuple[str, str, Decimal]]:
    """(rule, invoice, money at issue) of the contract rules' findings."""
    return sorted((f.rule, f.invoice_number, f.amount_at_issue) for f in audit(records)
                  if f.rule in CONTRACT_RULES)


def one(records: str, rule: str):
    got = [f for f in audit(records) if f.rule == rule]
    assert len(got) == 1, [f.explanation for f in got]
    return got[0]


# --- which row prices a charge ---------------------------------------------------------------

RENEWAL = f"""
    service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
    contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2023-01-01..2025-03-31
    contract | {CIRCUIT} | account {ACCOUNT} | rate 400.00 | term 2025-04-01..2028-03-31
    invoice | A1 | account {ACCOUNT} | billed 2025-04-01
    line | {CIRCUIT} | MRC | {{period}} | {{amount}} | MPLS port
"""


@pytest.mark.parametrize("period,amount,want", [
    ("2025-03-01..2025-03-31", "450.00", []),  # the old term's last month, at its rate
    ("2025-04-01..2025-04-30", "400.00", []),  # the renewal's first day at its rate
    ("2025-04-01..2025-04-30", "450.00", [("rate-above-contract", "A1", Decimal("50.00"))]),
    # a period straddling the renewal is priced by the row in force on its start
    ("2025-03-15..2025-04-14", "450.00", []),
])
def test_a_renewal_prices_periods_from_its_start_date(period, amount, want):
    assert found(RENEWAL.format(period=period, amount=amount)) == want


def test_the_evidence_names_the_contract_row_used():
    f = one(RENEWAL.format(period="2025-04-01..2025-04-30", amount="450.00"),
            "rate-above-contract")
    assert f.evidence["contract"]["monthly_rate"] == "400.00"
    assert f.evidence["contract"]["term_start"] == "2025-04-01"
    assert "$400.00 a month by the contract" in f.explanation


PRODUCT = f"""
    service | {CIRCUIT} | account {ACCOUNT} | carrier Lumen | rate 450.00
    contract | - | product Hosted PBX seat | {{owner}} | rate 20.00 | term 2025-01-01..2027-12-31
    invoice | A1 | account {{billed_account}} | billed 2025-04-01
    line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    line | - | MRC | 2025-04-01..2025-04-30 | {{amount}} | HOSTED PBX SEAT (USER) | qty 25
"""


@pytest.mark.parametrize("owner,billed_account,amount,want", [
    (f"account {ACCOUNT}", ACCOUNT, "500.00", []),  # 25 seats x 20.00
    (f"account {ACCOUNT}", ACCOUNT, "500.01", []),  # within the tolerance
    (f"account {ACCOUNT}", ACCOUNT, "500.02", [("rate-above-contract", "A1", Decimal("0.02"))]),
    # a product row for another account does not price this one's lines
    ("account 9999-0000-11", ACCOUNT, "550.00", []),
    # no account: every account of its carrier, the carrier known from the inventory's account
    ("carrier LUMEN", ACCOUNT, "550.00", [("rate-above-contract", "A1", Decimal("50.00"))]),
    ("carrier Verizon", ACCOUNT, "550.00", []),
])
def test_a_product_row_prices_its_lines_per_unit_on_its_accounts(owner, billed_account, amount,
                                                                   want):
    assert found(PRODUCT.format(owner=owner, billed_account=billed_account,
                                amount=amount)) == want


def test_a_circuit_row_beats_a_product_row_and_a_product_row_beats_the_inventory():
    base = f"""
        service | {CIRCUIT} | account {ACCOUNT} | rate 500.00
        contract | - | product MPLS port | account {ACCOUNT} | rate 400.00
        {{circuit_row}}
        invoice | A1 | account {ACCOUNT} | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port
    """
    # the product row (400.00), not the inventory's 500.00
    assert found(base.format(circuit_row="")) == [("rate-above-contract", "A1", Decimal("50.00"))]
    # the circuit's own row (450.00) before the product row
    assert found(base.format(circuit_row=f"contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00"
                                         f" | term 2025-01-01..2026-12-31")) == []


def test_the_most_specific_product_text_prices_a_line():
    records = f"""
        service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
        contract | - | product DIA | account {ACCOUNT} | rate 900.00
        contract | - | product DIA 100M | account {ACCOUNT} | rate 700.00
        invoice | A1 | account {ACCOUNT} | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 750.00 | DIA 100M
    """
    assert found(records) == [("rate-above-contract", "A1", Decimal("50.00"))]


# --- the term's end -----------------------------------------------------------------------------

MTM = f"""
    service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
    contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2023-04-01..2025-03-31
        | after-term month-to-month {{mtm}}
    invoice | A1 | account {ACCOUNT} | billed 2025-04-01
    line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | {{amount}} | MPLS port
"""


@pytest.mark.parametrize("mtm,amount,at_issue", [
    ("| mtm 125%", "562.50", None),  # at the cap
    ("| mtm 125%", "562.51", None),  # within the tolerance
    ("| mtm 125%", "562.52", Decimal("0.02")),
    ("| mtm 100%", "450.00", None),
    ("", "900.00", None),  # month-to-month with no cap in the contract: not judged
])
def test_month_to_month_is_judged_against_the_capped_percent_of_the_term_rate(mtm, amount,
                                                                             at_issue):
    got = found(MTM.format(mtm=mtm, amount=amount))
    # billed month-to-month past its term: advice, whatever the cap and the amount (issue 11)
    assert ("contract-expiring", "A1", Decimal(0)) in got
    assert [g for g in got if g[0] != "contract-expiring"] == (
        [] if at_issue is None else [("out-of-term-rate", "A1", at_issue)])


def test_after_the_last_row_ends_only_out_of_term_rate_judges_even_a_prorated_period():
    records = f"""
        service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
        contract | {CIRCUIT} | account {ACCOUNT} | rate 300.00 | term 2023-04-01..2025-03-31
        invoice | A1 | account {ACCOUNT} | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-10..2025-04-30 | 300.00 | MPLS port
    """
    # 21 days of April at the held 300.00 is 210.00: 90.00 above, never the inventory's 450.00
    assert found(records) == [("out-of-term-rate", "A1", Decimal("90.00"))]


def test_a_gap_between_rows_is_out_of_term_under_the_earlier_row():
    records = f"""
        service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
        contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2023-01-01..2025-02-28
        contract | {CIRCUIT} | account {ACCOUNT} | rate 400.00 | term 2025-05-01..2028-04-30
        invoice | A1 | account {ACCOUNT} | billed 2025-04-01
        line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 500.00 | MPLS port
        invoice | A2 | account {ACCOUNT} | billed 2025-05-01
        line | {CIRCUIT} | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    """
    assert found(records) == [("out-of-term-rate", "A1", Decimal("50.00")),
                              ("rate-above-contract", "A2", Decimal("50.00"))]


# --- contract-expiring ------------------------------------------------------------------------

EXPIRING = f"""
    as-of | 2025-12-31
    service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
    contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2023-01-01..{{end}} {{after}}
    invoice | A1 | account {ACCOUNT} | billed 2025-12-01
    line | {CIRCUIT} | MRC | 2025-12-01..2025-12-31 | 450.00 | MPLS port
"""


@pytest.mark.parametrize("end,advised", [
    ("2025-12-30", False),  # ended the day before as-of, its rate holds: nothing to advise
    ("2025-12-31", True),  # ends on the as-of date
    ("2026-03-31", True),  # 90 days after
    ("2026-04-01", False),  # 91 days after
])
def test_contract_expiring_looks_90_days_ahead_of_the_as_of_date(end, advised):
    got = found(EXPIRING.format(end=end, after=""))
    assert got == ([("contract-expiring", "A1", Decimal(0))] if advised else [])


def test_contract_expiring_says_what_a_renewal_saves_and_how():
    f = one(EXPIRING.format(end="2026-02-28", after="| after-term month-to-month | mtm 125%"),
            "contract-expiring")
    assert "ends on 2026-02-28, 59 days after 2025-12-31" in f.explanation
    assert ("would save up to $112.50 a month (the month-to-month cap minus the term rate)"
            in f.explanation)
    assert f.evidence["monthly_saving"] == "$112.50" and f.category.value == "advice"
    held = one(EXPIRING.format(end="2026-02-28", after="| after-term hold"), "contract-expiring")
    assert "saves $0.00 a month" in held.explanation


def test_billed_month_to_month_the_saving_is_the_current_bill_less_the_last_term_rate():
    records = f"""
        as-of | 2025-12-31
        service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
        contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2022-10-01..2025-09-30
            | after-term month-to-month | mtm 150%
        invoice | A1 | account {ACCOUNT} | billed 2025-11-01
        line | {CIRCUIT} | MRC | 2025-11-01..2025-11-30 | 540.00 | MPLS port
        invoice | A2 | account {ACCOUNT} | billed 2025-12-01
        line | {CIRCUIT} | MRC | 2025-12-01..2025-12-31 | 585.00 | MPLS port
    """
    f = one(records, "contract-expiring")  # one per circuit, on its latest bill
    assert f.invoice_number == "A2" and f.evidence["monthly_saving"] == "$135.00"
    assert "(the current month-to-month bill minus the last term rate)" in f.explanation


def test_contract_expiring_for_a_circuit_not_billed_sits_on_its_accounts_latest_bill():
    records = f"""
        as-of | 2025-12-31
        service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
        service | 47.KQGN.900211..LY | account {ACCOUNT} | rate 300.00
        contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | term 2023-01-01..2026-01-31
        invoice | A1 | account {ACCOUNT} | billed 2025-11-01
        line | 47.KQGN.900211..LY | MRC | 2025-11-01..2025-11-30 | 300.00 | DIA
        invoice | A2 | account {ACCOUNT} | billed 2025-12-01
        line | 47.KQGN.900211..LY | MRC | 2025-12-01..2025-12-31 | 300.00 | DIA
    """
    f = one(records, "contract-expiring")
    assert (f.invoice_number, f.service_id) == ("A2", CIRCUIT)


# --- discount-not-applied --------------------------------------------------------------------------

DISCOUNT = f"""
    service | {CIRCUIT} | account {ACCOUNT} | rate 450.00
    contract | {CIRCUIT} | account {ACCOUNT} | rate 450.00 | discount 10% | term 2024-01-01..2025-04-30
    invoice | A1 | account {ACCOUNT} | billed 2025-04-01
    {{lines}}
"""


def discount(*lines: str):
    return found(DISCOUNT.format(lines="\n".join(lines)))


def test_a_discount_short_by_the_tolerance_is_applied_and_a_cent_more_is_not():
    charge = f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port"
    assert discount(charge, f"line | {CIRCUIT} | credit | - | -44.99 | Discount") == []
    assert discount(charge, f"line | {CIRCUIT} | credit | - | -44.98 | Discount") == [
        ("discount-not-applied", "A1", Decimal("0.02"))]


@pytest.mark.parametrize("amount,want", [
    ("405.00", []), ("405.01", []),  # net of the discount (within the tolerance)
    ("405.02", [("discount-not-applied", "A1", Decimal("0.02"))]),
    ("430.00", [("discount-not-applied", "A1", Decimal("25.00"))]),  # 20.00 of 45.00 given net
])
def test_a_discount_billed_net_counts_what_the_charge_is_under_the_rate(amount, want):
    assert discount(f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | {amount} | MPLS port") == want


def test_one_credit_gives_one_discount():
    got = discount(f"line | {CIRCUIT} | MRC | 2025-03-01..2025-03-31 | 450.00 | MPLS port",
                   f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 450.00 | MPLS port",
                   f"line | {CIRCUIT} | credit | - | -45.00 | Term discount")
    assert got == [("discount-not-applied", "A1", Decimal("45.00"))]


def test_a_discount_ends_with_its_term():
    records = DISCOUNT.format(lines="") + f"""
        invoice | A2 | account {ACCOUNT} | billed 2025-05-01
        line | {CIRCUIT} | MRC | 2025-05-01..2025-05-31 | 450.00 | MPLS port
    """
    assert found(records) == []


def test_a_missing_discount_and_a_rate_above_it_add_up_to_what_was_overpaid():
    got = discount(f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 480.00 | MPLS port",
                   f"line | {CIRCUIT} | credit | 2025-04-01..2025-04-30 | -20.00 | Discount")
    assert got == [("discount-not-applied", "A1", Decimal("25.00")),
                   ("rate-above-contract", "A1", Decimal("30.00"))]
    # paid 460.00 net against 405.00 contracted: 55.00, each dollar once
    assert sum(g[2] for g in got) == Decimal("480.00") - Decimal("20.00") - Decimal("405.00")


def test_a_duplicated_month_is_not_also_a_missing_discount():
    got = discount(f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 405.00 | MPLS port",
                   f"line | {CIRCUIT} | MRC | 2025-04-01..2025-04-30 | 405.00 | MPLS port")
    assert got == []  # duplicate-charge takes the copy; the other is discounted net


# --- what the rules need ---------------------------------------------------------------------------

def test_a_contracts_file_lets_the_contract_rules_run_without_inventory_rates():
    from reconcile.core.models import Service

    bare = [Service(index=0, source="inventory.csv", row=2, service_id="X1", account="1")]
    gaps = {g.rule: g.reason for g in not_checked(bare, {"service_id": "Circuit ID"})
            if g.rule in CONTRACT_RULES}
    assert gaps == {
        "rate-above-contract": "the inventory has no rate column; no contracts file given",
        "out-of-term-rate": "the inventory has no contract end column; no contracts file given",
        "contract-expiring": "no contracts file given",
        "discount-not-applied": "no contracts file given"}
    assert not [g for g in not_checked(bare, {"service_id": "Circuit ID"},
                                       frozenset({"contracts"})) if g.rule in CONTRACT_RULES]
    assert "| `out-of-term-rate` | contract end or contracts file |" in needs_table()
