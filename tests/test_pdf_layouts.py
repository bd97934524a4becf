"""A PDF bill reads back as the bill it was drawn from, field by field, on every layout.

Like Chellow's "parsed vs computed expected bill": the source record is the expectation.
Each layout is drawn multi-page with repeated column headers, "Page N of M" footers, wrapped
descriptions, section subtotals and credits in its own negative style; `unseen` has no YAML
and is read by the generic reader.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fixtures.pdf_invoices import join_pdfs, money_text
from reconcile.parsers.pdf import read_pdf_invoices
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



@pytest.mark.parametrize("layout", LAYOUTS)
def test_several_bills_in_one_file_are_several_invoices(tmp_path, layout):
    style = LAYOUTS[layout]
    first, inv_a, lines_a = render(tmp_path, layout, 30, name="a.pdf", account="1111-2222-33", seed=1)
    second, inv_b, lines_b = render(tmp_path, layout, 25, name="b.pdf", account="4444-5555-66", seed=2)
    got = read_pdf_invoices(join_pdfs(tmp_path / "both.pdf", first, second))
    assert got.errors == []
    assert [(i.account, i.stated_total, i.self_check_failed) for i in got.invoices] == [
        (inv_a.account, inv_a.stated_total, False), (inv_b.account, inv_b.stated_total, False)]
    for inv, lines in ((inv_a, lines_a), (inv_b, lines_b)):
        assert by_fields([ln for ln in got.lines if ln.account == inv.account], style) == by_fields(lines, style)
