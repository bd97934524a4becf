"""Readers hand over their lines as one Arrow table (reconcile.parsers.line_columns), with
per-distinct-value work in the row loop; none of it may change what a file gives."""

from __future__ import annotations

import pickle
from datetime import date
from decimal import Decimal

import openpyxl
import pyarrow as pa

from reconcile.audit import run_audit
from reconcile.core.lines import LINE_SCHEMA, Lines
from reconcile.core.models import ChargeType, Invoice, InvoiceLine
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.parsers.line_columns import FileLines
from reconcile.parsers.readers import ParsedInvoices, line_key

HEADER = "Account,Invoice Number,Bill Date,Circuit ID,Description,Type,Quantity,Rate,Amount\n"


def row(amount: str, sid: str = "12.HCGS.123456..LY", qty: str = "1", rate: str = "") -> str:
    return f"111-222,A1,2025-04-01,{sid},MPLS port,MRC,{qty},{rate},{amount}\n"


def test_an_amount_the_line_table_cannot_hold_is_one_row_error_and_the_rest_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(HEADER + row("450.00") + row("1e26", "12.HCGS.222222..LY")
                    + row("0.1234567", "12.HCGS.333333..LY") + row("99.95", "12.HCGS.444444..LY"))
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,BAN,MRC\n12.HCGS.123456..LY,111-222,450.00\n")
    got = read_invoice_table(path)
    assert [(e.file, e.row, e.effect) for e in got.errors] == [(str(path), 3, "row skipped"),
                                                               (str(path), 4, "row skipped")]
    assert "1e26" in got.errors[0].reason and "largest amount" in got.errors[0].reason
    assert "0.1234567" in got.errors[1].reason and "decimal places" in got.errors[1].reason
    assert [(ln.row, ln.amount) for ln in got.lines] == [(2, Decimal("450.00")),
                                                        (5, Decimal("99.95"))]
    assert got.invoices[0].unreadable_rows == 2 and got.invoices[0].line_ids == [0, 1]
    result = run_audit([path], inventory, workers=1)  # and the audit goes on
    assert len(result.lines) == 2 and len(result.errors) == 2


def test_a_quantity_or_rate_the_table_cannot_hold_is_ignored_not_the_line(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + row("450.00", qty="1", rate="0.0012345") + row("12.00", qty="1e20"))
    got = read_invoice_table(path)
    assert [(e.row, e.effect) for e in got.errors] == [(2, "value ignored"), (3, "value ignored")]
    assert "0.0012345" in got.errors[0].reason and "1e20" in got.errors[1].reason
    assert [(ln.quantity, ln.unit_price, ln.amount) for ln in got.lines] == [
        (Decimal(1), None, Decimal("450.00")), (None, None, Decimal("12.00"))]


def test_a_workbook_amount_the_table_cannot_hold_is_a_row_error(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["111-222", "A1", date(2025, 4, 1), "12.HCGS.123456..LY", "Port", "MRC", 1, None, 1e26])
    ws.append(["111-222", "A1", date(2025, 4, 1), "12.HCGS.654321..LY", "Port", "MRC", 1, None, 450.5])
    wb.save(tmp_path / "bill.xlsx")
    got = read_invoice_table(tmp_path / "bill.xlsx")
    assert [(e.row, e.effect) for e in got.errors] == [(2, "row skipped")]
    assert [(ln.row, ln.amount) for ln in got.lines] == [(3, Decimal("450.50"))]


def test_a_value_worked_out_once_still_gives_each_of_its_rows_its_own_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Account,Invoice Number,Bill Date,Circuit ID,Service Period,Amount\n"
                    "111,A1,2025-04-01,C1,04/01/25-03/01/25,abc\n"
                    "111,A1,2025-04-01,C2,04/01/25-03/01/25,10.00\n"
                    "111,A1,2025-04-01,C3,04/01/25-03/01/25,abc\n"
                    "111,A1,someday,C4,,10.00\n"
                    "111,A1,someday,C5,,10.00\n")
    got = read_invoice_table(path)
    assert [(e.row, e.effect, e.reason.split(":")[0]) for e in got.errors] == [
        (2, "row skipped", "not an amount"), (3, "value ignored", "service period"),
        (4, "row skipped", "not an amount"), (5, "row skipped", "not a date"),
        (6, "row skipped", "not a date")]
    assert [ln.service_id for ln in got.lines] == ["C2"]


