"""Reading carrier invoice exports: where an invoice's stated total comes from, what a charge is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.core.charge_types import charge_type_of
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.audit import run_audit
from reconcile.core.models import ChargeType


def test_total_row_above_its_invoice_lines_belongs_to_that_invoice(tmp_path):
    # a summary-first export: each invoice's "Invoice Total" row precedes its charges
    path = tmp_path / "granite.txt"
    path.write_text("Account|Invoice Number|Bill Date|Circuit|Description|Amount\n"
                    "111|A1|2025-03-01||Invoice Total|150.00\n"
                    "111|A1|2025-03-01|12.HCGS.123456..LY|Port|100.00\n"
                    "111|A1|2025-03-01||Tax|50.00\n"
                    "111|A2|2025-04-01||Invoice Total|90.00\n"
                    "111|A2|2025-04-01|12.HCGS.123456..LY|Port|100.00\n")
    got = read_invoice_table(path)
    assert not got.errors, [str(e) for e in got.errors]
    totals = {i.invoice_number: (i.stated_total, len(i.line_ids)) for i in got.invoices}
    assert totals == {"A1": (Decimal("150.00"), 2), "A2": (Decimal("90.00"), 1)}


@pytest.mark.parametrize("description", ["DIA 100M", "Wavelength 10G", "EVC 200M", "EPL 1G", "DS3 Access",
                                         "OC-12 private line", "Business broadband 500M"])
def test_data_products_without_a_type_column_are_recurring(description):
    assert charge_type_of("", description) is ChargeType.RECURRING


@pytest.mark.parametrize("description,kind", [
    ("Wavelength 10G - credit for service after disconnect", ChargeType.CREDIT),
    ("DIA installation", ChargeType.ONE_TIME), ("Federal USF on DIA", ChargeType.TAX),
    ("DIA burst usage", ChargeType.USAGE)])
def test_product_words_do_not_override_what_the_charge_says_it_is(description, kind):
    assert charge_type_of("", description) is kind


SUBTOTALED = ("Account,Invoice Number,Bill Date,Circuit ID,Description,Amount\n"
              "111,A1,2025-03-01,12.HCGS.123456..LY,Port,100.00\n"
              "111,A1,2025-03-01,12.HCGS.123457..LY,Port,50.00\n"
              "111,A1,2025-03-01,,Subtotal Recurring Charges,{recurring}\n"
              "111,A1,2025-03-01,,Federal USF,5.00\n"
              "111,A1,2025-03-01,,Subtotal Taxes,{taxes}\n"
              ",,,,TOTAL,{total}\n")


def audit_export(tmp_path, **printed):
    """An export with section subtotals, audited against an inventory that agrees with every
    charge: only the bill's own arithmetic can give a finding."""
    path = tmp_path / "subtotals.csv"
    path.write_text(SUBTOTALED.format(**{"recurring": "150.00", "taxes": "5.00", "total": "155.00",
                                         **printed}))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,Account,MRC\n12.HCGS.123456..LY,111,100.00\n"
                         "12.HCGS.123457..LY,111,50.00\n")
    return path, run_audit([path], inventory)


def test_subtotals_the_lines_make_are_checked_and_say_nothing(tmp_path):
    path, result = audit_export(tmp_path)
    assert result.errors == [] and result.findings == []
    (inv,) = result.invoices
    assert not inv.self_check_failed and inv.stated_total == Decimal("155.00")
    assert [ln.amount for ln in result.lines] == [100, 50, 5]


def test_a_running_subtotal_is_checked_against_all_lines_above_it(tmp_path):
    path, result = audit_export(tmp_path, taxes="155.00")
    assert result.errors == [] and not result.invoices[0].self_check_failed


def test_a_subtotal_the_lines_miss_is_our_error_naming_the_row_not_a_finding(tmp_path):
    path, result = audit_export(tmp_path, recurring="160.00", total="165.00")
    (err,) = result.errors
    assert (err.file, err.row, err.effect) == (str(path), 4, "self-check failed")
    assert "'Subtotal Recurring Charges' (rows 2-4)" in err.reason
    assert "150.00" in err.reason and "160.00" in err.reason and "10.00" in err.reason
    (inv,) = result.invoices
    assert inv.self_check_failed and len(result.lines) == 3
    assert not [f for f in result.findings if f.rule == "invoice-total-mismatch"]


def test_subtotals_that_agree_but_miss_the_printed_total_are_the_carriers_finding(tmp_path):
    path, result = audit_export(tmp_path, total="180.00")
    assert result.errors == []
    (f,) = result.findings
    assert f.rule == "invoice-total-mismatch" and f.amount_at_issue == Decimal("25.00")
    assert any("the carrier's figures disagree" in n for n in result.notes)
