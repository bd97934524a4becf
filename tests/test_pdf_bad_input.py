"""A PDF that can't be read gives ONE clear error naming the file (and page); the batch goes on.

And every page of every bill is accounted for: it gave lines, header or summary figures, or
it is named in an error (an image or unreadable page) or a note (a blank or notice page).
"""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pypdfium2
import pytest
from click.testing import CliRunner

from fixtures.pdf_invoices import (insert_page, scan_page, write_encrypted_pdf, write_image_only_pdf,
                                   write_non_invoice_pdf, write_not_a_pdf, write_truncated_pdf)
from reconcile.parsers.pdf import ENGINES, read_pdf_invoices
from reconcile.parsers.pdf.reader import PdfReader
from pdf_cases import LAYOUTS, by_fields, page_texts, render, write_inventory
from reconcile.audit import run_audit
from reconcile.cli import main


def _zero_bytes(path: Path) -> Path:
    path.write_bytes(b"")
    return path


# name -> (make it, words the reason must have, page named)
BAD = {
    "scan.pdf": (write_image_only_pdf, ("no text layer", "OCR"), 1),
    "locked.pdf": (write_encrypted_pdf, ("encrypted", "password"), None),
    "truncated.pdf": (write_truncated_pdf, ("truncated",), None),
    "spreadsheet.pdf": (write_not_a_pdf, ("not a PDF",), None),
    "empty.pdf": (_zero_bytes, ("empty",), None),
    "meeting_notes.pdf": (write_non_invoice_pdf, ("not read as an invoice", "account"), None),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", BAD)
def test_a_bad_pdf_gives_one_clear_error_naming_it(tmp_path, name, engine):
    make, words, page = BAD[name]
    path = make(tmp_path / name)
    got = read_pdf_invoices(path, engine=engine)
    (err,) = got.errors
    assert err.file == str(path) and err.page == page and err.effect == "file skipped"
    assert all(w.lower() in err.reason.lower() for w in words), err.reason
    assert got.lines == [] and got.invoices == []


@pytest.mark.parametrize("engine", ENGINES)
def test_an_encrypted_pdf_reads_with_its_password_and_says_when_it_is_wrong(tmp_path, engine):
    path = write_encrypted_pdf(tmp_path / "locked.pdf", password="s3cret")
    (err,) = read_pdf_invoices(path, password="guess", engine=engine).errors
    assert err.file == str(path) and "password given is wrong" in err.reason
    got = read_pdf_invoices(path, password="s3cret", engine=engine)
    assert got.errors == [] and len(got.lines) == 12 and not got.invoices[0].self_check_failed


def test_the_password_option_opens_an_encrypted_bill(tmp_path):
    (tmp_path / "bills").mkdir()
    path = write_encrypted_pdf(tmp_path / "bills" / "locked.pdf", password="s3cret")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,BAN,Vendor,MRC,Install Date\nDIA-00001-CHI,999,Other,10.00,2020-01-01\n")
    args = ["audit", str(path.parent), "--inventory", str(inventory), "--out", str(tmp_path / "out")]
    assert CliRunner().invoke(main, args).exit_code == 1
    res = CliRunner().invoke(main, [*args, "--password", "s3cret"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out" / "errors.json").read_text()) == []
    assert len(list(csv.DictReader(open(tmp_path / "out" / "lines.csv", encoding="utf-8-sig")))) == 12


@pytest.mark.parametrize("layout", ["northwind", "summit"])
def test_an_image_page_inside_a_bill_is_named_and_the_rest_read(tmp_path, layout):
    """A scanned insert (page 3) between text pages: the bill still reads whole."""
    path, inv, lines = render(tmp_path, layout)
    scan_page(path, 3, insert=True)
    got = read_pdf_invoices(path)
    (err,) = got.errors
    assert (err.file, err.page, err.effect) == (str(path), 3, "page skipped")
    assert "no text layer" in err.reason
    assert by_fields(got.lines, LAYOUTS[layout]) == by_fields(lines, LAYOUTS[layout])
    assert 3 not in {ln.page for ln in got.lines} and max(ln.page for ln in got.lines) == len(page_texts(path))


def test_charges_lost_on_an_image_page_are_never_blamed_on_the_carrier(tmp_path):
    """Page 3's charges became a picture: the page is named, the bill fails its own check,
    and no invoice-total-mismatch finding is raised for the money we could not read."""
    path, inv, lines = render(tmp_path, "northwind")
    scan_page(path, 3)
    inventory = tmp_path / "inventory.csv"
    write_inventory(inventory, inv, lines, LAYOUTS["northwind"].carrier)
    result = run_audit([path], inventory)
    assert [(e.page, e.effect) for e in result.errors][0] == (3, "page skipped")
    assert result.invoices[0].self_check_failed
    assert not [f for f in result.findings if f.rule == "invoice-total-mismatch"]
    assert len(result.lines) < len(lines) and all(ln.page != 3 for ln in result.lines)


def test_every_page_is_accounted_for(tmp_path):
    """Blank and notice pages are noted, image pages are errors, a page with only the running
    header is silent; every other page gave lines."""
    path, inv, lines = render(tmp_path, "northwind")
    n = len(page_texts(path))
    header = f"Northwind Telecom   Account Number: {inv.account}   Invoice Number: {inv.invoice_number}"
    insert_page(path, n + 1, [header])  # 'continued' page with nothing left on it
    insert_page(path, 4, ["Important information about your service",
                          "Call us any time to hear about our new fibre plans."])
    insert_page(path, 3)  # blank
    scan_page(path, 2, insert=True)  # a picture of the next page
    got = read_pdf_invoices(path)

    total = len(page_texts(path))
    assert total == n + 4
    (err,) = got.errors
    assert err.page == 2 and err.effect == "page skipped"
    noted = {p for p in range(1, total + 1) if any(f" page {p}:" in note for note in got.notes)}
    assert noted == {4, 6}, got.notes
    assert any("blank" in note for note in got.notes if " page 4:" in note)
    assert any("Important information" in note for note in got.notes if " page 6:" in note)
    with_lines = {ln.page for ln in got.lines}
    assert with_lines | noted | {2, total} == set(range(1, total + 1))
    assert by_fields(got.lines, LAYOUTS["northwind"]) == by_fields(lines, LAYOUTS["northwind"])


def test_a_page_pdfium_cannot_read_is_an_error_naming_it(tmp_path, monkeypatch):
    path, inv, lines = render(tmp_path, "northwind")
    real, calls = pypdfium2.PdfPage.get_textpage, []

    def damaged_third_page(page):
        calls.append(page)
        if len(calls) == 3:
            raise pypdfium2.PdfiumError("Failed to load text page.")
        return real(page)

    monkeypatch.setattr(pypdfium2.PdfPage, "get_textpage", damaged_third_page)
    got = read_pdf_invoices(path)
    page3 = [e for e in got.errors if e.page == 3]
    assert len(page3) == 1 and page3[0].effect == "page skipped" and page3[0].file == str(path)
    assert "could not be read" in page3[0].reason
    assert got.lines and all(ln.page != 3 for ln in got.lines)
    assert got.invoices[0].self_check_failed, "its charges are missing: the bill can't vouch for itself"


REAL = Path(__file__).resolve().parents[1].parent / "shared" / "real-samples" / "invoice2data"


@pytest.mark.skipif(not (REAL / "free_fiber.pdf").is_file(), reason=f"{REAL} not present")
@pytest.mark.parametrize("engine", ENGINES)
def test_a_real_french_isp_bill_is_read_or_refused_in_one_clear_error(engine):
    """Free's fibre bill (invoice2data's fixture): French labels, HT/TVA/TTC columns. No
    layout describes it: it must not crash, and either its lines make its printed total or
    it is one error naming the file."""
    path = REAL / "free_fiber.pdf"
    expected = json.loads((REAL / "free_fiber.json").read_text())[0]
    got = read_pdf_invoices(path, engine=engine)
    if got.lines:
        assert sum(ln.amount for ln in got.lines) == Decimal(str(expected["amount"]))
        assert got.invoices[0].invoice_number == expected["invoice_number"]
    else:
        (err,) = got.errors
        assert err.file == str(path) and err.effect == "file skipped"
        assert "parsers/layouts" in err.reason


def test_a_reader_fault_is_one_error_and_not_blamed_on_the_file(tmp_path, monkeypatch):
    path, _, _ = render(tmp_path, "northwind")

    def broken(self, lines):
        raise KeyError("amount")

    monkeypatch.setattr(PdfReader, "page", broken)
    (err,) = read_pdf_invoices(path).errors
    assert err.file == str(path) and err.effect == "file skipped"
    assert "KeyError" in err.reason and "truncated" not in err.reason
