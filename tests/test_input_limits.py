"""Limits on what one file may hold, checked before the work: a file past one is one error
naming the file and the limit, it is not read, and the batch goes on. Hostile files are built
here, small: a workbook declaring a sheet of 17 billion cells, a zip bomb, a runaway field."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.parsers.inventory import read_inventory
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.parsers.limits import Limits, parse_limits

HEADER = ["Account Number", "Invoice No", "Bill Date", "Circuit ID", "Charge Description", "Type",
          "Charge Amount"]
ROW = ["111-222", "A1", "04/01/2025", "CKT-{n}", "MPLS port", "MRC", "450.00"]
INVENTORY = "Circuit ID,BAN,Vendor,MRC\nCKT-1,111-222,Lumen,450.00\n"


def rows(n: int) -> list[list[str]]:
    return [[c.format(n=i) for c in ROW] for i in range(1, n + 1)]


def csv_text(n: int) -> str:
    return "\n".join(",".join(r) for r in [HEADER, *rows(n)]) + "\n"


def workbook_bytes(n: int = 3) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in [HEADER, *rows(n)]:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def rewrite_member(data: bytes, name: str, edit, extra: dict[str, bytes] | None = None) -> bytes:
    """The workbook with member `name` passed through `edit` (and `extra` members added)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info)
            out.writestr(info.filename, edit(body) if info.filename == name else body)
        for extra_name, body in (extra or {}).items():
            out.writestr(extra_name, body)
    return buf.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def declare_whole_sheet(body: bytes, last_cell: bool) -> bytes:
    """The sheet claims A1:XFD1048576; with `last_cell` it also holds a cell there."""
    body = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', body)
    if last_cell:
        body = body.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                                              b"<is><t>x</t></is></c></row></sheetData>")
    return body


@pytest.fixture
def inventory(tmp_path) -> Path:
    p = tmp_path / "inventory.csv"
    p.write_text(INVENTORY)
    return p


def audit_beside_good(tmp_path, inventory, name: str, content: bytes, **kw):
    folder = tmp_path / "bills"
    folder.mkdir()
    (folder / name).write_bytes(content)
    (folder / "good.csv").write_text(csv_text(1))
    result = run_audit([folder], inventory, **kw)
    assert any(Path(ln.source).name == "good.csv" for ln in result.lines), "the good file is audited"
    return result, [e for e in result.errors if Path(e.file).name == name]


def test_a_workbook_that_declares_a_whole_sheet_but_holds_three_rows_is_read_as_three_rows(tmp_path):
    path = tmp_path / "claims.xlsx"
    data = rewrite_member(workbook_bytes(3), SHEET, lambda b: declare_whole_sheet(b, False))
    path.write_bytes(data)
    assert len(data) < 10_000
    parsed = read_invoice_table(path)
    assert not parsed.errors
    assert sorted(parsed.lines.table.column("service_id").to_pylist()) == ["CKT-1", "CKT-2", "CKT-3"]


def test_a_2kb_workbook_with_a_cell_in_the_last_column_and_row_is_refused_by_the_columns_limit(
        tmp_path, inventory):
    data = rewrite_member(workbook_bytes(3), SHEET, lambda b: declare_whole_sheet(b, True))
    result, (err,) = audit_beside_good(tmp_path, inventory, "bomb.xlsx", data)
    assert "past the columns limit (1,000)" in err.reason and "column 16,384" in err.reason
    assert "--limit columns=" in err.reason and err.effect == "file skipped"
    assert not any(Path(ln.source).name == "bomb.xlsx" for ln in result.lines)


def test_the_columns_limit_raised_lets_a_wide_row_be_read(tmp_path):
    path = tmp_path / "wide.xlsx"
    path.write_bytes(rewrite_member(workbook_bytes(2), SHEET, lambda b: declare_whole_sheet(b, True)))
    parsed = read_invoice_table(path, limits=Limits(columns=16_384))
    assert parsed.lines.table.num_rows == 2
    (err,) = parsed.errors  # the far cell's row is no charge row, and is said to be none
    assert err.row == 1_048_576 and err.reason == "account is blank"


