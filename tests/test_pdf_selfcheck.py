"""Every PDF bill checks itself against its own printed figures, and says whose fault a gap is.

A printed subtotal the lines don't make is OUR misreading: an error naming file, page and
section, the invoice marked self_check_failed, and no invoice-total-mismatch finding. Printed
subtotals that agree with the lines but not with the printed current charges are the
CARRIER's figures disagreeing: an invoice-total-mismatch finding, no reading error. A row
that can't be read is reported with its page and line, never dropped.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fixtures.pdf_invoices import money_text, render_invoice_pdf, replace, sample_invoice
from reconcile.parsers.pdf import read_pdf_invoices
from pdf_cases import LAYOUTS, page_texts, render, write_inventory
from reconcile.audit import run_audit

MISMATCH = "invoice-total-mismatch"


def audit(tmp_path: Path, pdf: Path, inv, lines, layout: str):
    """Audited against an inventory that agrees with every charge: only the bill's own
    arithmetic can give a finding."""
    inventory = tmp_path / "inventory.csv"
    write_inventory(inventory, inv, lines, LAYOUTS[layout].carrier)
    return run_audit([pdf], inventory)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_subtotal_the_lines_miss_is_our_error_not_a_finding(tmp_path, layout):
    style = LAYOUTS[layout]
    path, inv, lines = render(tmp_path, layout, subtotal_delta={"usage": Decimal("10.00")})
    heading = style.headings["usage"]
    result = audit(tmp_path, path, inv, lines, layout)

    (err,) = result.errors
    assert err.file == str(path) and err.effect == "self-check failed"
    assert f"'{heading}'" in err.reason and "$10.00" in err.reason
    printed = money_text(sum(ln.amount for ln in lines if style.sections[ln.charge_type] == "usage")
                         + Decimal("10.00"), style.negative)
    assert printed in page_texts(path)[err.page - 1], "the error names the page the subtotal is on"
    (read,) = result.invoices
    assert read.self_check_failed
    assert not [f for f in result.findings if f.rule == MISMATCH]
    assert len(result.lines) == len(lines), "the lines read are still audited"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_current_charges_the_subtotals_disagree_with_are_the_carriers_finding(tmp_path, layout):
    path, inv, lines = render(tmp_path, layout, current_charges_delta=Decimal("25.00"))
    result = audit(tmp_path, path, inv, lines, layout)

    assert result.errors == []
    (read,) = result.invoices
    assert not read.self_check_failed and read.stated_total == inv.stated_total + Decimal("25.00")
    (f,) = [f for f in result.findings if f.rule == MISMATCH]
    assert f.amount_at_issue == Decimal("25.00") and f.invoice_number == inv.invoice_number
    assert f.billed_amount == inv.stated_total + Decimal("25.00") and f.expected_amount == inv.stated_total


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("misprint", [{3: "no_description"}, {7: "amount_shift"},
                                      {0: "amount_shift", 12: "no_description"}])
def test_a_row_that_cannot_be_read_is_reported_never_dropped(tmp_path, layout, misprint):
    style = LAYOUTS[layout]
    path, inv, lines = render(tmp_path, layout, misprint=misprint)
    texts = page_texts(path)
    got = read_pdf_invoices(path)

    skipped = [e for e in got.errors if e.effect == "row skipped"]
    assert len(got.lines) + len(skipped) == len(lines)
    assert len(skipped) == len(misprint)
    assert all(err.file == str(path) and err.page and err.row for err in skipped)
    for i in misprint:
        amount = money_text(lines[i].amount, style.negative)
        (err,) = [e for e in skipped if amount in e.reason]  # the error quotes the printed line
        assert amount in texts[err.page - 1]
    (read,) = got.invoices
    assert read.self_check_failed and read.unreadable_rows == len(misprint)
    assert not [f for f in audit(tmp_path, path, inv, lines, layout).findings if f.rule == MISMATCH]


def test_a_clean_bill_passes_its_own_check_with_no_finding(tmp_path):
    path, inv, lines = render(tmp_path, "bluepeak")
    result = audit(tmp_path, path, inv, lines, "bluepeak")
    assert result.errors == [] and not result.invoices[0].self_check_failed
    assert not [f for f in result.findings if f.rule == MISMATCH]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_total_printed_on_the_section_heading_line_checks_the_section(tmp_path, layout):
    """"Usage Charges ..... 230.50" then the rows, no closing subtotal: the heading is a
    heading (not a charge) and its figure checks the section's lines."""
    style = replace(LAYOUTS[layout], heading_total=True, subtotal="")
    inv, lines = sample_invoice(40, carrier=style.carrier)
    clean = render_invoice_pdf(inv, lines, tmp_path / "clean.pdf", style, rows_per_page=6)
    got = read_pdf_invoices(clean)
    assert got.errors == [] and len(got.lines) == len(lines) and not got.invoices[0].self_check_failed
    assert {ln.section for ln in got.lines} == {style.headings[style.sections[ln.charge_type]] for ln in lines}

    usage = next(i for i, ln in enumerate(lines) if ln.charge_type.value == "usage")
    bad = render_invoice_pdf(inv, lines, tmp_path / "bad.pdf", style, rows_per_page=6,
                             misprint={usage: "amount_shift"})
    got = read_pdf_invoices(bad)
    assert [e.effect for e in got.errors] == ["row skipped", "self-check failed"]
    assert f"'{style.headings['usage']}'" in got.errors[1].reason
    assert got.invoices[0].self_check_failed
