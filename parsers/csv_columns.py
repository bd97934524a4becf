"""Plain CSV exports read as columns: the row loop's lines, bills and errors without its Python
per row.

    lines = read_columns(path, table, reader)   # a Lines, or None: the row loop reads the file

A portal export is one kind of row a million times over. pyarrow reads the file into text
columns; each column is dictionary-encoded, and everything that depends on a cell's text
(blank or not, TOTAL and subtotal labels, money, dates, periods, charge types) is worked out
once per distinct text with the row loop's own memos (`reader._money`, `_dates`, `_labels`,
`_types`, `_periods`, `_spans`), so a value reads the same both ways. What depends on the
order of rows (which bill a TOTAL row closes, the bill a row opens) runs in Python over the
few rows that open a bill or print a total, not over every row.

Exactly the row loop's result, or nothing: it declines (returns None, having consumed
nothing) whatever it cannot read exactly as the row loop would, and the row loop reads it:
- quoting that is not plain: a quote inside a value, a quoted value over two lines, a row
  whose cell count is not the header's; a lone CR line end, a NUL byte, text that is not
  valid UTF-8 once decoded (the row loop would replace the bytes);
- money cells that are not plain: `-12.00`, `1234.5`, `$1,234.50`, `(12.00)`, `12.00CR` read
  here; anything else (`1.234,50`, `1,234`, `N/A`, `12 USD`) declines the file;
- any row the row loop would skip with an error (blank account or amount, a bad date or
  amount, a TOTAL row without an amount or a bill), subtotal rows (their self-check), account
  summary rows and columns (previous balance, payments, amount due), a charge
  row without a bill date in a file with that column, invoice numbers built from other
  columns, a file with both TOTAL rows and an invoice-total column;
- dialects that melt, skip rows, skip zero rows or read periods without a year.
Errors that only set a value aside (a period, quantity or rate that cannot be read, an invoice
total that differs on a later row) are reported as the row loop reports them.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reconcile.core.codes import first_seen, groups
from reconcile.core.lines import LINE_SCHEMA, MONEY, Lines
from reconcile.core.models import ChargeType, InputError, Invoice
from reconcile.core.values import COMMA, POINT, decimal_mark_of, parse_date

_TEXT = LINE_SCHEMA.field("account").type
# the money this path reads: one number, a dot for decimals, thousands commas only before them
_PLAIN_MONEY = re.compile(r"\(?-?\$?-?(?:\d+(?:\.\d+)?|\d{1,3}(?:,\d{3})+\.\d+)\)?(?:CR)?")
_DECIMAL = r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$"
_LABELS = ("account", "invoice_number", "service_id", "description", "charge_type")
_MARK_CODE = {None: 0, POINT: 1, COMMA: 2}


# every label the row loop knows holds one of these once normalised (parsers/columns.py
# norm_header): TOTAL words, subtotals, account summary labels (parsers/invoice_summary.py)
_LABEL_WORDS = "total|due|balance|payment|adjustment|charges"
ARROW_MIN_TEXTS = 512  # fewer distinct texts are looked at one by one


def label_kinds(texts: list[str], kind_of: Callable[[str], int]) -> np.ndarray:
    """`kind_of(text)` for each text (0: no label), asked only of the texts that may be one:
    an ASCII text whose normalised form holds none of _LABEL_WORDS is none (a description
    column has thousands of distinct texts and hardly a label)."""
    out = np.zeros(len(texts), np.int32)
    if len(texts) < ARROW_MIN_TEXTS:  # a small file's: asking each is quicker than Arrow's calls
        out[:] = [kind_of(t) for t in texts]
        return out
    values = pa.array(texts, pa.string())
    folded = pc.replace_substring_regex(pc.utf8_lower(values), "[^0-9a-z]", "")
    maybe = pc.or_(pc.invert(pc.string_is_ascii(values)),
                   pc.match_substring_regex(folded, _LABEL_WORDS))
    for i in np.flatnonzero(maybe.to_numpy(zero_copy_only=False)).tolist():
        out[i] = kind_of(texts[i])
    return out


class _Decline(Exception):
    """The file is not one this path reads exactly; the row loop reads it. `files`: in a
    group, the files that hold what declines it (each would be declined alone for it), when
    known: the others are read together again without them."""

    def __init__(self, reason: str, files=None):
        super().__init__(reason)
        self.files = None if files is None else np.unique(files).tolist()


def read_columns(path: Path, table, reader, head: list, limits) -> Lines | None:
    """The file's lines as the row loop (`reader`, a fresh invoice_csv._RowReader) would give
    them, its bills and errors added to `reader.out`; None when declined (see the module's
    docstring). `table` is the delimited text table open_table found the header of, `head`
    its first rows (read already: the first says where the data starts), `limits` the file
    limits the row loop would stop at (parsers/limits.py: a file near one is declined)."""
    return read_group([Part(path, table, reader, head, limits)])[0]


class Part(NamedTuple):
    """One file for read_group: read_columns' arguments."""

    path: Path
    table: object
    reader: object
    head: list
    limits: object
    # > 0: the file's decimal mark is not decided yet; the group reads it as a point if the
    # amounts (in columns `money_cols`) of its first `decimal_rows` rows say so, as
    # invoice_csv's decimal_convention would, else declines the file
    decimal_rows: int = 0
    money_cols: tuple[int, ...] = ()


