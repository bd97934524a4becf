"""Property tests of the CSV and XLSX invoice readers (Hypothesis), on random tables and on
good files mutated byte by byte: the reader never raises (a bad file is a reported error) and
every row is accounted for (rows in = lines + summary rows + rows reported, tests/row_account).

`make test` runs them briefly (RECONCILE_FUZZ_EXAMPLES, 200 by default, a tenth of that for
the workbook tests, which cost more per example); `make fuzz` runs them long.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import openpyxl
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.parsers.limits import Limits
from tests.row_account import assert_conserved, data_rows

EXAMPLES = int(os.environ.get("RECONCILE_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
fuzz_books = settings(fuzz, max_examples=max(10, EXAMPLES // 10))
# small limits, so the fuzzer reaches them too
LIMITS = Limits(rows=60, columns=40, field_size=2000, unzipped=4 << 20)

HEADER = ["Account Number", "Invoice No", "Bill Date", "Circuit ID", "Charge Description", "Type",
          "Service Period", "Charge Amount", "Invoice Total"]
GOOD = ["8310", "F-7", "04/01/2025", "CKT-1", "Port", "MRC", "04/01/25-04/30/25", "450.00", ""]

# what cells of carrier exports are made of, and what breaks readers: quotes, delimiters,
# line breaks, decimal marks, labels, huge and odd numbers
CELL = st.one_of(
    st.sampled_from(["", "TOTAL", "Subtotal", "Subtotal fee", "Grand Total", "1.234,50", "763,00",
                     "1,234.50", "(12.00)", "12.00CR", "1e30", "NaN", "-", "04/01/2025",
                     "2025-02-30", "03/01/25-03/31/25", '"', '""', "a\nb", "\r", "x;y", "\t",
                     "＝SUM(A1)", "CKT-1", "8310", "F-7", "MRC", "Tax", "\x00", "\ufeff"]),
    st.text(st.sampled_from(list('0123456789.,-()$"\n;|\t abcTOAL€é')), max_size=12),
    st.text(max_size=8),
)
ROWS = st.lists(st.lists(CELL, min_size=0, max_size=11), max_size=25)


def written(tmp: Path, data: bytes, suffix: str) -> Path:
    path = tmp / f"fuzzed{suffix}"
    path.write_bytes(data)
    return path


def read_checked(path: Path, workbook: bool):
    """The reader on a fuzzed file: it must not raise, and every error names the file."""
    parsed = read_invoice_table(path, workbook=workbook, limits=LIMITS)
    assert all(e.file == str(path) for e in parsed.errors)
    assert_conserved(parsed)
    return parsed


def csv_bytes(rows: list[list[str]], delimiter: str, quoting: bool, encoding: str) -> bytes:
    lines = []
    for cells in [HEADER, *rows]:
        if quoting:
            cells = ['"' + c.replace('"', '""') + '"' if any(ch in c for ch in f'"\n\r{delimiter}') else c
                     for c in cells]
        lines.append(delimiter.join(cells))
    return ("\n".join(lines) + "\n").encode(encoding, "replace")


@fuzz
@given(ROWS, st.sampled_from([",", ";", "\t", "|"]), st.booleans(),
       st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
def test_csv_reader_on_random_tables(rows, delimiter, quoting, encoding):
    with tempfile.TemporaryDirectory() as tmp:
        path = written(Path(tmp), csv_bytes(rows, delimiter, quoting, encoding), ".csv")
        read_checked(path, workbook=False)


@fuzz
@given(st.lists(st.lists(st.sampled_from(["", "TOTAL", "Subtotal", "1.234,50", "(12.00)",
                                          "CKT-9", "8310", "x", "450.00"]), max_size=10),
                max_size=20), st.sampled_from([",", "\t", "|"]))
def test_csv_rows_without_quotes_or_breaks_are_each_counted(rows, delimiter):
    """Cells with no quote, delimiter or line break: the rows are counted independently."""
    with tempfile.TemporaryDirectory() as tmp:
        path = written(Path(tmp), csv_bytes(rows, delimiter, False, "utf-8"), ".csv")
        parsed = read_checked(path, workbook=False)
        if not any(e.effect == "file skipped" for e in parsed.errors):
            assert_conserved(parsed, data_rows(path))


def good_csv(n: int = 6) -> bytes:
    rows = [[c.replace("CKT-1", f"CKT-{i}") for c in GOOD] for i in range(n)]
    rows.append(["8310", "F-7", "", "", "TOTAL", "", "", "2700.00", ""])
    return csv_bytes(rows, ",", True, "utf-8")


MUTATION = st.tuples(st.sampled_from(["flip", "insert", "delete", "quote", "newline"]),
                     st.integers(0, 10_000), st.integers(0, 255))


def mutate(data: bytes, mutations) -> bytes:
    buf = bytearray(data)
    for kind, at, byte in mutations:
        if not buf:
            break
        i = at % len(buf)
        if kind == "flip":
            buf[i] = byte
        elif kind == "insert":
            buf.insert(i, byte)
        elif kind == "delete":
            del buf[i]
        else:
            buf.insert(i, ord('"') if kind == "quote" else ord("\n"))
    return bytes(buf)


@fuzz
@given(st.lists(MUTATION, min_size=1, max_size=8))
@example([("quote", 140, 0)])
def test_csv_reader_on_mutated_exports(mutations):
    with tempfile.TemporaryDirectory() as tmp:
        path = written(Path(tmp), mutate(good_csv(), mutations), ".csv")
        read_checked(path, workbook=False)


XL_CELL = st.one_of(CELL, st.none(), st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                    st.dates(), st.booleans())


def workbook_bytes(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for cells in [HEADER, *rows]:
        ws.append([_storable(c) for c in cells])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _storable(c):
    """What openpyxl will write (it refuses control characters in text)."""
    if isinstance(c, str):
        return "".join(ch for ch in c if ch >= " " or ch in "\t\n\r")
    return c


@fuzz_books
@given(st.lists(st.lists(XL_CELL, max_size=11), max_size=15))
def test_xlsx_reader_on_random_workbooks(rows):
    with tempfile.TemporaryDirectory() as tmp:
        path = written(Path(tmp), workbook_bytes(rows), ".xlsx")
        read_checked(path, workbook=True)


GOOD_BOOK = None


@fuzz_books
@given(st.lists(MUTATION, min_size=1, max_size=6))
def test_xlsx_reader_on_mutated_workbooks(mutations):
    global GOOD_BOOK
    if GOOD_BOOK is None:
        GOOD_BOOK = workbook_bytes([[c.replace("CKT-1", f"CKT-{i}") for c in GOOD] for i in range(6)])
    with tempfile.TemporaryDirectory() as tmp:
        path = written(Path(tmp), mutate(GOOD_BOOK, mutations), ".xlsx")
        read_checked(path, workbook=True)
