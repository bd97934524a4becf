"""Reading messy spreadsheets: CSV exports and Excel workbooks as header + rows.

Carrier portal exports come tab-, pipe- or semicolon-delimited, in UTF-8, UTF-8 with BOM or
Windows-1252, with title lines above the header, sometimes a second header row in French
(Bell), and quoted newlines. This module finds the header and hands back rows with the
file's own row numbers so every error can name them. Text files are split into records by
parsers/csv_records.py (a quote that never closes costs one row); a workbook's zip is checked
against the limits (parsers/limits.py) before it is opened, and its sheets are read by the
cells they hold. A file past a limit raises LimitExceeded, as soon as it is seen.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from datetime import date, datetime
from pathlib import Path
from typing import Iterator

from reconcile.parsers.columns import norm_header
from reconcile.parsers.csv_records import BadRow, records
from reconcile.parsers.limits import (DEFAULT_LIMITS, LimitExceeded, Limits, check_file_size,
                                      check_zip)
from reconcile.core.values import COMMA, parse_date, parse_money

DELIMITERS = [",", "\t", "|", ";"]
SNIFF_BYTES = 256 * 1024
HEADER_SEARCH_ROWS = 40


class TableError(Exception):
    """The whole file can't be read as a table; the message says why. `sheets` (a workbook's
    sheet names) and `first_rows` (sheet, or "" for a text file -> its first non-empty row) say
    what was seen, for a message that tells a person how to fix it."""

    def __init__(self, message: str, sheets: list[str] | None = None,
                 first_rows: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.sheets = list(sheets or [])
        self.first_rows = dict(first_rows or {})


@dataclass
class Table:
    path: Path
    headers: list[str]
    header_row: int  # 1-based row of the header in the file
    rows: Iterator[tuple[int, list]]  # (row number, cells)
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    notes: list[str] = field(default_factory=list)


# the bytes of UTF-8's multi-byte characters: a file holding them is UTF-8, even when a few
# bytes elsewhere are not (a line pasted from a Windows-1252 file)
_UTF8_CHARS = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")


def _cp1252_fallback(e: UnicodeDecodeError):
    """Bytes of a UTF-8 line that are not UTF-8, read as Windows-1252 (the usual mix)."""
    return e.object[e.start:e.end].decode("cp1252", "replace"), e.end


codecs.register_error("reconcile-cp1252", _cp1252_fallback)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when it decodes or when most of its non-ASCII bytes are
    UTF-8 characters (a mixed file: the rest is read line by line as Windows-1252, with a
    note), else Windows-1252 (a superset of Latin-1's printable range, which is what Excel on
    Windows writes)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        # a multi-byte character cut by the sample boundary is still UTF-8
        if e.start >= len(sample) - 3 and len(sample) >= SNIFF_BYTES:
            return "utf-8"
    utf8 = _UTF8_CHARS.findall(sample)
    stray = len(_HIGH_BYTE.findall(sample)) - sum(map(len, utf8))  # high bytes of no character
    if utf8 and len(utf8) >= stray:
        return "utf-8"
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the most leading lines into the same number (>1) of fields."""
    return _delimiter_and_width(text)[0]


def _delimiter_and_width(text: str) -> tuple[str, int]:
    """The delimiter, and the number of fields most leading lines have with it (0: none)."""
    lines = [ln for ln in text.splitlines()[:60] if ln.strip()]
    if not lines:
        return ",", 0
    best, best_score = (",", 0), (-1, -1)
    # without quotes or NULs the csv module splits a line at each delimiter: count them
    plain = not any('"' in ln or "\x00" in ln for ln in lines)
    for d in DELIMITERS:
        if plain:
            counts = [ln.count(d) + 1 for ln in lines]
        else:
            try:
                counts = [len(r) for r in csv.reader(lines, delimiter=d)]
            except csv.Error:
                continue
        modal, freq = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        score = (freq, modal)
        if score > best_score:
            best, best_score = (d, modal), score
    return best


def read_csv(path: Path, score_header, min_score: int = 2, limits: Limits = DEFAULT_LIMITS) -> Table:
    """Open a delimited text file and find its header with `score_header(cells) -> int`."""
    with open(path, "rb") as fh:
        raw = fh.read(SNIFF_BYTES)
    if not raw.strip():
        raise TableError("file is empty")
    encoding = detect_encoding(raw)
    sample = raw.decode(encoding, errors="replace")
    delimiter, width = _delimiter_and_width(sample)
    text = encoding == "utf-16"  # lines split by the decoder: \n is two bytes
    fh = open(path, encoding=encoding, errors="replace", newline="") if text else open(path, "rb")
    notes: list[str] = []
    it = records(fh, encoding, text, delimiter, width, limits, notes)
    head: list[tuple[int, list[str]]] = []
    try:
        for item in it:
            head.append(item)
            if len(head) >= HEADER_SEARCH_ROWS:
                break
    except BaseException:
        fh.close()
        raise
    header_at = _pick_header(head, score_header, min_score)
    if header_at is None:
        fh.close()
        first = _first_row(head)
        raise TableError("no header row found in the first rows; first row seen: "
                         + ", ".join(repr(c) for c in first[:12]), first_rows={"": first})
    row_no, headers = head[header_at]
    rest = head[header_at + 1:]
    if header_at:
        notes.append(f"skipped {header_at} title line(s) above the header at row {row_no}")
    if rest and _is_second_header(rest[0][1], headers, [c for _, c in rest[1:6]], score_header,
                                  min_score):
        notes.append(f"skipped a second header row at row {rest[0][0]}")
        rest = rest[1:]

    def rows() -> Iterator[tuple[int, list[str]]]:
        yield from rest
        yield from it

    if encoding not in ("utf-8", "utf-8-sig"):
        notes.append(f"decoded as {encoding}")
    return Table(path, [h.strip() for h in headers], row_no, rows(), encoding, delimiter, notes=notes)