def test_a_zip_bomb_member_is_refused_before_it_is_decompressed(tmp_path, inventory):
    bomb = b"<x>" + b" " * 30_000_000 + b"</x>"  # 30 MB that deflates to ~30 KB
    data = rewrite_member(workbook_bytes(1), SHEET, lambda b: b, {"xl/media/pad.xml": bomb})
    assert len(data) < 100_000
    result, (err,) = audit_beside_good(tmp_path, inventory, "bomb.xlsx", data)
    assert "past the zip-ratio limit (100)" in err.reason and "'xl/media/pad.xml'" in err.reason


def test_the_unzipped_limit_names_the_workbook_and_can_be_raised(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(workbook_bytes(3))
    parsed = read_invoice_table(path, limits=Limits(unzipped=1000))
    (err,) = parsed.errors
    assert err.file == str(path) and "past the unzipped limit (1,000 bytes)" in err.reason
    assert not parsed.lines.table.num_rows
    assert read_invoice_table(path, limits=Limits(unzipped=10 << 20)).lines.table.num_rows == 3


def test_a_file_past_the_rows_limit_gives_no_line_and_one_error(tmp_path, inventory):
    result, (err,) = audit_beside_good(tmp_path, inventory, "long.csv", csv_text(12).encode(),
                                       limits=Limits(rows=10))
    assert "more than 10 rows, past the rows limit (10)" in err.reason
    assert not any(Path(ln.source).name == "long.csv" for ln in result.lines)
    path = tmp_path / "bills" / "long.csv"
    assert read_invoice_table(path, limits=Limits(rows=13)).lines.table.num_rows == 12


def test_a_field_past_the_field_size_limit_is_one_error_naming_the_row(tmp_path, inventory):
    text = csv_text(3).replace("MPLS port", "x" * 200_000, 1)
    result, (err,) = audit_beside_good(tmp_path, inventory, "field.csv", text.encode())
    assert "row 2 has a cell longer than that, past the field-size limit (100,000)" in err.reason


def test_a_file_past_the_file_size_limit_is_not_opened(tmp_path, inventory):
    result, (err,) = audit_beside_good(tmp_path, inventory, "big.csv", csv_text(40).encode(),
                                       limits=Limits(file_size=1000))
    assert "past the file-size limit (1,000 bytes)" in err.reason


def test_an_inventory_past_a_limit_says_so(tmp_path):
    path = tmp_path / "inventory.xlsx"
    path.write_bytes(rewrite_member(workbook_bytes(1), SHEET, lambda b: declare_whole_sheet(b, True)))
    inv = read_inventory(path)
    assert not inv.services and "past the columns limit" in inv.problem


def test_parse_limits_reads_units_and_refuses_unknown_names():
    got = parse_limits(["file-size=2GB", "rows=5,000,000", "field_size=1M"])
    assert (got.file_size, got.rows, got.field_size) == (2 << 30, 5_000_000, 1 << 20)
    for bad in ["speed=3", "rows", "rows=-1", "rows=0", "rows=1.5"]:
        with pytest.raises(ValueError):
            parse_limits([bad])


def test_cli_limit_option_raises_a_limit_and_a_bad_one_is_a_usage_error(tmp_path, inventory):
    bill = tmp_path / "bill.csv"
    bill.write_text(csv_text(5))
    out = tmp_path / "out"
    runner = CliRunner()
    res = runner.invoke(main, ["audit", str(bill), "--inventory", str(inventory), "--out", str(out),
                               "--limit", "rows=3"])
    assert res.exit_code == 1, res.output
    errors = json.loads((out / "errors.json").read_text())
    (err,) = [e for e in errors if "bill.csv" in e["file"]]
    assert "past the rows limit (3)" in err["reason"]
    res = runner.invoke(main, ["audit", str(bill), "--inventory", str(inventory), "--out", str(out),
                               "--limit", "rows=3", "--limit", "rows=10"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["audit", str(bill), "--inventory", str(inventory), "--out", str(out),
                               "--limit", "speed=3"])
    assert res.exit_code == 2 and "NAME one of file-size" in res.output


def test_a_sheet_whose_xml_breaks_off_is_one_error_and_gives_no_line(tmp_path, inventory):
    def cut(body: bytes) -> bytes:
        return body[:body.index(b'<row r="55"')] + b'<row r="55"><c r="A55" t="inlineStr"><is><t>x'

    data = rewrite_member(workbook_bytes(60), SHEET, cut)
    parsed = read_invoice_table(_written(tmp_path / "cut.xlsx", data))
    (err,) = parsed.errors
    assert err.effect == "file skipped" and "damaged" in err.reason and "sheet 'Sheet'" in err.reason
    assert not parsed.lines.table.num_rows


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_files_field_size_limit_does_not_outlive_its_reading(tmp_path):
    """csv's field size limit is per process: a small one set for one file is put back once
    the file is read, so the next file's delimiter sniffing is not cut short by it."""
    import csv
    import dataclasses

    from reconcile.parsers.csv_records import records
    from reconcile.parsers.limits import DEFAULT_LIMITS

    path = tmp_path / "a.csv"
    path.write_bytes(b"a,b\n1,2\n")
    before = csv.field_size_limit()
    small = dataclasses.replace(DEFAULT_LIMITS, field_size=10)
    rows = list(records(path.open("rb"), "utf-8", False, ",", 2, small, []))
    assert [cells for _, cells in rows] == [["a", "b"], ["1", "2"]]
    assert csv.field_size_limit() == before


def test_row_errors_doc_example():
    import doctest

    import reconcile.core.row_errors as module

    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE) == (0, 7)


def _garbage(n: int, good: int) -> str:
    """`good` readable rows, then `n` rows whose amount is not money (bill G1, not the good
    file's A1: a bill in two files would be one bill read twice)."""
    bad = [[c.format(n=i) for c in ROW[:-1]] + [f"abc{i}"] for i in range(n)]
    body = [[("G1" if c == "A1" else c) for c in r] for r in [*rows(good), *bad]]
    return "\n".join(",".join(r) for r in [HEADER, *body]) + "\n"


def test_past_the_row_errors_limit_a_files_bad_rows_are_counted_in_one_error(tmp_path, inventory):
    """3,000 unreadable rows: 1,000 listed, one error counting the other 2,000 with their rows
    and reason; the file's good rows are still audited, and the next file too."""
    result, errs = audit_beside_good(tmp_path, inventory, "garbage.csv", _garbage(3000, 2).encode())
    assert len(errs) == 1001 and all(e.effect == "row skipped" for e in errs[:1000])
    assert [e.row for e in errs[:3]] == [4, 5, 6]  # header row 1, good rows 2-3
    counted = errs[-1]
    assert counted.effect == "rows skipped" and counted.row == 1004
    assert counted.reason.startswith("2,000 more rows skipped, rows 1,004 to 3,003, not listed")
    assert counted.reason.endswith(": not an amount (2,000)")
    assert sum(Path(ln.source).name == "garbage.csv" for ln in result.lines) == 2
    [bill] = [b for b in result.invoices if Path(b.source).name == "garbage.csv"]
    assert bill.unreadable_rows == 3000  # the bill's own count is every row


def test_the_row_errors_limit_raised_lists_every_row(tmp_path, inventory):
    bill = tmp_path / "garbage.csv"
    bill.write_text(_garbage(30, 1))
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(bill), "--inventory", str(inventory), "--out",
                                    str(out), "--limit", "row-errors=10"])
    assert res.exit_code == 1, res.output
    errors = json.loads((out / "errors.json").read_text())
    assert [e["effect"] for e in errors].count("row skipped") == 10
    assert errors[-1]["reason"].startswith("20 more rows skipped, rows 13 to 32")
    res = CliRunner().invoke(main, ["audit", str(bill), "--inventory", str(inventory), "--out",
                                    str(out), "--limit", "row-errors=30"])
    errors = json.loads((out / "errors.json").read_text())
    assert [e["effect"] for e in errors] == ["row skipped"] * 30


