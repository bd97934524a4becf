"""Carrier PDF invoices -> the same invoices and table of lines as CSV exports.

    read_pdf_invoices(path, password=None, engine="pdfium") -> ParsedInvoices

Never raises for a bad file: an encrypted, scanned, truncated or non-invoice PDF gives one
`InputError` naming the file (and page when there is one). Every invoice is checked against
its own printed subtotals and current charges (parsers/selfcheck.py). Every page is
accounted for: it gave lines, header or summary figures, or it is named in an error (an
image or unreadable page) or a note (a blank page, or text that gave nothing).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from reconcile.core.charge_types import charge_type_of
from reconcile.parsers.pdf.charge_rows import Row, take_charge_summary
from reconcile.parsers.pdf.layout import BY_LINE, Layout, find_layout
from reconcile.parsers.pdf.lines import page_lines
from reconcile.parsers.pdf.reader import Draft, PdfReader
from reconcile.parsers.pdf.text_layer import PDF_HEADER_WITHIN, PdfOpenError, open_pages
from reconcile.parsers.line_columns import FileLines
from reconcile.parsers.readers import (ParsedInvoices, ReadOptions, file_digest, register_reader,
                                       source_name)
from reconcile.parsers.selfcheck import Section, check_invoice
from reconcile.core.lines import money_ok
from reconcile.core.models import ChargeType, InputError, Invoice
from reconcile.core.values import money

__all__ = ["read_pdf_invoices", "ENGINES"]
ENGINES = ("pdfium", "pdfplumber")


def looks_like_pdf(head: bytes, path: Path) -> bool:
    return b"%PDF-" in head[:PDF_HEADER_WITHIN]


@register_reader("PDF", suffixes=(".pdf",), sniff=looks_like_pdf, pooled=True)
def read_pdf_file(path: Path, options: ReadOptions) -> ParsedInvoices:
    return read_pdf_invoices(path, password=options.password, engine=options.pdf_engine)


def read_pdf_invoices(path: Path, password: str | None = None, engine: str = "pdfium") -> ParsedInvoices:
    src = source_name(path)
    try:
        return _read(Path(path), src, password, engine)
    except Exception as e:  # a bad file, or a reader bug, must never stop the batch
        return ParsedInvoices(errors=[InputError(
            file=src, reason=f"could not read the PDF ({type(e).__name__}: {e})", effect="file skipped")])


def _read(path: Path, src: str, password: str | None, engine: str) -> ParsedInvoices:
    out = ParsedInvoices()
    try:
        _count, pages = open_pages(path, password, engine)
    except PdfOpenError as e:
        out.errors.append(InputError(file=src, reason=str(e), effect="file skipped"))
        return out
    out.file_hash = file_digest(path)
    reader: PdfReader | None = None
    unread: dict[int, str] = {}  # page -> why nothing could be read from it
    blank: list[int] = []
    idle: dict[int, str] = {}  # pages with text that gave nothing -> their first line
    last = 0
    while True:
        try:
            page = next(pages)
        except StopIteration:
            break
        except Exception as e:  # the engine failing part-way through a damaged file
            out.errors.append(InputError(file=src, page=last + 1, reason=(
                f"the PDF could not be read past page {last} ({type(e).__name__}); it may be "
                "truncated"), effect="file skipped"))
            return out
        last = page.number
        if page.error or not page.words:
            if page.error or page.has_images:
                unread[page.number] = page.error or _IMAGE_PAGE
            else:
                blank.append(page.number)
            continue
        lines = page_lines(page)
        if reader is None:
            layout = find_layout(" ".join(ln.text for ln in lines))
            reader = PdfReader(src, layout)
            if layout.name != "generic":
                out.notes.append(f"{src}: read as PDF layout {layout.name}")
        reader.page(lines)  # a bug here is reported by read_pdf_invoices, not as a bad file
        if page.number not in reader.used:
            idle[page.number] = lines[0].text if lines else ""
    if reader is None:
        if unread:
            reason = ("no text layer: the pages are images (a scan?); run OCR on it first"
                      if _IMAGE_PAGE in unread.values() else f"no page could be read: {unread[min(unread)]}")
        else:
            reason = "the PDF has no text"
        out.errors.append(InputError(file=src, page=min(unread) if unread else None, reason=reason,
                                     effect="file skipped"))
        return out
    for p, why in unread.items():
        out.errors.append(InputError(file=src, page=p, reason=f"{why}: charges on it, if any, were not read",
                                     effect="page skipped"))
    # every page is accounted for: it gave something, or it is named in an error or here
    out.notes.extend(f"{src}: page {p}: blank (no text and no images)" for p in blank)
    out.notes.extend(f"{src}: page {p}: nothing on it was read as invoice fields or charges "
                     f"(it begins {text[:60]!r})" for p, text in idle.items())
    out.notes.extend(reader.notes)
    lines = FileLines(src, out.file_hash)
    _finish(reader, src, out, sorted(unread), lines)
    out.lines = lines.done()
    return out


_IMAGE_PAGE = "the page has no text layer (an image)"


def _finish(reader: PdfReader, src: str, out: ParsedInvoices, unread: list[int],
            lines: FileLines) -> None:
    drafts = [d for d in reader.drafts if d.rows or d.fields or d.errors]
    if not any(d.rows for d in drafts):
        if not any(d.fields.get("account") or d.fields.get("invoice_number") for d in drafts):
            out.errors.append(InputError(file=src, reason=(
                "not read as an invoice: no account or invoice number and no table of charges "
                "were recognised (not a bill, or a layout that a YAML in parsers/layouts must "
                "describe)"),
                effect="file skipped"))
        else:
            out.errors.append(InputError(file=src, reason=(
                "an invoice header but no charge lines: no table with a Description and an "
                "Amount column was found"), effect="file skipped"))
        for d in drafts:
            out.errors.extend(e for e in d.errors if e.effect != "self-check failed")
        return
    starts = [d.first_page for d in drafts[1:]] + [10**9]
    for d, end in zip(drafts, starts):
        # pages not read between this invoice's first page and the next invoice's
        _build(d, reader, src, out, [p for p in unread if p < end and (d is drafts[0] or p >= d.first_page)],
               lines)


def _build(d: Draft, reader: PdfReader, src: str, out: ParsedInvoices, unread: list[int],
           lines: FileLines) -> None:
    f = d.fields
    out.errors.extend(d.errors)
    account = str(f.get("account") or "")
    number = str(f.get("invoice_number") or "")
    if not number and account and f.get("invoice_date"):
        number = f"{account}-{f['invoice_date']:%Y%m%d}"
        out.notes.append(f"{src}: no invoice number printed; using {number}")
    if not account or not number:
        missing = "account number" if not account else "invoice number"
        out.errors.append(InputError(file=src, page=d.first_page or None, reason=(
            f"{d.rows} charge lines found but no {missing} (the header labels were not "
            "recognised; a layout YAML in parsers/layouts can name them)"), effect="file skipped"))
        return
    layout = reader.layout
    inv = Invoice(carrier=layout.carrier or str(f.get("carrier") or "") or reader.carrier_guess,
                  account=account, invoice_number=number, invoice_date=f.get("invoice_date"),
                  due_date=f.get("due_date"), source=src, unreadable_rows=d.unreadable,
                  pages=(d.last_page - d.first_page + 1) if d.first_page else None,
                  previous_balance=f.get("previous_balance"), payments=f.get("payments"),
                  adjustments=f.get("adjustments"), amount_due=f.get("amount_due"),
                  current_charges=f.get("current_charges"))
    out.notes.extend(f"{src}: invoice {number}: {n}" for n in take_charge_summary(d.sections))
    for sec in d.sections:
        error, note = sec.check_stated() or ("", "")
        if error:
            out.errors.append(InputError(file=src, page=sec.page, reason=error, effect="self-check failed"))
        if note:
            out.notes.append(f"{src}: invoice {number}: {note}")
    printed, where = f.get("current_charges"), d.where.get("current_charges", "")
    if d.detail_total and printed is not None and d.detail_total[0] != printed:
        out.notes.append(f"{src}: current charges printed as {money(printed)} ({where}) and "
                         f"{money(d.detail_total[0])} ({d.detail_total[1]})")
    verdict = check_invoice(d.sections, printed, f"printed current charges, {where}",
                            f.get("adjustments"), unread)
    inv.stated_total, inv.total_where = verdict.stated_total, verdict.total_where
    inv.self_check_failed = verdict.failed
    if verdict.error:
        out.errors.append(InputError(file=src, page=verdict.error_page, reason=verdict.error,
                                     effect="self-check failed"))
    if verdict.note:
        out.notes.append(f"{src}: invoice {number}: {verdict.note}")
    _summary_note(f, src, number, out)
    fit: set[int] = set()
    for sec in d.sections:
        for row in sec.rows:
            _add_line(lines, out, inv, sec, row, layout, fit)
    out.invoices.append(inv)


def _add_line(lines: FileLines, out: ParsedInvoices, inv: Invoice, sec: Section, row: Row,
              layout: Layout, fit: set[int] | None = None) -> None:
    """`fit`: the ids of the amounts already found fit for the line table. The reader makes
    one Decimal per distinct text and a bill repeats its amounts, so each is checked once (by
    id: a fresh Decimal's hash costs as much as the check; the rows keep every one alive, so
    no id is reused while `fit` is)."""
    fit = set() if fit is None else fit
    start, end = row.period or (None, None)
    unfit = _unfit(row.amount, fit)
    if unfit:  # the line table can't hold it: one error naming the line, the rest is read
        out.errors.append(InputError(file=lines.source, page=row.page, reason=(
            f"line {row.no}: amount {unfit}"), effect="row skipped"))
        inv.unreadable_rows += 1
        return
    quantity, unit_price = row.quantity, row.unit_price
    if quantity is not None or unit_price is not None:
        quantity = _fit_value(out, lines.source, row, "quantity", quantity, fit)
        unit_price = _fit_value(out, lines.source, row, "unit price", unit_price, fit)
    lines.add(inv, row.no, row.service_id, row.description, _charge_type(sec, row, layout),
              row.amount, start, end, quantity, unit_price, row.page, None, sec.name)


def _fit_value(out: ParsedInvoices, src: str, row: Row, what: str, value: Decimal | None,
               fit: set[int]) -> Decimal | None:
    """The value, or None (and an error naming the line) when the line table can't hold it."""
    unfit = _unfit(value, fit)
    if unfit:
        out.errors.append(InputError(file=src, page=row.page, reason=f"line {row.no}: {what} {unfit}",
                                     effect="value ignored"))
        return None
    return value