GROUP_MAX_BYTES = 1 << 20  # a file this big is read alone: its fixed cost is small beside it


def read_group(parts: list[Part]) -> list[Lines | None]:
    """read_columns of each file, files with the same header, delimiter and dialect read as one
    Arrow table: a batch of small exports costs a few Arrow calls per column, not per file.
    A group one of whose files would be declined is read again in halves, down to the files
    declined alone; a big file is read alone (its fixed cost is small beside it)."""
    out: list[Lines | None] = [None] * len(parts)
    groups: dict[object, list[tuple[int, _Text]]] = {}
    for k, part in enumerate(parts):
        if not (part.table.delimiter and _dialect_fits(part.reader) and part.head):
            continue
        try:
            text = _Text.of(part)
        except _Decline:
            continue
        key = _group_key(part) if len(text.data) < GROUP_MAX_BYTES else k
        groups.setdefault(key, []).append((k, text))
    for members in groups.values():
        got = _read_halves([parts[k] for k, _ in members], [t for _, t in members])
        for (k, _), lines in zip(members, got):
            out[k] = lines
    return out


def _read_halves(parts: list[Part], texts: list[_Text]) -> list[Lines | None]:
    """The files read together. Declined for what some files hold: the others together
    again; declined otherwise: each half, down to the files declined alone (one broken file
    in 256 costs about one more reading of them, not 256 alone)."""
    try:
        return _read(parts, texts)
    except _Decline as e:
        at_fault = e.files
    if len(parts) == 1:
        return [None]
    if at_fault:  # each would be declined alone for what it holds
        keep = [k for k in range(len(parts)) if k not in set(at_fault)]
        out: list[Lines | None] = [None] * len(parts)
        got = _read_halves([parts[k] for k in keep], [texts[k] for k in keep]) if keep else []
        for k, lines in zip(keep, got):
            out[k] = lines
        return out
    half = len(parts) // 2
    return _read_halves(parts[:half], texts[:half]) + _read_halves(parts[half:], texts[half:])


def _read(parts: list[Part], texts: list[_Text]) -> list[Lines]:
    """The files read as one (or _Decline)."""
    try:
        return _Reading(parts, texts).read()
    except pa.ArrowException as e:  # a row pyarrow cannot split as the csv module would
        raise _Decline(str(e)) from None


def _group_key(part: Part) -> tuple:
    """Files read as one must read each cell alike: the same columns, fields and dialect (the
    readers' memos then give the same value for the same text)."""
    r = part.reader
    return (tuple(part.table.headers), part.table.delimiter,
            r.dialect.name if r.dialect else None, tuple(r.at.items()))


def _dialect_fits(reader) -> bool:
    d = reader.dialect
    if reader.melt_cols or reader.skip_cols or "invoice_number" not in reader.pos:
        return False
    if getattr(reader, "summary_cols", None):  # account summary columns on every row
        return False
    return d is None or not (d.melt or d.skip_zero or d.skip_rows or d.period_without_year)


