"""Carrier invoice exports (CSV/TSV/XLSX): rows of charges, one or many invoices per file.

Columns are found by alias (reconcile.parsers.columns) or by a known carrier dialect
(parsers/dialects). An invoice total may come as a column repeated on each row or as a
TOTAL row. Each row that can't be read becomes one `InputError` naming file and row; the
rest of the file is still read. Subtotal rows check the lines above them (parsers/selfcheck.py):
lines that miss one are our misreading, an error naming the row, not a finding.
"""

from __future__ import annotations

import re
import weakref
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import NamedTuple

from reconcile.core.charge_types import charge_type_of
from reconcile.parsers import csv_columns
from reconcile.parsers.dialect import Dialect, all_signature_headers, find_dialect
from reconcile.parsers.invoice_summary import FIELDS as SUMMARY_FIELDS
from reconcile.parsers.invoice_summary import set_summary, summary_label
from reconcile.parsers.line_columns import FileLines
from reconcile.parsers.readers import (ParsedInvoices, ReadOptions, file_digest, register_reader,
                                       source_name)
from reconcile.parsers.selfcheck import Section, check_invoice
from reconcile.parsers.limits import DEFAULT_LIMITS, LimitExceeded, Limits
from reconcile.parsers.tabular import (TEXT_SUFFIXES, WORKBOOK_SUFFIXES, BadRow, TableError,
                                       cell_text, header_scorer, looks_like_text,
                                       looks_like_workbook, open_table, peek)
from reconcile.parsers.columns import (INVOICE_FIELDS, INVOICE_REQUIRED, map_columns,
                               missing_column_reason, norm_header)
from reconcile.core.lines import money_ok
from reconcile.core.row_errors import RowErrors
from reconcile.core.models import ChargeType, InputError, Invoice
from reconcile.core.values import (COMMA, POINT, UNDECIDED, decimal_convention, parse_date,
                                   parse_money, parse_period, parse_yearless_period)

_TOTAL_WORDS = {"total", "invoicetotal", "grandtotal", "totalcharges", "totaldue", "totalamountdue",
                "totalcurrentcharges", "amountdue", "totalinvoice", "invoicetotals"}
_SUBTOTAL = re.compile(r"^sub ?total", re.IGNORECASE)


class _Charge(NamedTuple):
    """A line as a table's self-check reads it (parsers/selfcheck.py)."""

    row: int
    amount: Decimal


def read_text_tables(paths: list[Path], options: ReadOptions) -> list[ParsedInvoices]:
    return read_invoice_tables(paths, options.columns, limits=options.limits)


@register_reader("delimited text", suffixes=TEXT_SUFFIXES, sniff=looks_like_text, broad=True,
                 read_many=read_text_tables)
def read_text_table(path: Path, options: ReadOptions) -> ParsedInvoices:
    return read_invoice_table(path, options.columns, workbook=False, limits=options.limits)


@register_reader("Excel workbook", suffixes=WORKBOOK_SUFFIXES, sniff=looks_like_workbook)
def read_workbook(path: Path, options: ReadOptions) -> ParsedInvoices:
    return read_invoice_table(path, options.columns, workbook=True, limits=options.limits)


def read_invoice_table(path: Path, overrides: dict[str, str] | None = None,
                       workbook: bool | None = None, limits: Limits = DEFAULT_LIMITS,
                       columns: bool = True) -> ParsedInvoices:
    """A carrier export, a workbook or delimited text (as `workbook` says, else as named). A
    file past one of `limits`, or whose rows break off (a damaged sheet), is one error and
    gives no line: its lines read so far are dropped, not audited as if they were all.
    `columns=False`: row by row even where the columnar path would read it (tests compare)."""
    opened = _open_export(path, overrides, workbook, limits)
    if isinstance(opened, ParsedInvoices):
        return opened
    return _read_export(opened, try_columns=columns)


