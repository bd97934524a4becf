"""A PDF bill reads back as the bill it was drawn from, field by field, on every layout.

Like Chellow's "parsed vs computed expected bill": the source record is the expectation.
Each layout is drawn multi-page with repeated column headers, "Page N of M" footers, wrapped
descriptions, section subtotals and credits in its own negative style; `unseen` has no YAML
and is read by the generic reader.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fixtures.pdf_invoices import money_text, render_invoice_pdf, replace, sample_invoice
from parsers.pdf import read_pdf_invoices
from pdf_cases import LAYOUTS, by_fields, page_texts, render


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_line_and_header_field_reads_back(tmp_path, layout):
    style = LAYOUTS[layout]
    path, inv, lines = render(tmp_path, layout)
    texts = page_texts(path)
    # the bill really has what the layout is about: pages, footers, wraps, its credit style
    assert len(texts) >= 5 and all(f"Page {n} of {len(texts)}" in t for n, t in enumerate(texts, 1))
    wrapped = [ln.description for ln in lines if not any(ln.description in t for t in texts)]
    assert wrapped, "no description wraps onto a second printed line"
    credit = next(ln for ln in lines if ln.amount < 0)
    assert any(money_text(credit.amount, style.negative) in t for t in texts)

    got = read_pdf_invoices(path)

    assert got.errors == []
    assert by_fields(got.lines, style) == by_fields(lines, style)
    (read,) = got.invoices
    assert (read.carrier, read.account, read.invoice_number, read.invoice_date, read.due_date) == (
        style.carrier, inv.account, inv.invoice_number, inv.invoice_date, inv.due_date)
    assert read.stated_total == inv.stated_total and not read.self_check_failed
    assert read.line_ids == [ln.line_id for ln in got.lines]
    assert all((ln.account, ln.invoice_number, ln.carrier) == (inv.account, inv.invoice_number,
                                                              style.carrier) for ln in got.lines)


def test_layouts_cover_every_negative_amount_style():
    assert {s.negative for s in LAYOUTS.values()} == {"minus", "parens", "cr"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_each_line_carries_the_page_it_is_printed_on(tmp_path, layout):
    style = LAYOUTS[layout]
    path, _, _ = render(tmp_path, layout)
    texts = page_texts(path)
    got = read_pdf_invoices(path)
    pages = [ln.page for ln in got.lines]
    assert pages == sorted(pages) and len(set(pages)) >= 4
    for ln in got.lines:
        words = ln.description.split()
        assert money_text(ln.amount, style.negative) in texts[ln.page - 1], ln
        assert " ".join(words[:3]) in texts[ln.page - 1], ln
        assert ln.where == f"{path} page {ln.page} line {ln.row}"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_both_engines_read_the_same_lines(tmp_path, layout):
    path, _, _ = render(tmp_path, layout, n_lines=30)
    fast = read_pdf_invoices(path, engine="pdfium")
    slow = read_pdf_invoices(path, engine="pdfplumber")
    assert fast.lines and not fast.errors
    assert [ln.model_dump() for ln in slow.lines] == [ln.model_dump() for ln in fast.lines]
    assert [i.model_dump() for i in slow.invoices] == [i.model_dump() for i in fast.invoices]
    assert slow.errors == fast.errors


def test_both_engines_report_the_same_misread_rows(tmp_path):
    path, _, _ = render(tmp_path, "summit", n_lines=30, misprint={4: "amount_shift"},
                        subtotal_delta={"usage": Decimal("1.00")})
    fast = read_pdf_invoices(path, engine="pdfium")
    slow = read_pdf_invoices(path, engine="pdfplumber")
    assert len(fast.errors) == 3 and slow.errors == fast.errors
    assert [ln.model_dump() for ln in slow.lines] == [ln.model_dump() for ln in fast.lines]


def test_a_long_bill_reads_every_line(tmp_path):
    """Many pages of one section: headers repeat, subtotal only at the end."""
    path, inv, lines = render(tmp_path, "northwind", n_lines=400, rows_per_page=25)
    got = read_pdf_invoices(path)
    assert got.errors == [] and len(got.lines) == 400
    assert sum(ln.amount for ln in got.lines) == inv.stated_total
    assert by_fields(got.lines, LAYOUTS["northwind"]) == by_fields(lines, LAYOUTS["northwind"])


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