class _Col:
    """A column: each row's code into the distinct cell texts as read (`raw`), and the same
    cells stripped (`text`, `tcodes`), as the row loop reads them."""

    def __init__(self, raw: list[str], codes: np.ndarray, dictionary: pa.Array | None = None):
        self.raw, self.codes, self.dictionary = raw, codes, dictionary
        text = [v.strip() for v in raw]
        if text == raw:  # nothing to strip (the usual): the distinct texts stay distinct
            self.text, self.tcodes = raw, codes
        else:
            stripped: dict[str, int] = {}
            smap = np.fromiter((stripped.setdefault(v, len(stripped)) for v in text),
                               np.int32, len(text))
            self.text = list(stripped)
            self.tcodes = smap[codes] if len(raw) else codes
        self.blank_text = np.array([not t for t in self.text], np.bool_)

    @classmethod
    def empty(cls, n: int) -> _Col:
        """A field the file has no column for: "" on every row."""
        return cls([""], np.zeros(n, np.int32))

    def blank(self) -> np.ndarray:
        return self.blank_text[self.tcodes]

    def at(self, i: int) -> str:
        return self.text[self.tcodes[i]]

    def raw_at(self, i: int) -> str:
        return self.raw[self.codes[i]]

    def decimals(self) -> tuple[np.ndarray, pa.Array | None]:
        """Which distinct cells are a plain decimal (`-?digits(.digits)?`, at most 15 digits
        before the point and 6 after: parse_money reads them as Decimal(text) and the line
        table holds them), and those as decimal128, cast by Arrow: no Decimal per value."""
        if self.dictionary is None:
            return np.zeros(len(self.raw), np.bool_), None
        strict = pc.match_substring_regex(self.dictionary, _DECIMAL)
        return (strict.to_numpy(zero_copy_only=False),
                pc.cast(pc.if_else(strict, self.dictionary, None), MONEY))


class _Text(NamedTuple):
    """A file's text as the group reads it: UTF-8 `data` whose rows start at `start`, and the
    file row number of each row pyarrow will read there (the lines with anything in them)."""

    data: bytes
    start: int
    rows: np.ndarray

    @classmethod
    def of(cls, part: Part) -> _Text:
        """The file's text, checked line by line as the csv module would read it (or _Decline)."""
        data = _utf8(part.path, part.table.encoding)
        buf = np.frombuffer(data, np.uint8)
        breaks = np.flatnonzero(buf == 10)
        crs = np.count_nonzero(buf == 13)
        if crs and crs != np.count_nonzero(buf[breaks[breaks > 0] - 1] == 13):
            raise _Decline("a line ends with a lone CR")
        quotes = np.flatnonzero(buf == 34)
        if len(quotes):
            per_line = np.bincount(np.searchsorted(breaks, quotes), minlength=len(breaks) + 1)
            if np.any(per_line & 1):
                raise _Decline("a quoted value over lines, or an unbalanced quote")
            d = re.escape(part.table.delimiter.encode())
            if re.search(rb'[^' + d + rb'\r\n"]"[^' + d + rb'\r\n"]', data):
                raise _Decline("a quote inside a value")
        starts = np.concatenate(([0], breaks + 1))
        ends = np.concatenate((breaks, [len(buf)]))
        if starts[-1] == len(buf):  # the file ends with a line break
            starts, ends = starts[:-1], ends[:-1]
        limits = part.limits
        lengths = ends - starts
        if (len(part.table.headers) > limits.columns
                or int(lengths.max(initial=0)) > limits.field_size
                or np.count_nonzero(lengths > 1) >= limits.rows):
            raise _Decline("near a file limit: the row loop says which")
        first = part.head[0][0] - 1  # 0-based line of the first data row
        if first >= len(starts):
            raise _Decline("no data rows")
        length = ends[first:] - starts[first:]
        cr_end = (length > 0) & (buf[np.maximum(ends[first:] - 1, 0)] == 13)
        filled = (length - cr_end) > 0  # pyarrow skips empty lines; the row loop reads nothing there
        rows = (np.flatnonzero(filled) + first + 1).astype(np.int32)
        return cls(data, int(starts[first]), rows)


def _utf8(path: Path, encoding: str) -> bytes:
    """The file as UTF-8 bytes, lines as the csv module sees them (or _Decline)."""
    data = path.read_bytes()
    if encoding == "utf-16":
        raise _Decline("UTF-16: its lines are split by the decoder")
    if encoding == "utf-8-sig":
        data = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    elif encoding != "utf-8":
        data = data.decode(encoding, errors="replace").encode("utf-8")
    if b"\x00" in data:
        raise _Decline("NUL byte")
    return data