def read_invoice_tables(paths: list[Path], overrides: dict[str, str] | None = None,
                        limits: Limits = DEFAULT_LIMITS) -> list[ParsedInvoices]:
    """read_invoice_table of each delimited text file, the same results; the plain exports
    among them are read as columns together (csv_columns.read_group): a folder of small
    exports costs a few Arrow calls per column, not per file."""
    opened = [_open_export(p, overrides, False, limits) for p in paths]
    # each file's decimal mark is decided by the group, from the rows it reads anyway: a file
    # whose first rows do not say a decimal point is declined and read here (_read_export)
    plain = [o for o in opened if isinstance(o, _Opened)]
    read = csv_columns.read_group([csv_columns.Part(o.path, o.table, o.reader, o.head, limits,
                                                    DECIMAL_SAMPLE_ROWS, o.money_cols)
                                   for o in plain])
    lines_of = {id(o): lines for o, lines in zip(plain, read)}
    return [o if isinstance(o, ParsedInvoices)
            else _read_export(o, lines=lines_of.get(id(o)), try_columns=False) for o in opened]


class _Opened(NamedTuple):
    """An export whose header and columns are found and whose reader is made: what is left
    is reading its rows."""

    path: Path
    table: object
    reader: _RowReader
    head: list  # the first row after the header
    rows: object  # every row after the header, the head first
    money_cols: tuple[int, ...]  # where the amounts that decide the decimal mark are
    notes_before: int
    limits: Limits


def _open_export(path: Path, overrides, workbook, limits) -> _Opened | ParsedInvoices:
    """The export opened (or its error, as a ParsedInvoices)."""
    src = source_name(path)
    out = ParsedInvoices()
    extra = all_signature_headers() | set((overrides or {}).values())
    try:
        out.file_hash = file_digest(path)
        table = open_table(path, header_scorer(INVOICE_FIELDS, extra), workbook=workbook,
                           limits=limits)
    except (TableError, LimitExceeded) as e:
        out.errors.append(InputError(file=src, reason=str(e), effect="file skipped"))
        return out
    except OSError as e:
        out.errors.append(InputError(file=src, reason=f"cannot open ({e.strerror})", effect="file skipped"))
        return out
    notes_before = len(table.notes)
    out.notes.extend(f"{src}: {n}" for n in table.notes)
    dialect = find_dialect(table.headers)
    mapping = dict(dialect.columns) if dialect else {}
    mapping.update(overrides or {})
    if dialect:
        out.notes.append(f"{src}: read as {dialect.name} ({dialect.carrier})")
    cmap = map_columns(table.headers, INVOICE_FIELDS, mapping)
    for name in (dialect.unmapped if dialect else []):
        cmap.positions.pop(name, None)  # the export has no such column: don't guess one
    required = [f for f in INVOICE_REQUIRED if not (dialect and dialect.melt and f == "amount")]
    missing = cmap.missing(tuple(required))
    if "invoice_number" in missing and ("invoice_date" in cmap.positions
                                        or (dialect and dialect.invoice_number_from)):
        missing.remove("invoice_number")  # built from account + bill date below
        if not (dialect and dialect.invoice_number_from):
            out.notes.append(f"{src}: no invoice number column (headers: "
                             f"{', '.join(h for h in table.headers if h)}): each bill is named "
                             f"by its account and bill date")
    if missing:
        for name in missing:
            out.errors.append(InputError(file=src, reason=missing_column_reason(
                cmap, INVOICE_FIELDS, name, "invoice"), effect="file skipped"))
        return out
    if "period_start" in cmap.positions and not {"period_end", "period"} & set(cmap.positions):
        out.notes.append(f"{src}: a period start column ({table.headers[cmap.positions['period_start']]!r}) "
                         f"but no period end: a recurring charge is taken to cover one cycle "
                         f"from its start")
    for header, cols in cmap.duplicates:
        out.errors.append(InputError(
            file=src, row=table.header_row,
            reason=f"columns {[c + 1 for c in cols]} are all named {header!r}; using column {cols[0] + 1}",
            effect="value ignored"))
    melt_cols = []
    normed = {norm_header(h): i for i, h in reversed(list(enumerate(table.headers)))}
    if dialect and dialect.melt:
        melt_cols = [(normed[norm_header(h)], h, t) for h, t in dialect.melt.items()
                     if norm_header(h) in normed]
    skip_cols = [(normed[norm_header(h)], vals) for h, vals in dialect.skip_rows.items()
                 if norm_header(h) in normed] if dialect else []
    money_cols = [cmap.positions[n] for n in _MONEY_FIELDS if n in cmap.positions]
    money_cols += [i for i, _h, _t in melt_cols]
    try:
        head, rows = peek(table.rows, 1)
    except (TableError, LimitExceeded) as e:
        return ParsedInvoices(errors=[InputError(file=src, reason=str(e), effect="file skipped")],
                              notes=out.notes, file_hash=out.file_hash)
    reader = _RowReader(src, cmap.positions, dialect, melt_cols, out, skip_cols, POINT,
                        limits.row_errors)
    return _Opened(path, table, reader, head, rows, tuple(money_cols), notes_before, limits)