def test_an_inventorys_bad_rows_past_the_limit_are_counted(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,BAN,Vendor,MRC\nCKT-1,111-222,Lumen,450.00\n"
                    + "".join(f"CKT-{i},111-222,Lumen,lots\n" for i in range(2, 30)))
    inv = read_inventory(path, limits=Limits(row_errors=5))
    assert len(inv.services) >= 1 and len(inv.errors) == 6
    assert inv.errors[-1].effect in ("rows skipped", "values ignored")
    assert inv.errors[-1].reason.startswith("23 more ")


def test_a_records_files_bad_rows_past_the_limit_are_counted(tmp_path):
    from reconcile.parsers.records import read_records

    path = tmp_path / "payments.csv"
    path.write_text("Account Number,Payment Date,Amount,Payment ID\n111-222,2025-01-21,450.00,P-1\n"
                    + "".join(f"111-222,2025-01-21,lots,P-{i}\n" for i in range(2, 12)))
    got = read_records({"payments": path}, limits=Limits(row_errors=4))
    assert len(got.records.payments) == 1 and len(got.errors) == 5
    assert got.errors[-1].reason.startswith("6 more ") and got.errors[-1].row == 7


def test_a_readers_errors_counted_as_they_come_are_those_listed_after():
    """RowErrors (the row loop's: row errors past the limit never built) gives what
    listed_row_errors makes of every error built, on random mixes of effects."""
    import random

    from reconcile.core.models import InputError
    from reconcile.core.row_errors import RowErrors, listed_row_errors

    rng = random.Random(5)
    for _ in range(200):
        raw = []
        for row in range(2, rng.randint(2, 60)):
            effect = rng.choice(["row skipped", "row skipped", "value ignored", "self-check failed"])
            reason = rng.choice(["not an amount: 'x'", "bad date: '1/2/3'", "subtotal: off"])
            raw.append((row if rng.random() > 0.05 else None, f"{reason} {row}", effect))
        keep = rng.randint(0, 12)
        out: list[InputError] = []
        errors = RowErrors("a.csv", keep, out)
        for row, reason, effect in raw:
            errors.add(row, reason, effect)
        errors.close()
        built = [InputError(file="a.csv", row=r, reason=why, effect=e) for r, why, e in raw]
        assert out == listed_row_errors(built, keep)


