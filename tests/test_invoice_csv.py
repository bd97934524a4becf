"""Reading carrier invoice exports: where an invoice's stated total comes from, what a charge is."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.core.charge_types import charge_type_of
from reconcile.parsers.invoice_csv import read_invoice_table
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