def _read_export(opened: _Opened, lines=None, try_columns: bool = True) -> ParsedInvoices:
    """The opened export's rows read: `lines` when its columns were read already, else as
    columns when it is plain (parsers/csv_columns.py, the same lines), else row by row, in
    the decimal mark its first rows show."""
    path, table, reader, head, rows, money_cols, notes_before, limits = opened
    out, src, dialect = reader.out, reader.src, reader.dialect
    try:
        if lines is None:
            head, rows = peek(rows, DECIMAL_SAMPLE_ROWS)
            decimal = decimal_convention((cells[i] for _, cells in head for i in money_cols
                                          if i < len(cells)), table.delimiter)
            if decimal != POINT:
                out.notes.append(f"{src}: {_DECIMAL_NOTE[decimal]}")
                reader = _RowReader(src, reader.pos, dialect, reader.melt_cols, out,
                                    reader.skip_cols, decimal, limits.row_errors)
            elif try_columns:
                lines = csv_columns.read_columns(path, table, reader, head, limits)
        if lines is None:
            reader.read(rows, typed=not table.delimiter)  # delimited text: every cell is text
            reader.errors.close()
            lines = reader.lines.done()
    except (TableError, LimitExceeded) as e:
        return ParsedInvoices(errors=[InputError(file=src, reason=str(e), effect="file skipped")],
                              notes=out.notes, file_hash=out.file_hash)
    out.notes.extend(f"{src}: {n}" for n in table.notes[notes_before:])  # found while reading
    if reader.skipped_rows:
        out.notes.append(f"{src}: skipped {reader.skipped_rows} row(s) the {dialect.name} dialect "
                         f"marks as not charges (skip_rows)")
    if reader.skipped_zero:
        out.notes.append(f"{src}: skipped {reader.skipped_zero} row(s) of 0.00 (zero-rated detail "
                         f"such as usage within the plan: skip_zero)")
    out.lines = lines
    if not out.lines and not out.invoices and not any(e.row for e in out.errors):
        out.errors.append(InputError(file=src, reason="no charge rows after the header",
                                     effect="file skipped"))
    return out


class _Memo(dict):
    """`fn(key)` worked out once per distinct key: a batch has a million rows but few distinct
    amounts, dates, periods, descriptions and charge types. Past `limit` keys (a column of
    all-distinct values) the rest are worked out each time, not kept."""

    def __init__(self, fn, limit: int = 1 << 17):
        super().__init__()
        self.fn, self.limit = fn, limit

    def __missing__(self, key):
        value = self.fn(key)
        if len(self) < self.limit:
            self[key] = value
        return value


# What a cell's text means, for the pure readings (money in a decimal convention, dates,
# labels): kept across the files of a batch, whose small files repeat the same amounts, dates
# and labels, each file otherwise working them out again. Bounded: past SHARED_KEYS texts,
# the rest are worked out each time.
SHARED_KEYS = 1 << 15
_SHARED_MEMOS: dict[object, _Memo] = {}


def _shared(name, fn) -> _Memo:
    memo = _SHARED_MEMOS.get(name)
    if memo is None:
        memo = _SHARED_MEMOS[name] = _Memo(fn, SHARED_KEYS)
    return memo