def _pick_header(head, score_header, min_score) -> int | None:
    best, best_score = None, 0
    for i, (_, cells) in enumerate(head):
        s = score_header(cells)
        if s > best_score:
            best, best_score = i, s
    return best if best_score >= min_score else None


def _first_row(head) -> list[str]:
    """The first row with anything in it, as text (what a person sees at the top of the file)."""
    for _, cells in head:
        texts = [cell_text(c) for c in cells]
        if any(texts):
            while texts and not texts[-1]:
                texts.pop()
            return texts
    return []


def _is_typed(text: str) -> bool:
    """A number, an amount (with either decimal mark) or a date: a value, never a header name."""
    for parse in (parse_money, partial(parse_money, decimal=COMMA), parse_date):
        try:
            if parse(text) is not None:
                return True
        except ValueError:
            pass
    return False


def peek(rows: Iterator, n: int) -> tuple[list, Iterator]:
    """The first `n` of `rows`, and all of them (those first) to read on."""
    head = list(islice(rows, n))
    return head, chain(head, rows)


def _is_second_header(cells: list, headers: list, below: list[list], score_header,
                      min_score: int) -> bool:
    """Is the row right under the header a second header (Bell repeats its header in French)?
    Only when its cells look like header names: most of them name known fields, or they are
    labels standing where the rows below hold numbers, money or dates. A row with no number,
    money or date in it is not enough: an inventory whose columns are all text (Circuit ID,
    BAN, Vendor, Product) starts with such a row, and it is its first service."""
    filled = [str(c).strip() for c in cells if str(c).strip()]
    if len(filled) < max(2, len([h for h in headers if str(h).strip()]) // 2):
        return False
    if any(_is_typed(c) for c in filled):
        return False
    named = sum(1 for c in filled if score_header([c]) > 0)
    if named >= 2 and named * 2 >= len(filled) and score_header(cells) >= min_score:
        return True
    typed_cols = []
    for i in range(len(headers)):
        values = [str(r[i]).strip() for r in below if i < len(r) and str(r[i]).strip()]
        if values and sum(map(_is_typed, values)) * 2 > len(values):
            typed_cols.append(i)
    labelled = [i for i in typed_cols if i < len(cells) and str(cells[i]).strip()]
    return len(typed_cols) >= 2 and len(labelled) * 2 >= len(typed_cols)


def read_xlsx(path: Path, score_header, min_score: int = 2, sheet: str | None = None,
              limits: Limits = DEFAULT_LIMITS) -> Table:
    """Open a workbook and find the sheet and row holding the header. Without `sheet`, the first
    sheet whose header is recognised wins, so data on the second sheet is still found. The zip
    is checked against `limits` before anything is decompressed, and a sheet is read by the
    cells it holds, not by the dimension it declares (see `_sheet_rows`)."""
    import openpyxl

    check_zip(path, limits)
    fh = open(path, "rb")  # a handle, not the name: openpyxl refuses a workbook named .csv
    try:
        wb = openpyxl.load_workbook(fh, read_only=True, data_only=True)
    except Exception as e:  # zip/xml errors of many kinds: the file is not a workbook we can read
        fh.close()
        raise TableError(f"not a readable Excel workbook ({type(e).__name__}: {e})") from None

    def close() -> None:
        wb.close()
        fh.close()

    names = wb.sheetnames
    if sheet is not None and sheet not in names:
        close()
        raise TableError(f"no sheet named {sheet!r}; sheets are {names}", sheets=names)
    tried: list[str] = []
    first_rows: dict[str, list[str]] = {}
    for name in [sheet] if sheet else names:
        it = _sheet_rows(wb[name], limits)
        head = []
        try:
            for item in it:
                head.append(item)
                if len(head) >= HEADER_SEARCH_ROWS:
                    break
        except Exception as e:
            close()
            if isinstance(e, LimitExceeded):
                raise LimitExceeded(f"sheet {name!r}: {e}") from None
            raise TableError(f"sheet {name!r} is damaged ({type(e).__name__}: {e})") from None
        text_head = [(n, [_cell_str(c) for c in cells]) for n, cells in head]
        at = _pick_header(text_head, score_header, min_score)
        if at is None:
            tried.append(name)
            first_rows[name] = _first_row(text_head)
            continue
        row_no, headers = text_head[at]
        rest = head[at + 1:]
        notes = []
        if tried:
            notes.append(f"sheet(s) {tried} hold no recognised header; read sheet {name!r}")
        if at:
            notes.append(f"skipped {at} title line(s) above the header at row {row_no}")

        def rows(rest=rest, it=it, name=name):
            try:
                yield from rest
                yield from it
            except LimitExceeded as e:
                raise LimitExceeded(f"sheet {name!r}: {e}") from None
            except (TableError, MemoryError):
                raise
            except Exception as e:  # the XML breaks off further down the sheet
                raise TableError(f"sheet {name!r} is damaged after the rows read "
                                 f"({type(e).__name__}: {e})") from None
            finally:
                close()

        return Table(path, [h.strip() for h in headers], row_no, rows(), sheet=name, notes=notes)
    close()
    raise TableError(f"no sheet has a recognised header row (sheets looked at: {tried or names})",
                     sheets=names, first_rows=first_rows)


def _sheet_rows(ws, limits: Limits) -> Iterator[tuple[int, list]]:
    """(row number, values) of the rows a sheet holds, each as wide as its last cell. openpyxl's
    iter_rows pads every row to the declared dimension and yields every row up to it: a 2 KB
    sheet declaring A1:XFD1048576 would be 17 billion cells. Here a missing row is not
    yielded, and a row wider than `limits.columns` or more rows than `limits.rows` stop the
    read with the limit named. (openpyxl's own row parser, the one iter_rows uses.)"""
    from openpyxl.worksheet._reader import WorkSheetParser

    wb = ws.parent
    count = 0
    with ws._get_source() as src:
        parser = WorkSheetParser(src, ws._shared_strings, data_only=True, epoch=wb.epoch,
                                 date_formats=wb._date_formats,
                                 timedelta_formats=wb._timedelta_formats)
        for idx, row in parser.parse():
            if not row:
                continue
            count += 1
            if count > limits.rows:
                raise limits.past("rows", f"the sheet has more than {limits.rows:,} rows")
            width = max(c["column"] for c in row)
            if width > limits.columns:
                raise limits.past("columns", f"row {idx} has a cell in column {width:,}")
            values = [None] * width
            for c in row:
                values[c["column"] - 1] = c["value"]
            yield idx, values


def _cell_str(c) -> str:
    return cell_text(c)


def cell_text(c) -> str:
    """A cell as text. Integral floats lose their '.0' (Excel stores 2125551234 as a float);
    dates become ISO."""
    if c is None:
        return ""
    if isinstance(c, str):
        return c.strip()
    if isinstance(c, bool):
        return str(c)
    if isinstance(c, float):
        return str(int(c)) if c.is_integer() else repr(c)
    if isinstance(c, datetime):
        return c.date().isoformat() if not (c.hour or c.minute or c.second) else c.isoformat()
    if isinstance(c, date):
        return c.isoformat()
    return str(c).strip()


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def open_table(path: Path, score_header, min_score: int = 2, sheet: str | None = None,
               workbook: bool | None = None, limits: Limits = DEFAULT_LIMITS) -> Table:
    """A workbook or delimited text, as `workbook` says (when sniffed) or else as named. Past
    one of `limits` (checked before the work, and while rows are read): LimitExceeded."""
    if workbook is None:
        workbook = path.suffix.lower() in WORKBOOK_SUFFIXES
    check_file_size(path, limits)
    if workbook:
        return read_xlsx(path, score_header, min_score, sheet, limits)
    return read_csv(path, score_header, min_score, limits)


# bytes text files don't hold (\x1a: the end-of-file mark old Windows tools write)
_CONTROL_BYTES = bytes(c for c in range(32) if chr(c) not in "\t\n\r\f\x1a")


def looks_like_text(head: bytes, path: Path) -> bool:
    """Text in any encoding read here: no NUL byte (but UTF-16 with its BOM), few control bytes."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))  # one pass, not 26
    return controls * 100 <= len(head)


def looks_like_workbook(head: bytes, path: Path) -> bool:
    """An Excel workbook: a zip holding xl/workbook.xml (a .docx is a zip too)."""
    if not head.startswith(b"PK\x03\x04"):
        return False
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.startswith("xl/workbook.") for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def header_scorer(fields: dict[str, list[str]], extra: set[str] | None = None):
    """Score a candidate header row by how many distinct known fields it names."""
    from reconcile.parsers.columns import _alias_index

    idx = _alias_index(fields)
    extra_n = {norm_header(e) for e in (extra or set())}

    def score(cells) -> int:
        normed = [norm_header(c) for c in cells]
        return len({idx[n][0] for n in normed if n in idx}) + sum(n in extra_n for n in normed)

    return score


__all__ = ["Table", "TableError", "BadRow", "LimitExceeded", "open_table", "cell_text",
           "header_scorer", "looks_like_text", "looks_like_workbook", "io"]
