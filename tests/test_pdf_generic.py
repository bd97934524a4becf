"""The generic reader (no layout YAML) on what ordinary carrier bills vary: a summary of
charges table, other date and period forms, column titles on two lines, a column no layout
names, a monospaced font. Each variant is the unseen layout with one thing changed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fixtures.pdf_invoices import render_invoice_pdf, replace, sample_invoice
from reconcile.parsers.pdf import read_pdf_invoices
from pdf_cases import LAYOUTS, by_fields, render


def test_a_summary_of_charges_table_is_not_read_as_charges(tmp_path):
    """The unseen layout prints each section's total under Description / Amount before the
    detail: those are figures to check, not charges. One that disagrees with its section
    is noted."""
    assert LAYOUTS["unseen"].charge_summary_columns
    path, inv, lines = render(tmp_path, "unseen", subtotal_delta={"tax": Decimal("2.00")})
    got = read_pdf_invoices(path)
    assert by_fields(got.lines, LAYOUTS["unseen"]) == by_fields(lines, LAYOUTS["unseen"])
    (summary,) = [n for n in got.notes if "summary of charges" in n]
    assert "'Government Taxes and Regulatory Fees'" in summary and "page 1" in summary
    (err,) = got.errors  # the section's own subtotal disagrees with its lines too
    assert "Government Taxes and Regulatory Fees" in err.reason


@pytest.mark.parametrize("date_fmt,period_fmt", [
    ("%-d %B %Y", "{s:%d %b %Y} - {e:%d %b %Y}"),
    ("%m/%d/%y", "{s:%b %-d} - {e:%b %-d, %Y}"),  # the year printed once
    ("%b %d, %Y", "{s:%b %d} - {e:%b %d}"),  # no year: the bill's (March usage on an April bill)
])
def test_the_generic_reader_reads_other_date_and_period_forms(tmp_path, date_fmt, period_fmt):
    style = replace(LAYOUTS["unseen"], date_fmt=date_fmt, period_fmt=period_fmt)
    inv, lines = sample_invoice(30, carrier=style.carrier)
    path = render_invoice_pdf(inv, lines, tmp_path / "bill.pdf", style, rows_per_page=8)
    got = read_pdf_invoices(path)
    assert got.errors == []
    assert by_fields(got.lines, style) == by_fields(lines, style)
    assert (got.invoices[0].invoice_date, got.invoices[0].due_date) == (inv.invoice_date, inv.due_date)


@pytest.mark.parametrize("titles", [
    # the top line alone looks like a header (Service, Total) but misses the service ID column
    {"Dates": "Service\nDates", "Service ID": "Service\nID", "Unit Price": "Unit\nPrice",
     "Total": "Total\nAmount"},
    # neither line alone names the columns
    {"Dates": "Period\nCovered", "Item": "Description\nof Charges", "Service ID": "Circuit\nID",
     "Units": "Qty", "Unit Price": "Rate", "Total": "Amount\n(USD)"},
])
def test_column_titles_printed_on_two_lines(tmp_path, titles):
    base = LAYOUTS["unseen"]
    style = replace(base, columns=tuple(replace(c, title=titles.get(c.title, c.title)) for c in base.columns))
    inv, lines = sample_invoice(30, carrier=style.carrier)
    path = render_invoice_pdf(inv, lines, tmp_path / "bill.pdf", style, rows_per_page=8)
    got = read_pdf_invoices(path)
    assert got.errors == []
    assert by_fields(got.lines, style) == by_fields(lines, style)


def test_a_column_no_layout_names_is_noted_not_dropped_unseen(tmp_path):
    base = LAYOUTS["unseen"]
    style = replace(base, columns=tuple(replace(c, title="Asset Tag") if c.field == "service_id" else c
                                        for c in base.columns))
    inv, lines = sample_invoice(20, carrier=style.carrier)
    path = render_invoice_pdf(inv, lines, tmp_path / "bill.pdf", style, rows_per_page=8)
    got = read_pdf_invoices(path)
    (note,) = [n for n in got.notes if "'Asset Tag'" in n]
    assert note.startswith(f"{path}: page 1 line ") and "not read" in note
    assert sorted(ln.amount for ln in got.lines) == sorted(ln.amount for ln in lines)


def test_a_monospaced_bill_reads_the_same_on_both_engines(tmp_path):
    """In Courier a space is as wide as a letter, near the gap that separates columns."""
    style = replace(LAYOUTS["unseen"], font="Courier", bold="Courier-Bold", size=7.5)
    inv, lines = sample_invoice(30, carrier=style.carrier)
    path = render_invoice_pdf(inv, lines, tmp_path / "bill.pdf", style, rows_per_page=8)
    fast, slow = read_pdf_invoices(path), read_pdf_invoices(path, engine="pdfplumber")
    assert fast.errors == [] and by_fields(fast.lines, style) == by_fields(lines, style)
    assert [ln.model_dump() for ln in slow.lines] == [ln.model_dump() for ln in fast.lines]
    assert [i.model_dump() for i in slow.invoices] == [i.model_dump() for i in fast.invoices]
