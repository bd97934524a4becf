"""Readers register themselves and each file goes to the one its content and name fit.

A new format is one module in parsers/ (proved with a toy X12 reader dropped into the package
from a temp folder); a misnamed file is read by the right reader, with a note; a file no
reader fits is one error naming it and the suffixes the registered readers take.
"""

from __future__ import annotations

import shutil
import sys
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

import reconcile.parsers
from pdf_cases import render
from reconcile.audit import collect_files, run_audit
from reconcile.parsers import readers as registry
from reconcile.parsers.readers import read_invoices

HEADER = "Account,Invoice Number,Bill Date,Circuit ID,Description,Amount\n"
ROWS = ["111-222,A1,2025-03-01,12.HCGS.123456..LY,MPLS port,450.00",
        "111-222,A1,2025-03-01,,Federal USF,12.50"]


def write_csv(path: Path) -> Path:
    path.write_text(HEADER + "\n".join(ROWS) + "\n")
    return path


def write_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    for line in [HEADER.strip(), *ROWS]:
        wb.active.append(line.split(","))
    wb.save(path)
    return path


def facts(parsed):
    return [(ln.invoice_number, ln.service_id, ln.amount) for ln in parsed.lines]


def test_the_table_xlsx_and_pdf_readers_register_themselves():
    got = {r.name: r.suffixes for r in registry.readers()}
    assert got["delimited text"] == (".csv", ".tsv", ".txt")
    assert got["Excel workbook"] == (".xlsx", ".xlsm") and got["PDF"] == (".pdf",)


@pytest.mark.parametrize("make, misnamed_as, reader", [
    (write_xlsx, "bill.csv", "Excel workbook"),   # a workbook saved with the wrong extension
    (write_csv, "bill.pdf", "delimited text"),    # a portal export renamed .pdf
    (write_csv, "bill", "delimited text"),        # no extension at all
    (write_xlsx, "bill", "Excel workbook"),
])
def test_a_misnamed_table_is_read_by_its_content(tmp_path, make, misnamed_as, reader):
    right = make(tmp_path / ("right.xlsx" if make is write_xlsx else "right.csv"))
    wrong = tmp_path / "misnamed" / misnamed_as
    wrong.parent.mkdir()
    shutil.copy(right, wrong)
    assert registry.choose_reader(wrong).name == reader
    got = read_invoices(wrong)
    assert not got.errors and facts(got) == facts(read_invoices(right)) != []
    assert any(str(wrong) in n and f"read as {reader} by its content" in n for n in got.notes)


@pytest.mark.parametrize("name", ["bill.csv", "bill"])
def test_a_pdf_named_otherwise_is_read_as_a_pdf(tmp_path, name):
    pdf, inv, lines = render(tmp_path, "northwind", n_lines=12)
    wrong = tmp_path / "misnamed" / name
    wrong.parent.mkdir()
    shutil.copy(pdf, wrong)
    assert registry.choose_reader(wrong).name == "PDF"
    got = read_invoices(wrong)
    assert not got.errors and len(got.lines) == len(lines)
    assert sum(ln.amount for ln in got.lines) == sum(ln.amount for ln in lines)


@pytest.mark.parametrize("name, content, words", [
    ("photo.pdf", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("named .pdf", "no kind read here")),
    ("photo", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("without an extension",)),
    ("notes.docx", b"PK\x03\x04\x14\x00\x06\x00", (".docx invoices are not supported",)),
    ("readme.md", b"# Invoices for March\n", (".md invoices are not supported",)),
    ("empty.pdf", b"", ("empty",)),
])
def test_a_file_no_reader_fits_is_one_error_naming_it_and_what_is_read(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    files, errors = collect_files([tmp_path])
    assert files == []
    (err,) = errors
    assert err.file == str(path) and err.effect == "file skipped"
    assert all(w in err.reason for w in words), err.reason
    if content:
        assert "not supported" in err.reason and ".csv, .pdf, .tsv, .txt, .xlsm, .xlsx" in err.reason
    (again,) = read_invoices(path).errors
    assert again.reason == err.reason


def test_a_folder_with_no_file_a_reader_fits_is_audited_to_its_errors(tmp_path):
    """No invoice read at all (every file unsupported): the audit says which and why; it does
    not fail on having no file's lines to put together."""
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "notes.docx").write_bytes(b"PK\x03\x04\x14\x00\x06\x00")
    (tmp_path / "inventory.csv").write_text("Circuit ID,BAN,MRC\nX1,1,10.00\n")
    got = run_audit([tmp_path / "inv"], tmp_path / "inventory.csv")
    assert not got.lines and not got.findings
    assert [(e.file, e.effect) for e in got.errors] == [(str(tmp_path / "inv" / "notes.docx"),
                                                         "file skipped")]