def _key(raw):
    # workbook cells come typed: 1, 1.0 and True are one dict key but not one value
    return raw if type(raw) is str else (type(raw), raw)


def _money_of(key, decimal: str = POINT) -> tuple:
    """(value, why it can't be read, why the line table can't hold it)."""
    raw = key if type(key) is str else key[1]
    try:
        value = parse_money(raw, decimal)
    except ValueError as e:
        return None, str(e), None
    return value, None, (money_ok(value) if value is not None else None)


def _date_of(key) -> tuple:
    try:
        return parse_date(key if type(key) is str else key[1]), None
    except ValueError as e:
        return None, str(e)


def _label_kind(text: str) -> int:
    """1: a TOTAL word, 2: a subtotal label, 4: an account summary label, 0: none."""
    return ((norm_header(text) in _TOTAL_WORDS) | (2 if text and _SUBTOTAL.match(text) else 0)
            | (4 if summary_label(text) else 0))


_MONEY_FIELDS = ("amount", "invoice_total", "quantity", "unit_price")
DECIMAL_SAMPLE_ROWS = 2000  # rows whose amounts decide the file's decimal mark
_DECIMAL_NOTE = {
    COMMA: "amounts are written with a decimal comma (1.234,50 is 1234.50), as its values show",
    UNDECIDED: "its amounts do not show whether ',' or '.' is the decimal mark (a semicolon-"
               "delimited export may use either): an amount such as 1.234 or 1,234 is reported, "
               "not guessed",
}
_LABELS = ("account", "invoice_number", "service_id", "description", "charge_type")
_FIELD_NAMES = tuple(INVOICE_FIELDS)