class _Reading:
    """The files of one group (one file, or several with one header, delimiter and dialect)
    read as one table: each row knows its file (`file`), and bills, TOTAL rows, errors and
    line keys stay within their file, as the row loop reads each file alone."""

    def __init__(self, parts: list[Part], texts: list[_Text]):
        self.parts, self.texts = parts, texts
        self.r = parts[0].reader  # its memos read every file of the group alike (_group_key)
        self.table = parts[0].table

    # --- the files as text columns ------------------------------------------------------------

    def read(self) -> list[Lines]:
        rows, columns = self._columns()
        n = len(rows)
        r = self.r
        self.file = np.repeat(np.arange(len(self.texts), dtype=np.int32),
                              [len(t.rows) for t in self.texts])
        self.rows = rows
        if self.parts[0].decimal_rows:
            self._points(columns)
        f = {name: (columns[i] if (i := r.at.get(name, -1)) >= 0 else _Col.empty(n))
             for name in r.at}
        blank = np.logical_and.reduce([c.blank() for c in columns]) if columns else np.ones(n, bool)
        labels = np.zeros(n, np.int32)
        for name in _LABELS:
            c = f[name]
            labels |= self._label_kinds(c)[c.tcodes]
        sid = f["service_id"]
        sid_kind = self._label_kinds(sid)[sid.tcodes]
        total = ~blank & ((labels & 1) != 0) & (sid.blank() | ((sid_kind & 1) != 0))
        charge = ~blank & ~total
        self._decline_rows(charge & ((labels & 2) != 0),
                           "subtotal rows")  # their self-check reads the lines above them
        # a summary label (an 'Adjustment' type) on a row billed to a service is a charge
        billed_to_service = ~sid.blank() & ((sid_kind & 5) == 0)
        self._decline_rows(~blank & ((labels & 4) != 0) & ~billed_to_service,
                           "account summary rows")  # previous balance, payments, amount due
        for name in ("amount", "invoice_total", "quantity", "unit_price"):
            col = f[name]
            plain = [not t or bool(_PLAIN_MONEY.fullmatch(t)) for t in col.text]
            if not all(plain):
                self._decline_rows(~np.array(plain, np.bool_)[col.tcodes],
                                   f"{name}: money that is not plain")
        self.f = f
        files = len(self.texts)
        # rows the row loop counts as read, per file
        self.nonblank = np.bincount(self.file[~blank], minlength=files)
        ci = np.flatnonzero(charge)
        ti = np.flatnonzero(total)
        charges = np.bincount(self.file[ci], minlength=files)
        if np.any(charges == 0):  # the row loop says what there is
            raise _Decline("no charge rows", np.flatnonzero(charges == 0))
        return self._lines(ci, ti)

    def _decline_rows(self, rows: np.ndarray, reason: str) -> None:
        """_Decline naming the files of these rows, if there are any."""
        if np.any(rows):
            raise _Decline(reason, self.file[rows])

    def _points(self, columns: list[_Col]) -> None:
        """Every file's first rows show a decimal point (decimal_convention: more amounts
        written with a point than with a comma, and in a semicolon file at least one), else
        _Decline: the file is read alone, its decimal mark decided row by row."""
        files = len(self.parts)
        votes = np.zeros(files * 3, np.int64)  # per file: no mark, point, comma
        last = np.array([p.head[0][0] + p.decimal_rows for p in self.parts], np.int64)
        window = self.rows < last[self.file]
        in_window = self.file[window].astype(np.int64) * 3
        for i in self.parts[0].money_cols:
            col = columns[i]
            marks = np.array([_MARK_CODE[decimal_mark_of(t)] for t in col.raw], np.int64)
            votes += np.bincount(in_window + marks[col.codes[window]], minlength=files * 3)
        votes = votes.reshape(files, 3)
        point, comma = votes[:, 1], votes[:, 2]
        other = (comma > point) | ((point == 0) & (self.table.delimiter == ";"))
        if np.any(other):
            raise _Decline("amounts that do not show a decimal point", np.flatnonzero(other))

    def _label_kinds(self, col: _Col) -> np.ndarray:
        """The row loop's label kind (TOTAL word, subtotal, account summary) of each distinct
        text."""
        return label_kinds(col.text, self.r._labels.__getitem__)  # memoised per text

    def _columns(self) -> tuple[np.ndarray, list[_Col]]:
        """Each data row's file row number, and the files' columns from their first data row
        on, one after the other."""
        texts = self.texts
        rows = texts[0].rows if len(texts) == 1 else np.concatenate([t.rows for t in texts])
        if len(texts) == 1:
            data = pa.py_buffer(texts[0].data)[texts[0].start:]
        else:  # one file's last row may lack its line break
            data = pa.py_buffer(b"".join(part for t in texts for part in (
                memoryview(t.data)[t.start:], b"" if t.data.endswith(b"\n") else b"\n")))
        width = len(self.table.headers)
        names = [f"c{i}" for i in range(width)]
        got = pacsv.read_csv(
            data,
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=self.table.delimiter, quote_char='"',
                                              double_quote=True, escape_char=False,
                                              newlines_in_values=False, ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in names},
                                                 strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False))
        del data
        if got.num_rows != len(rows):
            raise _Decline("rows and lines differ")
        columns = []
        for name in names:
            encoded = pc.dictionary_encode(got.column(name).combine_chunks())
            raw = encoded.dictionary.to_pylist()
            if any('"' in v for v in raw):
                raise _Decline("a quote inside a value")
            columns.append(_Col(raw, encoded.indices.to_numpy(zero_copy_only=False),
                                encoded.dictionary))
            got = got.drop_columns([name])  # hold one copy of the text, not two
        return rows, columns

    # --- charge rows, bills, totals -------------------------------------------------------------

    def _lines(self, ci: np.ndarray, ti: np.ndarray) -> list[Lines]:
        f, r = self.f, self.r
        if np.any(f["account"].blank()[ci]) or np.any(f["invoice_number"].blank()[ci]):
            raise _Decline("blank account or invoice number")  # an error, or a built number
        dated = r.at["invoice_date"] >= 0
        row_dates = self._values(f["invoice_date"], ci, r._dates, blank_ok=not dated)
        amounts = self._money(f["amount"], ci, "amount", blank_ok=False)
        totals = self._money(f["invoice_total"], ci, None, blank_ok=True)
        if len(ti) and any(v is not None for v in totals.values):
            raise _Decline("TOTAL rows and an invoice total column")
        key, first = _groups(self.file[ci], f["account"].tcodes[ci], f["invoice_number"].tcodes[ci])
        invoices, inv_of_key = self._bills(ci, ti, key, first, row_dates)
        inv = inv_of_key[key]  # each line's bill
        errors: list[tuple[int, int, int, str]] = []  # (file, row, order within the row, reason)
        if any(v is not None for v in totals.values):
            self._column_totals(ci, inv, invoices, totals, errors)
        start, end = self._periods(ci, errors)
        qty, unit = self._quantities(ci, errors)
        table = self._table(ci, inv, invoices, amounts, start, end, qty, unit)
        return self._per_file(table, ci, ti, inv, invoices, sorted(errors, key=lambda e: e[:3]))

    def _per_file(self, table: pa.Table, ci, ti, inv, invoices, errors) -> list[Lines]:
        """Each file's lines, with its bills, errors and counts added to its reader's result.
        A file's table is its slice of the group's: its values are its own, its text columns'
        dictionaries the group's (reconcile.core.lines.own_dictionaries makes them its own;
        the batch unifies them anyway)."""
        files = len(self.parts)
        line_file = self.file[ci]
        # the group's lines are in file order: each file's are one run
        offsets = np.concatenate(([0], np.cumsum(np.bincount(line_file, minlength=files))))
        order = np.argsort(inv, kind="stable")
        bounds = np.cumsum(np.bincount(inv, minlength=len(invoices)))[:-1]
        bills_of: list[list[Invoice]] = [[] for _ in range(files)]
        file_of = {id(bill): k for (k, _a, _n), bill in self.bill_file.items()}
        for bill, ids in zip(invoices, np.split(order, bounds)):
            k = file_of[id(bill)]
            bill.line_ids = (ids - offsets[k]).tolist()  # positions in its file's table
            bills_of[k].append(bill)
        errors_of: list[list] = [[] for _ in range(files)]
        for e in errors:
            errors_of[e[0]].append(e)
        totals_of: list[list[int]] = [[] for _ in range(files)]
        for p in ti.tolist():
            totals_of[self.file[p]].append(int(self.rows[p]))
        got = []
        for k, part in enumerate(self.parts):
            r = part.reader
            out = r.out
            out.errors.extend(InputError(file=r.src, row=row, reason=reason, effect="value ignored")
                              for _file, row, _order, reason in errors_of[k])
            out.invoices.extend(bills_of[k])
            out.rows_read += int(self.nonblank[k])
            out.summary_rows.extend(totals_of[k])  # the TOTAL rows
            got.append(Lines(table if files == 1
                             else table.slice(offsets[k], offsets[k + 1] - offsets[k])))
        return got

    def _values(self, col: _Col, ci, memo, blank_ok: bool) -> _Codes:
        """(value, error) per distinct cell of the charge rows: an error or a blank declines."""
        values: list = [None] * len(col.raw)
        for c in np.unique(col.codes[ci]).tolist():
            if not col.raw[c].strip():
                if not blank_ok:
                    raise _Decline("a blank cell the row loop would refuse")
                continue
            value, error = memo[col.raw[c]]
            if error:
                raise _Decline(error)
            values[c] = value
        return _Codes(values, col.codes[ci])

    def _money(self, col: _Col, ci, what: str | None, blank_ok: bool) -> _Codes:
        """Money per distinct cell of the charge rows; `what`: a line's money (also refused
        when the line table can't hold it), None: an invoice total."""
        values: list = [None] * len(col.raw)
        strict, decimals = col.decimals() if what else (np.zeros(len(col.raw), np.bool_), None)
        for c in np.unique(col.codes[ci]).tolist():
            if strict[c]:
                continue
            raw = col.raw[c]
            if not raw.strip():
                if not blank_ok:
                    raise _Decline("a blank amount")
                continue
            value, error, unfit = self.r._money[raw]
            if error or (what and (unfit or value is None)):
                raise _Decline("money the row loop refuses")
            values[c] = value
        return _Codes(values, col.codes[ci], strict, decimals)

    def _bills(self, ci, ti, key, first, row_dates) -> tuple[list[Invoice], np.ndarray]:
        """Each file's bills in the order the row loop opens them: at the first charge row of
        each (account, number), or at a TOTAL row naming a bill not seen yet; TOTAL rows give
        their bill its stated total. A TOTAL row looks for its bill in its own file only."""
        f, r = self.f, self.r
        bills: dict[tuple[int, str, str], Invoice] = {}
        self.bill_file = bills  # (file, account, number) -> bill
        inv_of_key: list[Invoice | None] = [None] * len(first)
        last: tuple[int, Invoice] | None = None  # a bill a TOTAL row opened, and its row
        events = sorted([(int(ci[i]), g) for g, i in enumerate(first.tolist())]
                        + [(int(t), -1) for t in ti.tolist()])
        for pos, g in events:
            if g >= 0:
                bill_date = row_dates.values[row_dates.codes[first[g]]]
                inv_of_key[g] = self._open(bills, pos, bill_date)
                continue
            amount = self._total_amount(pos)
            inv = None
            here = int(self.file[pos])
            if last is not None and self.file[last[0]] != here:
                last = None  # opened in the file before
            number = f["invoice_number"].at(pos)
            if number and not r._labels[number]:
                account = f["account"].at(pos)
                inv = bills.get((here, account, number))
                if inv is None:
                    inv = next((v for (k, _a, n), v in bills.items() if k == here and n == number),
                               None)
                if inv is None and account and not r._labels[account]:
                    bill_date = self._total_date(pos)
                    inv = self._open(bills, pos, bill_date)
                    last = (pos, inv)
            if inv is None:  # the bill of the row before: a charge row's, or one a TOTAL row opened
                j = int(np.searchsorted(ci, pos)) - 1
                if j >= 0 and self.file[ci[j]] == here and (last is None or ci[j] > last[0]):
                    inv = inv_of_key[key[j]]
                elif last is not None:
                    inv = last[1]
            if inv is None:
                raise _Decline("a TOTAL row before any bill")
            inv.stated_total, inv.total_where = amount, f"TOTAL row {self.rows[pos]}"
        invoices = list(bills.values())
        index = {id(v): i for i, v in enumerate(invoices)}
        return invoices, np.array([index[id(v)] for v in inv_of_key], np.int64)

    def _open(self, bills: dict, pos: int, bill_date) -> Invoice:
        """The bill of row `pos`, opened by it when new (as _RowReader.invoice)."""
        f = self.f
        r = self.parts[self.file[pos]].reader
        account, number = f["account"].at(pos), f["invoice_number"].at(pos)
        key = (int(self.file[pos]), account, number)
        inv = bills.get(key)
        if inv is None:
            due = None
            if text := f["due_date"].at(pos):
                try:
                    due = parse_date(text)
                except ValueError:
                    pass
            inv = bills[key] = Invoice(
                carrier=f["carrier"].at(pos) or r.carrier, account=account, invoice_number=number,
                invoice_date=bill_date, due_date=due, source=r.src,
                level=r.dialect.level if r.dialect else "detail")
        elif inv.invoice_date is None and bill_date is not None:
            inv.invoice_date = bill_date
        return inv

    def _total_amount(self, pos: int) -> Decimal:
        f, r = self.f, self.r
        amount = None
        for name in ("amount", "invoice_total"):
            if amount is None and f[name].at(pos):
                amount, error, _unfit = r._money[f[name].raw_at(pos)]
                if error:
                    raise _Decline(error)
        if amount is None:
            raise _Decline("a TOTAL row without an amount")
        return amount

    def _total_date(self, pos: int) -> date | None:
        col = self.f["invoice_date"]
        if not col.at(pos):
            return None
        value, error = self.r._dates[col.raw_at(pos)]
        if error:
            raise _Decline(error)
        return value

    def _column_totals(self, ci, inv, invoices, totals: _Codes, errors) -> None:
        """An invoice total repeated on each row: the first one read is the bill's, a later
        one that differs is an error naming its row (the row loop's order of events)."""
        value_class: dict[Decimal, int] = {}
        text_of_class: dict[int, str] = {}
        cls = np.full(len(totals.values), -1, np.int64)
        for c, v in enumerate(totals.values):
            if v is not None:
                k = cls[c] = value_class.setdefault(v, len(value_class))
                if text_of_class.setdefault(k, str(v)) != str(v):
                    raise _Decline("one total written two ways")  # which one is kept is order-bound
        row_cls = cls[totals.codes]
        has = np.flatnonzero(row_cls >= 0)
        if not len(has):
            return
        stated = np.full(len(invoices), -1, np.int64)
        first_of, at = np.unique(inv[has], return_index=True)
        stated[first_of] = row_cls[has[at]]
        where = {}
        value_of = {k: v for v, k in value_class.items()}
        for i in has.tolist():
            bill = inv[i]
            if row_cls[i] == stated[bill]:
                where[bill] = i
            else:
                number = invoices[bill].invoice_number
                errors.append((int(self.file[ci[i]]), int(self.rows[ci[i]]), 0,
                               f"invoice total {value_of[row_cls[i]]} differs from "
                               f"{value_of[stated[bill]]} on earlier rows of invoice {number}"))
        for bill, i in where.items():
            invoices[bill].stated_total = value_of[stated[bill]]
            invoices[bill].total_where = f"column on row {self.rows[ci[i]]}"

    def _periods(self, ci, errors) -> tuple[pa.Array, pa.Array]:
        """Each line's service period: one cell, or a start and an end cell."""
        f, r = self.f, self.r
        p, s, e = f["period"], f["period_start"], f["period_end"]

        def code(col: _Col) -> np.ndarray:  # blank cells are one code: None
            return np.where(col.blank()[ci], -1, col.codes[ci]).astype(np.int64) + 1

        group, first = _groups(code(p), code(s), code(e))
        starts, ends, bad = [], [], []
        for i in (ci[first]).tolist():
            if text := p.at(i):
                start, end, error = r._periods[(text, None)]
            else:
                start, end, error = r._spans[(s.raw_at(i) if s.at(i) else None,
                                              e.raw_at(i) if e.at(i) else None)]
            starts.append(start)
            ends.append(end)
            bad.append(error)
        if any(bad):
            for i in np.flatnonzero(np.array([b is not None for b in bad])[group]).tolist():
                errors.append((int(self.file[ci[i]]), int(self.rows[ci[i]]), 1, bad[group[i]]))
        take = pa.array(group.astype(np.int32))
        return pa.array(starts, pa.date32()).take(take), pa.array(ends, pa.date32()).take(take)

    def _quantities(self, ci, errors) -> tuple[_Codes, _Codes]:
        """Quantity and unit price; one that can't be read is set aside with an error, and a
        bad quantity leaves the rate unread (as the row loop)."""
        f, r = self.f, self.r
        out = []
        for name, what in (("quantity", "quantity"), ("unit_price", "unit price")):
            col = f[name]
            values: list = [None] * len(col.raw)
            problem: dict[int, str] = {}
            strict, decimals = col.decimals()
            for c in np.unique(col.codes[ci]).tolist():
                raw = col.raw[c]
                if raw.strip() and not strict[c]:
                    value, error, unfit = r._money[raw]
                    if error or unfit:
                        problem[c] = error or f"{what} {unfit}"
                    else:
                        values[c] = value
            out.append((_Codes(values, col.codes[ci], strict, decimals), problem))
        (qty, q_bad), (unit, u_bad) = out
        if q_bad or u_bad:
            q_rows = np.isin(qty.codes, list(q_bad)) if q_bad else np.zeros(len(ci), bool)
            u_rows = (np.isin(unit.codes, list(u_bad)) if u_bad else np.zeros(len(ci), bool)) & ~q_rows
            for i in np.flatnonzero(q_rows | u_rows).tolist():
                reason = q_bad[qty.codes[i]] if q_rows[i] else u_bad[unit.codes[i]]
                errors.append((int(self.file[ci[i]]), int(self.rows[ci[i]]), 2,
                               f"quantity/rate: {reason}"))
            if u_rows.any() or q_rows.any():
                unit = _Codes(unit.values + [None], np.where(q_rows, len(unit.values), unit.codes),
                              unit.strict, unit.decimals)
        return qty, unit

    # --- the line table ---------------------------------------------------------------------------

    def _table(self, ci, inv, invoices, amounts, start, end, qty, unit) -> pa.Table:
        """The lines as line_columns.FileLines would build them: the same values, the same
        dictionaries (each in the order its values first appear)."""
        f = self.f
        n = len(ci)
        rows = pa.array(self.rows[ci])
        ctype = self._charge_types(ci)
        bill_dates = pa.array([v.invoice_date for v in invoices], pa.date32())
        inv32 = pa.array(inv.astype(np.int32))
        # typed scalars: a bare str has pyarrow infer its type, looking for pandas each call
        prefixes = [f"{p.reader.out.file_hash}:r" for p in self.parts]
        line_file = self.file[ci]
        prefix = (pa.scalar(prefixes[0], pa.string()) if len(prefixes) == 1
                  else pa.array(prefixes, pa.string()).take(pa.array(line_file)))
        keys = pc.binary_join_element_wise(prefix, pc.cast(rows, pa.string()),
                                           pa.scalar("", pa.string()))
        columns = {
            "key": keys,
            "source": _text([p.reader.src for p in self.parts], line_file),
            "row": rows,
            "page": pa.nulls(n, pa.int32()),
            "carrier": _first_seen([v.carrier for v in invoices], inv),
            "account": _first_seen([v.account for v in invoices], inv),
            "invoice_number": _first_seen([v.invoice_number for v in invoices], inv),
            "invoice_date": bill_dates.take(inv32),
            "service_id": _first_seen(f["service_id"].text, f["service_id"].tcodes[ci]),
            "description": _first_seen(f["description"].text, f["description"].tcodes[ci]),
            "charge_type": ctype,
            "period_start": start,
            "period_end": end,
            "period_inferred": pa.array(np.zeros(n, np.bool_)),
            "quantity": qty.array(),
            "unit_price": unit.array(),
            "amount": amounts.array(),
            "section": _text([""], np.zeros(n, np.int32)),
        }
        return pa.table(columns, schema=LINE_SCHEMA)

    def _charge_types(self, ci) -> pa.DictionaryArray:
        f, r = self.f, self.r
        t, d = f["charge_type"], f["description"]
        group, first = _groups(t.tcodes[ci], d.tcodes[ci])
        kinds = [r._types[(t.at(i), d.at(i))] for i in ci[first].tolist()]
        pool: dict[ChargeType, int] = {}
        code = np.array([pool.setdefault(k, len(pool)) for k in kinds], np.int32)
        return _first_seen([ChargeType(k).value for k in pool], code[group])


