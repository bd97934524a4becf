"""Shared by the PDF tests: the layouts under test, rendering a bill, and what a line must read as.

The expected bill is the record the PDF was drawn from (fixtures/pdf_invoices.py); a field
the layout does not print (BluePeak has no quantity or rate column) is expected blank.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium

from fixtures.pdf_invoices import STYLES, Style, render_invoice_pdf, sample_invoice, unseen_style
from reconcile.core.models import ChargeType, Invoice, InvoiceLine

# every carrier layout with a YAML, plus one no YAML describes (read by the generic reader)
LAYOUTS: dict[str, Style] = {**STYLES, "unseen": unseen_style()}
LINE_FIELDS = ("service_id", "description", "charge_type", "period_start", "period_end",
               "quantity", "unit_price", "amount")
ROWS_PER_PAGE = 6  # small, so a 40-line bill runs to several pages


def render(tmp_path: Path, layout: str, n_lines: int = 40, name: str | None = None,
           account: str = "8310-4471-22", seed: int = 7, **opts) -> tuple[Path, Invoice, list[InvoiceLine]]:
    style = LAYOUTS[layout]
    inv, lines = sample_invoice(n_lines, seed=seed, account=account, carrier=style.carrier)
    opts.setdefault("rows_per_page", ROWS_PER_PAGE)
    path = render_invoice_pdf(inv, lines, tmp_path / (name or f"{layout}.pdf"), style, **opts)
    return path, inv, lines


def printed_fields(line: InvoiceLine, style: Style) -> tuple:
    """A line's fields as the layout can show them (blank where it has no column)."""
    shown = {c.field for c in style.columns}
    return tuple(None if f in ("quantity", "unit_price") and f not in shown else getattr(line, f)
                 for f in LINE_FIELDS)


def by_fields(lines, style: Style) -> list[tuple]:
    """Lines as sorted field tuples: the PDF prints them grouped by section, not in record order."""
    return sorted((printed_fields(ln, style) for ln in lines), key=repr)


def page_texts(path: Path) -> list[str]:
    """Each page's text straight from pdfium, to check the reader against."""
    doc = pdfium.PdfDocument(path)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def write_inventory(path: Path, inv: Invoice, lines: list[InvoiceLine], carrier: str,
                    overbilled: int | None = None, missing: int | None = None) -> list[str]:
    """An inventory for the bill: each service (in sorted order) at the monthly rate it is
    billed, except the `overbilled`-th (contracted 50.00 less) and the `missing`-th (left
    out). Returns the services in that order."""
    rates: dict[str, Decimal] = defaultdict(Decimal)
    for ln in lines:
        if ln.service_id and ln.charge_type is ChargeType.RECURRING:
            rates[ln.service_id] += ln.amount
    sids = sorted({ln.service_id for ln in lines if ln.service_id})
    rows = ["Circuit ID,BAN,Vendor,MRC,Install Date"]
    for k, sid in enumerate(sids):
        if k != missing:
            rate = rates[sid] - (Decimal("50.00") if k == overbilled else 0)
            rows.append(f"{sid},{inv.account},{carrier},{rate},2020-01-01")
    path.write_text("\n".join(rows) + "\n")
    return sids