def test_a_reader_gives_one_table_with_the_line_schema_and_file_positions(tmp_path):
    path = tmp_path / "two.csv"
    path.write_text(HEADER + "999,B1,2025-04-01,C9,Port,MRC,1,,10.00\n" + row("450.00")
                    + "999,B1,2025-04-01,C8,Port,MRC,1,,20.00\n")
    got = read_invoice_table(path)
    assert isinstance(got.lines, Lines) and got.lines.table.schema == LINE_SCHEMA
    assert {i.invoice_number: i.line_ids for i in got.invoices} == {"B1": [0, 2], "A1": [1]}
    assert [ln.line_id for ln in got.lines] == [0, 1, 2]
    assert got.lines.column("key") == [line_key(got.file_hash, r) for r in (2, 3, 4)]
    # what a pool worker sends back: the table, not an object per line
    assert pickle.loads(pickle.dumps(got)).lines == got.lines


def test_file_lines_keys_and_columns_are_those_of_the_line_records():
    inv = Invoice(carrier="Acme", account="1", invoice_number="I1", source="f.pdf")
    lines = FileLines("f.pdf", "abc")
    lines.add(inv, 7, "C1", "Port", ChargeType.RECURRING, Decimal("1.50"), page=2, section="Monthly")
    inv.invoice_date = date(2025, 3, 1)  # found later: lines already read keep what they had
    lines.add(inv, 8, "", "Tax", ChargeType.TAX, Decimal("-0.25"), date(2025, 3, 1),
              date(2025, 3, 31), Decimal(2), Decimal("0.125"), page=2)
    lines.add(inv, 3, "C1", "Port", ChargeType.RECURRING, Decimal("1.5"), part=4)
    table = lines.table()
    assert table.schema == LINE_SCHEMA and inv.line_ids == [0, 1, 2]
    assert table.column("key").to_pylist() == ["abc:p2:l7", "abc:p2:l8", "abc:r3:c4"]
    records = [
        InvoiceLine(line_id=0, key="abc:p2:l7", source="f.pdf", row=7, page=2, carrier="Acme",
                    account="1", invoice_number="I1", service_id="C1", description="Port",
                    charge_type=ChargeType.RECURRING, amount=Decimal("1.50"), section="Monthly"),
        InvoiceLine(line_id=1, key="abc:p2:l8", source="f.pdf", row=8, page=2, carrier="Acme",
                    account="1", invoice_number="I1", invoice_date=date(2025, 3, 1),
                    description="Tax", charge_type=ChargeType.TAX, amount=Decimal("-0.25"),
                    period_start=date(2025, 3, 1), period_end=date(2025, 3, 31),
                    quantity=Decimal(2), unit_price=Decimal("0.125")),
        InvoiceLine(line_id=2, key="abc:r3:c4", source="f.pdf", row=3, carrier="Acme", account="1",
                    invoice_number="I1", invoice_date=date(2025, 3, 1), service_id="C1",
                    description="Port", charge_type=ChargeType.RECURRING, amount=Decimal("1.5")),
    ]
    assert table.equals(Lines.of(records).table)
    assert FileLines("empty.csv", "abc").table().equals(Lines().table)


def test_a_reader_may_still_hand_over_line_records():
    inv = Invoice(account="1", invoice_number="I1", source="x", line_ids=[0])
    parsed = ParsedInvoices(invoices=[inv], lines=[InvoiceLine(
        line_id=0, source="x", row=1, account="1", invoice_number="I1", amount=Decimal(5))])
    assert isinstance(parsed.lines, Lines) and isinstance(parsed.lines.table, pa.Table)
    assert [ln.amount for ln in parsed.lines] == [Decimal(5)]


def test_a_pdf_line_the_table_cannot_hold_is_an_error_naming_its_page_and_line():
    from reconcile.parsers.pdf import _add_line
    from reconcile.parsers.pdf.charge_rows import Row
    from reconcile.parsers.selfcheck import Section

    out = ParsedInvoices(file_hash="abc")
    lines = FileLines("bill.pdf", "abc")
    inv = Invoice(account="1", invoice_number="I1", source="bill.pdf")
    sec = Section("Monthly charges", ChargeType.RECURRING)
    for no, amount, rate in ((4, Decimal("10.00"), Decimal("0.0000001")),
                             (5, Decimal("1e18"), None), (6, Decimal("20.00"), None)):
        _add_line(lines, out, inv, sec, Row(3, no, 0.0, "C1", "Port", amount, unit_price=rate), None)
    assert [(e.page, e.effect) for e in out.errors] == [(3, "value ignored"), (3, "row skipped")]
    assert "line 4: unit price" in out.errors[0].reason and "line 5: amount" in out.errors[1].reason
    assert inv.unreadable_rows == 1 and inv.line_ids == [0, 1]
    table = lines.table()
    assert table.column("amount").to_pylist() == [Decimal("10.000000"), Decimal("20.000000")]
    assert table.column("unit_price").to_pylist() == [None, None]
