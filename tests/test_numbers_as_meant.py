"""Numbers and text as the carrier meant them: the decimal mark decided per file from its
values (never guessed per cell, an ambiguous value is a row error), a mixed encoding read and
noted, a quote that never closes costing one row and not the rest of the file, and a charge
labelled "Subtotal ..." kept as a charge."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from reconcile.core.values import COMMA, POINT, UNDECIDED, decimal_convention, parse_money
from reconcile.parsers.inventory import read_inventory
from reconcile.parsers.invoice_csv import read_invoice_table

EU_HEADER = "Account Number;Invoice No;Bill Date;Circuit ID;Charge Description;Charge Amount\n"


def eu_row(sid: str, amount: str) -> str:
    return f"8310;F-7;2025-03-01;{sid};Port;{amount}\n"


def read(tmp_path: Path, text: str | bytes, name: str = "bill.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return read_invoice_table(path)


def amounts(parsed) -> dict[str, Decimal]:
    t = parsed.lines.table
    return dict(zip(t.column("service_id").to_pylist(), t.column("amount").to_pylist()))


def test_a_semicolon_european_export_reads_its_decimal_commas(tmp_path):
    parsed = read(tmp_path, EU_HEADER + eu_row("A", "1.234,50") + eu_row("B", "763,00")
                  + eu_row("C", "-12,5") + eu_row("D", "2.000.000,00"))
    assert not parsed.errors
    assert amounts(parsed) == {"A": Decimal("1234.50"), "B": Decimal("763.00"),
                               "C": Decimal("-12.5"), "D": Decimal("2000000.00")}
    assert any("decimal comma" in n for n in parsed.notes)


def test_a_value_written_with_the_other_mark_is_a_row_error_naming_it(tmp_path):
    parsed = read(tmp_path, EU_HEADER + eu_row("A", "1.234,50") + eu_row("B", "763,00")
                  + eu_row("C", "12.50"))
    (err,) = parsed.errors
    assert err.row == 4 and "'12.50'" in err.reason and "decimal comma" in err.reason
    assert set(amounts(parsed)) == {"A", "B"}


def test_a_decimal_comma_in_a_file_of_points_is_never_read_as_hundreds(tmp_path):
    text = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Charge Amount\n"
            "8310,F-7,2025-03-01,A,Port,\"1,234.50\"\n"
            "8310,F-7,2025-03-01,B,Port,12.00\n"
            "8310,F-7,2025-03-01,C,Port,\"763,00\"\n")
    parsed = read(tmp_path, text)
    assert amounts(parsed) == {"A": Decimal("1234.50"), "B": Decimal("12.00")}
    (err,) = parsed.errors
    assert err.row == 4 and "'763,00'" in err.reason


def test_a_semicolon_file_whose_values_do_not_decide_reports_the_ambiguous_ones(tmp_path):
    parsed = read(tmp_path, EU_HEADER + eu_row("A", "1.234") + eu_row("B", "450") + eu_row("C", "2,000"))
    assert amounts(parsed) == {"B": Decimal("450")}
    assert [(e.row, "ambiguous" in e.reason) for e in parsed.errors] == [(2, True), (4, True)]
    assert any("does not show" in n or "do not show" in n for n in parsed.notes)


@pytest.mark.parametrize("values, delimiter, expected", [
    (["1.234,50", "763,00", "12"], ";", COMMA),
    (["1,234.50", "12.00"], ",", POINT),
    (["1.234", "450"], ";", UNDECIDED),
    (["1.234", "450"], ",", POINT),
    (["1.234.567"], ",", COMMA),
    (["763,00", "1,234.50", "12.00"], ";", POINT),  # the marks most values show win
    ([None, 12.5, ""], ";", UNDECIDED),  # workbook numbers show no mark
])
def test_decimal_convention_is_decided_by_the_files_values_then_its_delimiter(values, delimiter, expected):
    assert decimal_convention(values, delimiter) == expected


def test_parse_money_with_each_convention():
    assert parse_money("1.234,50", COMMA) == Decimal("1234.50")
    assert parse_money("(1.234,50)", COMMA) == Decimal("-1234.50")
    assert parse_money("$1,234.50") == Decimal("1234.50")
    for text, decimal in [("763,00", POINT), ("12.50", COMMA), ("1,234", UNDECIDED), ("1,2,3", POINT)]:
        with pytest.raises(ValueError):
            parse_money(text, decimal)


def test_an_inventory_with_decimal_comma_rates(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID;BAN;MRC\nA;8310;1.234,50\nB;8310;450,00\n")
    inv = read_inventory(path)
    assert {s.service_id: s.monthly_rate for s in inv.services} == {"A": Decimal("1234.50"),
                                                                    "B": Decimal("450.00")}


def test_utf8_with_some_windows_1252_lines_is_read_and_noted(tmp_path):
    text = (EU_HEADER.encode() + "8310;F-7;2025-03-01;A;Montréal port;10,00\n".encode()
            + "8310;F-7;2025-03-01;B;Québec port;20,00\n".encode("cp1252")
            + "8310;F-7;2025-03-01;C;Zürich port;30,00\n".encode())
    parsed = read(tmp_path, text)
    assert not parsed.errors
    descriptions = parsed.lines.table.column("description").to_pylist()
    assert descriptions == ["Montréal port", "Québec port", "Zürich port"]
    (note,) = [n for n in parsed.notes if "mixed encoding" in n]
    assert "1 line(s) (the first at row 3)" in note and "Windows-1252" in note


HEADER = "Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Charge Amount\n"


def row(n: int, description: str = "Port") -> str:
    return f"8310,F-7,2025-03-01,CKT-{n},{description},{n}.00\n"


@pytest.mark.parametrize("bad_at", [1, 4, 8])
def test_an_unbalanced_quote_costs_its_row_and_every_other_row_is_read(tmp_path, bad_at):
    text = HEADER + "".join(row(n, '"Port 10G' if n == bad_at else "Port") for n in range(1, 9))
    parsed = read(tmp_path, text)
    (err,) = parsed.errors
    assert err.row == bad_at + 1 and "quote opens on this row and does not close" in err.reason
    assert sorted(amounts(parsed)) == sorted(f"CKT-{n}" for n in range(1, 9) if n != bad_at)


def test_two_stray_quotes_that_pair_up_across_rows_do_not_hide_the_rows_between(tmp_path):
    text = HEADER + "".join(row(n, {3: 'Port "A', 6: 'Port "B'}.get(n, "Port")) for n in range(1, 9))
    parsed = read(tmp_path, text)
    reported = {e.row for e in parsed.errors}
    read_rows = {int(s.split("-")[1]) + 1 for s in amounts(parsed)}
    assert reported | read_rows == set(range(2, 10)) and not reported & read_rows
    assert 4 in read_rows and 5 in read_rows


def test_a_quoted_cell_with_a_line_break_is_still_one_row(tmp_path):
    text = HEADER + row(1) + '8310,F-7,2025-03-01,CKT-2,"Port\nsuite 4",2.00\n' + row(3)
    parsed = read(tmp_path, text)
    assert not parsed.errors and amounts(parsed) == {"CKT-1": Decimal("1.00"), "CKT-2": Decimal("2.00"),
                                                     "CKT-3": Decimal("3.00")}


def test_a_charge_labelled_subtotal_with_a_service_and_amount_is_a_line(tmp_path):
    text = HEADER + row(1) + "8310,F-7,2025-03-01,CKT-2,Subtotal billing fee,4.95\n" + row(3)
    parsed = read(tmp_path, text)
    assert amounts(parsed)["CKT-2"] == Decimal("4.95") and not parsed.errors


def test_an_unbalanced_quote_in_the_inventory_costs_one_service_named_in_an_error(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,BAN,Vendor,MRC\nA,8310,Lumen,10.00\nB,8310,\"Lumen,20.00\n"
                    "C,8310,Lumen,30.00\nD,8310,Lumen,40.00\n")
    inv = read_inventory(path)
    assert [s.service_id for s in inv.services] == ["A", "C", "D"]
    (err,) = inv.errors
    assert err.row == 3 and "quote opens on this row" in err.reason
