"""Reading carrier invoice exports: where an invoice's stated total comes from."""

from __future__ import annotations

from decimal import Decimal

from parsers.invoice_csv import read_invoice_table


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