def test_a_sniff_that_fails_is_one_error_naming_the_file_and_the_reader(tmp_path, monkeypatch):
    def broken(head, path):
        raise KeyError("oops")

    monkeypatch.setattr(registry, "_READERS", {**registry._READERS, "broken": registry.Reader(
        "broken", lambda path, options: None, (".x12",), broken)})
    write_csv(tmp_path / "good.csv")
    (tmp_path / "bad.x12").write_text("ISA*00~")
    files, errors = collect_files([tmp_path])
    assert [f.name for f in files] == ["good.csv"]
    (err,) = errors
    assert err.file == str(tmp_path / "bad.x12") and "broken reader's sniff failed" in err.reason


TOY_READER = '''
"""A toy X12 reader: one charge per IT1*<service>*<amount> segment."""
from decimal import Decimal

from reconcile.core.models import ChargeType, Invoice
from reconcile.parsers.line_columns import FileLines
from reconcile.parsers.readers import ParsedInvoices, file_digest, register_reader


@register_reader("toy X12", suffixes=(".x12",), sniff=lambda head, path: head.startswith(b"ISA*"))
def read_toy(path, options):
    out = ParsedInvoices(file_hash=file_digest(path))
    lines = FileLines(str(path), out.file_hash)
    inv = Invoice(account="111-222", invoice_number="X" + path.stem, source=str(path))
    for n, segment in enumerate(path.read_text().split("~"), start=1):
        parts = segment.strip().split("*")
        if parts[0] == "IT1":
            lines.add(inv, n, parts[1], "toy charge", ChargeType.OTHER, Decimal(parts[2]))
    out.invoices.append(inv)
    out.lines = lines.done()
    return out
'''


@pytest.fixture
def parsers_folder(tmp_path, monkeypatch):
    """A second folder of the reconcile.parsers package: a module dropped here is one of its
    modules, as if dropped into parsers/. The registry is restored afterwards."""
    folder = tmp_path / "more_parsers"
    folder.mkdir()
    monkeypatch.setattr(reconcile.parsers, "__path__", [*reconcile.parsers.__path__, str(folder)])
    monkeypatch.setattr(registry, "_READERS", dict(registry._READERS))
    monkeypatch.setattr(registry, "_discovered", False)
    yield folder
    sys.modules.pop("reconcile.parsers.toy_x12", None)


def test_a_reader_dropped_into_the_package_reads_its_files_with_no_other_edit(tmp_path, parsers_folder):
    (parsers_folder / "toy_x12.py").write_text(TOY_READER)
    bills = tmp_path / "bills"
    bills.mkdir()
    write_csv(bills / "export.csv")
    (bills / "march.x12").write_text("ISA*00~ST*811*0001~IT1*12.HCGS.123456..LY*450.00~SE*3*0001~")
    # the same format saved as .txt: the toy's own sniff beats the text reader's "any text"
    (bills / "april.txt").write_text("ISA*00~ST*811*0002~IT1*12.HCGS.654321..LY*99.95~SE*3*0002~")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,Account,MRC\n12.HCGS.123456..LY,111-222,450.00\n")

    result = run_audit([bills], inventory, workers=1)

    assert result.errors == []
    by_file = {Path(ln.source).name: (ln.invoice_number, ln.amount) for ln in result.lines
               if ln.description == "toy charge"}
    assert by_file == {"march.x12": ("Xmarch", Decimal("450.00")),
                       "april.txt": ("Xapril", Decimal("99.95"))}
    assert any("april.txt: named .txt, read as toy X12 by its content" in n for n in result.notes)
    assert len([ln for ln in result.lines if ln.source.endswith("export.csv")]) == 2
