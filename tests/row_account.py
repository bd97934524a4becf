"""Every row accounted for: a table's rows after its header are each a line, a recognised
summary row (TOTAL, subtotal, a row its dialect skips) or a row reported as an error, and each
is only one of them. Shared by the conservation test over the generated fixtures and by the
readers' fuzz tests."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl

from reconcile.parsers.columns import INVOICE_FIELDS
from reconcile.parsers.dialect import all_signature_headers
from reconcile.parsers.tabular import header_scorer, open_table

ROW_LOST = "row skipped"


def accounted(parsed) -> tuple[set[int], set[int], set[int]]:
    """(rows that gave lines, summary rows, rows reported and skipped) of one file."""
    lines = set(parsed.lines.table.column("row").to_pylist())
    summaries = set(parsed.summary_rows)
    reported = {e.row for e in parsed.errors if e.row is not None and e.effect == ROW_LOST}
    return lines, summaries, reported


def assert_conserved(parsed, rows_in: set[int] | None = None) -> None:
    """Rows read = lines + summaries + rows reported, none counted twice; and when the file's
    data rows were counted independently (`rows_in`), they are exactly those rows."""
    if any(e.effect == "file skipped" for e in parsed.errors):
        assert not parsed.lines.table.num_rows, "a skipped file gives no line"
        return
    lines, summaries, reported = accounted(parsed)
    assert not lines & summaries and not lines & reported and not summaries & reported, \
        (lines & summaries, lines & reported, summaries & reported)
    assert parsed.rows_read == len(lines) + len(summaries) + len(reported), \
        (parsed.rows_read, len(lines), len(summaries), len(reported))
    if rows_in is not None:
        assert lines | summaries | reported == rows_in, sorted(rows_in ^ (lines | summaries | reported))[:10]


def data_rows(path: Path, workbook: bool = False) -> set[int]:
    """The rows with anything in them below the header (and below a second header row), counted
    with Python's csv module or openpyxl's full reader, not the reader under test (the header's
    row is taken from the reader's own header search)."""
    scorer = header_scorer(INVOICE_FIELDS, all_signature_headers())
    table = open_table(path, scorer, workbook=workbook)
    after = table.header_row
    for note in table.notes:
        if m := re.match(r"skipped a second header row at row (\d+)", note):
            after = int(m.group(1))
    if workbook:
        ws = openpyxl.load_workbook(path, data_only=True)[table.sheet]
        return {r[0].row for r in ws.iter_rows() if r and r[0].row > after
                and any(c.value is not None and str(c.value).strip() for c in r)}
    rows = set()
    with open(path, encoding=table.encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=table.delimiter)
        start = 1
        for cells in reader:
            if start > after and any(c.strip() for c in cells):
                rows.add(start)
            start = reader.line_num + 1
    return rows