def test_past_the_batch_row_errors_limit_each_further_files_bad_rows_are_counted(tmp_path, inventory):
    """Many files, each under the file's limit: the batch lists its first `batch-row-errors`
    row errors (in file order), then each further file's as one counted error; every row is
    still accounted for and the good rows audited."""
    folder = tmp_path / "bills"
    folder.mkdir()
    for k in range(6):  # 4 bad rows each, bills G0..G5
        text = _garbage(4, 1).replace("G1", f"G{k}")
        (folder / f"f{k}.csv").write_text(text)
    result = run_audit([folder], inventory, limits=Limits(batch_row_errors=10))
    by_file: dict[str, list] = {}
    for e in result.errors:
        by_file.setdefault(Path(e.file).name, []).append(e)
    assert [len(by_file[f"f{k}.csv"]) for k in range(6)] == [4, 4, 3, 1, 1, 1]
    assert sum(e.effect == "row skipped" for e in result.errors) == 10
    third = by_file["f2.csv"][-1]
    assert third.effect == "rows skipped" and third.reason.startswith("2 more rows skipped, rows 5 to 6")
    assert "past the batch-row-errors limit, 10 for all the files, 2 of them listed in this file" \
        in third.reason
    assert all(errs[0].reason.startswith("4 more rows skipped, rows 3 to 6") for errs in
               (by_file[f"f{k}.csv"] for k in (3, 4, 5)))
    assert len(result.lines) == 6  # each file's good row