def _unfit(value: Decimal | None, fit: set[int]) -> str | None:
    """money_ok, remembering the values that fit."""
    if value is None or id(value) in fit:
        return None
    why = money_ok(value)
    if why is None:
        fit.add(id(value))
    return why


def _charge_type(sec: Section, row: Row, layout: Layout) -> ChargeType:
    if row.type_text:
        return charge_type_of(row.type_text, row.description)
    if isinstance(sec.kind, ChargeType):
        return sec.kind
    if row.amount < 0:
        return ChargeType.CREDIT
    kind = charge_type_of("", row.description)
    if sec.kind == BY_LINE and kind is ChargeType.OTHER:
        return layout.by_line_default
    return kind


def _summary_note(f: dict, src: str, number: str, out: ParsedInvoices) -> None:
    """The account summary's own arithmetic, for the person reading the notes."""
    prev, paid, adj = f.get("previous_balance"), f.get("payments"), f.get("adjustments")
    cur, due = f.get("current_charges"), f.get("amount_due")
    if cur is None or due is None or prev is None:
        return
    zero = Decimal(0)
    paid, adj = paid or zero, adj or zero
    if due in (prev + paid + adj + cur, prev - abs(paid) + adj + cur):
        return
    out.notes.append(f"{src}: invoice {number}: account summary does not add up: previous balance "
                     f"{money(prev)}, payments {money(paid)}, adjustments {money(adj)}, current "
                     f"charges {money(cur)}, amount due {money(due)}")