class _RowReader:
    """The row loop. Work that depends on a cell's text alone (money, dates, periods, charge
    types, TOTAL and subtotal labels) is done once per distinct text (`_Memo`)."""

    def __init__(self, src, pos, dialect: Dialect | None, melt_cols, out: ParsedInvoices,
                 skip_cols=(), decimal: str = POINT, row_errors: int = DEFAULT_LIMITS.row_errors):
        self.src, self.pos, self.dialect, self.melt_cols, self.out = src, pos, dialect, melt_cols, out
        self.errors = RowErrors(src, row_errors, out.errors)  # `close` once the rows are read
        self.decimal = decimal  # the file's decimal mark (decimal_convention)
        self.lines = FileLines(src, out.file_hash)  # the file's lines, column by column
        self.skip_cols = list(skip_cols)  # (position, normed values): rows that aren't charges
        self.skipped_rows = self.skipped_zero = 0
        self.zero_seen: set[tuple[int, str]] = set()
        self.invoices: dict[tuple[str, str], Invoice] = {}
        # the self-check of invoices that print subtotal rows: a table's section is the run of
        # rows its subtotal closes, so one Section per invoice holds them all
        self.sections: dict[int, Section] = {}  # id(invoice) ->
        self.last: Invoice | None = None
        self.intern: dict[str, str] = {}
        self.carrier = dialect.carrier if dialect else ""
        # a row's cells are padded to `width`, then one "" more: a field the file lacks is at -1
        self.width = 1 + max([*pos.values(), *(i for i, _h, _t in melt_cols),
                              *(i for i, _v in self.skip_cols)], default=-1)
        self.at = {name: pos.get(name, -1) for name in (*_FIELD_NAMES, *pos)}
        self._money = _shared(("money", decimal), partial(_money_of, decimal=decimal))
        self._dates = _shared("dates", _date_of)
        self._labels = _shared("labels", _label_kind)
        # through a weak reference: a memo holding the reader itself made a reference cycle,
        # which kept each file's lines (a 250,000-line file: 30 MiB) until the cyclic
        # collector ran, and the audit pauses it (reconcile/audit.py)
        me = weakref.proxy(self)
        self._types = _Memo(lambda k: me.charge_type(*k))
        self._periods = _Memo(lambda k: me._period_of(k))
        self._spans = _Memo(lambda k: me._span_of(k))
        self._summary = _shared("summary", summary_label)
        # account summary columns repeated on every row of an invoice
        self.summary_cols = [(name, pos[name]) for name in SUMMARY_FIELDS
                             if name in pos and name != "due_date"]
        self.summary_seen: tuple = (None, None)  # the last invoice's summary cells, read

    def s(self, text: str) -> str:
        # the same account/description repeats on thousands of rows: keep one copy
        return self.intern.setdefault(text, text)

    def read(self, rows, typed: bool = True) -> None:
        """Every row; `typed`: cells may be numbers and dates (a workbook), not only text."""
        width, labels = self.width, self._labels
        at = self.at
        i_acct, i_num, i_sid, i_desc, i_type = (at[n] for n in _LABELS)
        strip = str.strip
        out = self.out
        for row_no, cells in rows:
            if cells.__class__ is BadRow:
                out.rows_read += 1
                self.error(row_no, cells.reason)
                continue
            if typed:
                texts = [c.strip() if c.__class__ is str else cell_text(c) for c in cells]
            else:
                texts = list(map(strip, cells))
            if not any(texts):
                continue
            out.rows_read += 1
            if len(texts) < width:
                texts.extend([""] * (width - len(texts)))
            texts.append("")
            try:
                if labels[texts[i_acct]] | labels[texts[i_num]] | labels[texts[i_sid]] \
                        | labels[texts[i_desc]] | labels[texts[i_type]] or self.skip_cols:
                    if self.special(row_no, cells, texts):
                        continue
                self.row(row_no, cells, texts)
            except ValueError as e:
                self.error(row_no, str(e))
        for inv in self.invoices.values():
            if id(inv) in self.sections:
                self.check(inv)
        self.out.invoices.extend(self.invoices.values())

    def section(self, inv: Invoice) -> Section:
        """The invoice's section, caught up with its lines read since (built only for invoices
        that print subtotals: no cost per line for the others)."""
        sec = self.sections.get(id(inv))
        if sec is None:
            sec = self.sections[id(inv)] = Section("")
        for i in inv.line_ids[len(sec.rows):]:
            sec.add(_Charge(self.lines.row(i), self.lines.amount(i)))
        return sec

    def check(self, inv: Invoice) -> None:
        """The invoice's lines against the figures it printed; a gap no subtotal explains is
        left to invoice-total-mismatch (every row was read or reported)."""
        verdict = check_invoice([self.section(inv)], inv.stated_total, inv.total_where,
                                rows_may_go_unseen=False)
        inv.self_check_failed = verdict.failed
        if verdict.note:
            self.out.notes.append(f"{self.src}: invoice {inv.invoice_number}: {verdict.note}")

    def error(self, row_no: int, reason: str, effect: str = "row skipped") -> None:
        self.errors.add(row_no, reason, effect)
        if effect == "row skipped" and self.last is not None:
            self.last.unreadable_rows += 1

    def g(self, texts: list[str], name: str) -> str:
        """The row's text for a field, "" when it has none."""
        return texts[self.at[name]]

    def raw(self, cells: list, name: str):
        i = self.pos.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    def money(self, raw) -> Decimal | None:
        value, error, _unfit = self._money[raw if raw.__class__ is str else _key(raw)]
        if error:
            raise ValueError(error)
        return value

    def line_money(self, raw, what: str) -> Decimal | None:
        """Money that goes into the line table: also refused when the table can't hold it."""
        value, error, unfit = self._money[raw if raw.__class__ is str else _key(raw)]
        if error:
            raise ValueError(error)
        if unfit:
            raise ValueError(f"{what} {unfit}")
        return value

    def date(self, raw):
        value, error = self._dates[raw if raw.__class__ is str else _key(raw)]
        if error:
            raise ValueError(error)
        return value

    def special(self, row_no: int, cells: list, texts: list[str]) -> bool:
        """A row that is not a charge: skipped (skip_rows), a TOTAL row or a subtotal row.
        True when it was one (and has been dealt with)."""
        if any(norm_header(texts[i]) in vals for i, vals in self.skip_cols):
            self.skipped_rows += 1
            self.out.summary_rows.append(row_no)
            return True
        labels = [self.g(texts, n) for n in _LABELS]
        summary = self.summary_field(texts, labels)
        if summary:
            self.summary_row(row_no, cells, texts, summary)
            self.out.summary_rows.append(row_no)
            return True
        if any(self._labels[x] & 1 for x in labels) and not self._is_service(self.g(texts, "service_id")):
            self.total_row(row_no, cells, texts)
            self.out.summary_rows.append(row_no)
            return True
        subtotal = next((x for x in labels if self._labels[x] & 2), "")
        sid = self.g(texts, "service_id")
        if subtotal and sid and not self._labels[sid] and self.g(texts, "amount"):
            return False  # "Subtotal fee" billed to a service: a charge, not a summary
        if subtotal:
            self.subtotal_row(row_no, cells, texts, subtotal)
            self.out.summary_rows.append(row_no)
            return True
        return False

    def row(self, row_no: int, cells: list, texts: list[str]) -> None:
        """One charge row (special rows are dealt with before)."""
        at = self.at
        account = texts[at["account"]]
        if not account:
            raise ValueError("account is blank")
        i = at["invoice_date"]
        invoice_date = self.date(cells[i]) if texts[i] else None
        number = texts[at["invoice_number"]] or self._built_number(account, invoice_date, texts)
        if not number:
            raise ValueError("invoice number is blank")
        inv = self.invoices.get((account, number))
        if inv is None:
            inv = self.invoice(account, number, invoice_date, texts)
        if inv.invoice_date is None and invoice_date is not None:
            inv.invoice_date = invoice_date
        self.last = inv
        i = at["invoice_total"]
        if texts[i]:
            total = self.money(cells[i])
            if inv.stated_total is not None and total != inv.stated_total:
                self.error(row_no, f"invoice total {total} differs from {inv.stated_total} on earlier "
                                   f"rows of invoice {number}", effect="value ignored")
            elif total is not None:
                inv.stated_total, inv.total_where = total, f"column on row {row_no}"
        if self.summary_cols:
            self.summary_columns(row_no, cells, texts, inv)
        if self.melt_cols:
            self.melt_row(row_no, cells, texts, inv)
            return
        i = at["amount"]
        if not texts[i]:
            raise ValueError("amount is blank")
        amount = self.line_money(cells[i], "amount")
        if amount is None:
            raise ValueError(f"amount {texts[i]!r} is not an amount")
        if self.dialect and self.dialect.skip_zero and amount == 0:
            self.skipped_zero += 1
            self.out.summary_rows.append(row_no)
            self.zero_rated(inv, texts[at["service_id"]])  # not a line, but the number is on the bill
            return
        description = texts[at["description"]]
        ctype = self._types[(texts[at["charge_type"]], description)]
        start, end = self.period(row_no, cells, texts, inv.invoice_date)
        qty = unit = None
        try:
            i = at["quantity"]
            qty = self.line_money(cells[i], "quantity") if texts[i] else None
            i = at["unit_price"]
            unit = self.line_money(cells[i], "unit price") if texts[i] else None
        except ValueError as e:
            self.error(row_no, f"quantity/rate: {e}", effect="value ignored")
        self.lines.add(inv, row_no, texts[at["service_id"]], description, ctype, amount, start, end,
                       qty, unit)

    def melt_row(self, row_no, cells, texts, inv) -> None:
        start, end = self.period(row_no, cells, texts, inv.invoice_date)
        row_desc = self.g(texts, "description")
        service_id = self.g(texts, "service_id")
        before = len(inv.line_ids)
        for i, header, ctype in self.melt_cols:
            text = texts[i]
            if not text:
                continue
            amount = self.line_money(cells[i] if not isinstance(cells[i], str) else text, header)
            if amount is None or amount == 0:
                continue
            if ctype is None:  # melt type "row": typed like an unmelted row, named by it
                description = row_desc or header
                ctype = self._types[(self.g(texts, "charge_type"), description)]
            else:
                description = f"{row_desc} ({header})" if row_desc else header
            # one row, several lines: keyed by column too
            self.lines.add(inv, row_no, service_id, description, ctype, amount, start, end,
                           part=i + 1)
        if len(inv.line_ids) == before:  # every charge of the row is 0.00
            self.out.summary_rows.append(row_no)
            self.zero_rated(inv, service_id)

    def zero_rated(self, inv: Invoice, service_id: str) -> None:
        """A number on the bill at 0.00 (a skipped row): kept on the invoice, once."""
        if service_id and (id(inv), service_id) not in self.zero_seen:
            self.zero_seen.add((id(inv), service_id))
            inv.zero_rated_ids.append(service_id)

    def charge_type(self, type_text: str, description: str) -> ChargeType:
        if self.dialect:
            t = self.dialect.charge_type(type_text) if type_text else None
            if t is not None:
                return t
            if self.dialect.default_charge_type and not type_text:
                return self.dialect.default_charge_type
        return charge_type_of(type_text, description)

    def period(self, row_no, cells, texts, bill=None):
        at = self.at
        text = texts[at["period"]]
        if text:
            yearless = self.dialect is not None and self.dialect.period_without_year
            start, end, error = self._periods[(text, bill if yearless else None)]
        else:
            i, j = at["period_start"], at["period_end"]
            start, end, error = self._spans[(_key(cells[i]) if texts[i] else None,
                                             _key(cells[j]) if texts[j] else None)]
        if error:
            self.error(row_no, error, effect="value ignored")
        return start, end

    def _period_of(self, key) -> tuple:
        """(start, end, error) of a period written in one cell."""
        text, bill = key
        try:
            if self.dialect and self.dialect.period_without_year:
                got = parse_yearless_period(text, bill)
                if got:
                    return (*got, None)
            got = parse_period(text)
        except ValueError as e:
            return None, None, f"service period: {e}"
        return (*got, None) if got else (None, None, None)

    def _span_of(self, key) -> tuple:
        """(start, end, error) of a period in two cells (their _key, None when blank)."""
        try:
            start, end = (None if k is None else parse_date(k if type(k) is str else k[1])
                          for k in key)
        except ValueError as e:
            return None, None, f"service period: {e}"
        if start and end and end < start:
            return None, None, f"service period ends ({end}) before it starts ({start})"
        return start, end, None

    def invoice(self, account, number, invoice_date, texts) -> Invoice:
        g = partial(self.g, texts)
        key = (account, number)
        inv = self.invoices.get(key)
        if inv is None:
            due = None
            try:
                due = parse_date(g("due_date")) if g("due_date") else None
            except ValueError:
                pass
            inv = Invoice(carrier=g("carrier") or self.carrier, account=self.s(account),
                          invoice_number=self.s(number), invoice_date=invoice_date, due_date=due,
                          source=self.src, level=self.dialect.level if self.dialect else "detail")
            self.invoices[key] = inv
        return inv

    def _built_number(self, account, invoice_date, texts) -> str:
        g = partial(self.g, texts)
        fields = (self.dialect.invoice_number_from if self.dialect else None) or ["account",
                                                                                  "invoice_date"]
        parts = []
        for name in fields:
            if name == "invoice_date":
                if invoice_date is None:
                    return ""
                parts.append(f"{invoice_date:%Y%m%d}")
            else:
                value = account if name == "account" else g(name)
                if not value:
                    return ""
                parts.append(value)
        return "-".join(parts)

    @staticmethod
    def _is_service(sid: str) -> bool:
        return bool(sid) and norm_header(sid) not in _TOTAL_WORDS

    def subtotal_row(self, row_no, cells, texts, label: str) -> None:
        """A printed subtotal: the invoice's lines since its last subtotal (or all of them, a
        running subtotal) must make it, else a line was misread: an error naming the row, and
        the invoice's total is not a finding."""
        g = partial(self.g, texts)
        number = g("invoice_number")
        inv = self.invoices.get((g("account"), number)) if number else None
        inv = inv or self.last
        sec = self.section(inv) if inv else None
        if sec is None or sec.group_start == len(sec.rows):
            self.out.notes.append(f"{self.src}: row {row_no}: {label!r} has no charge rows above it "
                                  f"to check")
            return
        try:
            printed = parse_money(self.raw(cells, "amount"), self.decimal) if g("amount") else None
        except ValueError as e:
            self.error(row_no, f"subtotal: {e}", effect="value ignored")
            return
        if printed is None:
            self.out.notes.append(f"{self.src}: row {row_no}: {label!r} has no amount to check")
            return
        sec.name = label  # the rows it closes are the section it names
        reason = sec.subtotal(printed, row=row_no)
        if reason:
            self.error(row_no, reason, effect="self-check failed")

    def row_invoice(self, cells, texts) -> Invoice | None:
        """The invoice a TOTAL or summary row is about: the one it names (a row above its
        invoice's lines opens it), else the last one read."""
        g = partial(self.g, texts)
        inv = None
        if g("invoice_number") and not self._labels[g("invoice_number")]:
            inv = self.invoices.get((g("account"), g("invoice_number")))
            if inv is None:
                inv = next((v for (a, n), v in self.invoices.items() if n == g("invoice_number")), None)
            account = g("account")
            if inv is None and account and not self._labels[account]:
                # a summary row above its invoice's lines: it opens that invoice, not the last one
                bill = parse_date(self.raw(cells, "invoice_date")) if g("invoice_date") else None
                inv = self.last = self.invoice(account, g("invoice_number"), bill, texts)
        return inv or self.last

    def total_row(self, row_no, cells, texts) -> None:
        g = partial(self.g, texts)
        amount = parse_money(self.raw(cells, "amount"), self.decimal) if g("amount") else None
        if amount is None and g("invoice_total"):
            amount = parse_money(self.raw(cells, "invoice_total"), self.decimal)
        if amount is None:
            raise ValueError("TOTAL row has no amount")
        inv = self.row_invoice(cells, texts)
        if inv is None:
            raise ValueError("TOTAL row comes before any invoice line")
        inv.stated_total, inv.total_where = amount, f"TOTAL row {row_no}"

    def summary_field(self, texts, labels: list[str]) -> str | None:
        """The account summary field a row is labelled with (None: not a summary row). Not
        a row billed to a service; an 'Adjustments' row typed as a charge (a credit) is one."""
        sid = self.g(texts, "service_id")
        if sid and not self._summary[sid] and self._is_service(sid):
            return None
        desc = self.g(texts, "description")
        name = self._summary[desc] or next((f for x in labels if (f := self._summary[x])), None)
        ctype = self.g(texts, "charge_type")
        if name == "adjustments" and ctype and not self._summary[ctype]:
            return None
        return name

    def summary_row(self, row_no, cells, texts, name: str) -> None:
        """A summary row: its value, in the amount column, goes to its invoice; never a line.
        A value that cannot be read is reported and ignored, the row is not unreadable."""
        inv = self.row_invoice(cells, texts)
        label = next(x for x in (self.g(texts, n) for n in ("description", *_LABELS))
                     if self._summary[x] == name)
        if inv is None:
            self.error(row_no, f"{label!r} comes before any invoice line", effect="value ignored")
            return
        raw = self.raw(cells, "amount" if self.g(texts, "amount") else "invoice_total")
        self.summary(row_no, inv, name, raw, f"{label!r} row {row_no}")

    def summary_columns(self, row_no, cells, texts, inv: Invoice) -> None:
        """The summary columns of a row: read when they differ from the row before's (they
        repeat on every row of an invoice)."""
        values = [texts[i] for _, i in self.summary_cols]
        if inv is self.summary_seen[0] and values == self.summary_seen[1]:
            return
        self.summary_seen = (inv, values)
        for name, i in self.summary_cols:
            if texts[i]:
                self.summary(row_no, inv, name, cells[i], f"column on row {row_no}")

    def summary(self, row_no, inv: Invoice, name: str, raw, where: str) -> None:
        try:  # once per distinct value: a summary column repeats on every row
            value = self.date(raw) if name == "due_date" else self.money(raw)
        except ValueError as e:
            self.error(row_no, f"{name.replace('_', ' ')}: {e}", effect="value ignored")
            return
        reason = set_summary(inv, name, value, where)
        if reason:
            self.error(row_no, reason, effect="value ignored")