class _Codes:
    """Values per distinct cell and each line's code into them; money cells that are plain
    decimals come as `decimals` (where `strict`), the others as Decimal `values`."""

    def __init__(self, values: list, codes: np.ndarray, strict: np.ndarray | None = None,
                 decimals: pa.Array | None = None):
        self.values, self.codes, self.strict, self.decimals = values, codes, strict, decimals

    def array(self) -> pa.Array:
        money = pa.array(self.values, MONEY)
        if self.decimals is not None:
            more = len(self.values) - len(self.decimals)  # codes added since: set-aside values
            decimals = pa.concat_arrays([self.decimals, pa.nulls(more, MONEY)])
            strict = np.concatenate([self.strict, np.zeros(more, np.bool_)])
            money = pc.if_else(pa.array(strict), decimals, money)
        return money.take(pa.array(self.codes.astype(np.int32)))


def _groups(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group of each row, first row of each group), groups numbered in the order they first
    appear, for rows given by non-negative codes in several columns."""
    combined = np.zeros(len(codes[0]), np.int64)
    size = 1
    for c in codes:
        c = c.astype(np.int64)
        width = int(c.max()) + 1 if len(c) else 1
        if size * width >= 2 ** 62:
            _, combined = np.unique(np.stack([combined, c], 1), axis=0, return_inverse=True)
            combined = combined.reshape(-1).astype(np.int64)
            size = int(combined.max()) + 1
        combined = combined * width + c
        size *= width
    return groups(combined)


def _text(values: list[str], codes: np.ndarray) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values, pa.string())).cast(_TEXT)


def _first_seen(values: list[str], codes: np.ndarray) -> pa.DictionaryArray:
    """A dictionary column of `values[codes]` whose dictionary holds the values used, in the
    order they first appear, each once (two codes may name one text)."""
    if not len(codes):
        return _text([], codes.astype(np.int32))
    pool: dict[str, int] = {}
    remap = np.zeros(max(len(values), 1), np.int32)
    for c in first_seen(codes).tolist():
        remap[c] = pool.setdefault(values[c], len(pool))
    return _text(list(pool), remap[codes])
