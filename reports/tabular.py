"""Lines, findings and errors as CSV and JSON for scripts: lines.csv and errors.json here,
findings.csv, findings.json and invoices.csv by reconcile.reports.cells from the records made
here (`summary_json`, `invoice_rows`) and there (`finding_fields`).

Money is written as exact decimal strings ("450.00"), never floats, so a script summing
findings.json gets the cents right; dates are ISO.

The CSVs are for spreadsheets, so they are safe to open in one (OWASP, CSV injection): every
text cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width
forms) is written with a single quote before it, so `=HYPERLINK(...)` from a carrier's
description is shown, never run. Which cells are text is decided per column, not guessed from
the value: money, counts and dates are ours, formatted from numbers, and stay numbers
("-12.00" in an amount column is -12). The files start with a UTF-8 byte-order mark, which
Excel needs to read them as UTF-8.
"""

from __future__ import annotations

import json
from contextlib import suppress
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reconcile.core.lines import plain_amount
from reconcile.core.models import Category, Invoice
from reconcile.core.result import AuditResult
from reconcile.reports.cells import BOM, FINDING_COLUMNS, INVOICE_COLUMNS, plain

_FORMULA_START_RE = "^[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]"
LINE_COLUMNS = ["line_id", "line_key", "source", "row", "page", "carrier", "account", "invoice_number",
                "invoice_date", "service_id", "description", "charge_type", "period_start",
                "period_end", "period_inferred", "quantity", "unit_price", "amount",
                "matched_service_id", "match_method", "match_score", "match_reason", "findings"]


def _write_json(data, path: Path) -> None:
    """JSON in UTF-8; a file name that is not valid UTF-8 (its undecodable bytes are lone
    surrogates in Python) is written as a \\udcXX escape, as the CSVs write it, not a crash."""
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8",
                    errors="backslashreplace")


def finding_record(f) -> dict:
    d = {k: plain(getattr(f, k)) for k in FINDING_COLUMNS if k != "evidence"}
    d["evidence"] = plain(f.evidence)
    return d


def summary_record(result: AuditResult) -> dict:
    from reconcile.reports.console import batch_read, unchecked

    read = batch_read(result)
    return {
        "files": read.files,
        "files_read": read.files_read,
        "invoices": len(result.invoices),
        "lines": len(result.lines),
        "services": len(result.services),
        "total_billed": plain(result.total_billed),
        # money on lines with a service ID, and the part of it matched to an inventory service
        "billed_to_services": plain(read.to_services),
        "matched_to_inventory": plain(read.matched),
        "matched_share_percent": plain(read.matched_share),
        "findings": len(result.findings),
        "amount_at_issue": plain(result.total_at_issue),  # overcharges only
        "by_category": {c.value: {"findings": sum(1 for f in result.findings if f.category is c),
                                  "amount": plain(result.total_of(c))} for c in Category},
        "by_rule": {r: {"findings": n, "amount_at_issue": plain(a)}
                    for r, (n, a) in result.by_rule().items()},
        "input_errors": len(result.errors),
        # rules the inventory did not let run ("limit": what they checked instead, when partly)
        "not_checked": [{"rule": g.rule, "reason": g.reason, "limit": g.limit, "text": str(g)}
                        for g in unchecked(result)],
        "paths_relative_to": result.paths_relative_to or ".",
        # the files read beside the invoices, and the date the audit speaks from
        "inputs": {**({"inventory": result.inventory_file} if result.inventory_file else {}),
                   **dict(result.records.files)},
        "records_read": {kind: len(getattr(result.records, kind))
                         for kind, _ in result.records.files},
        "as_of": result.options.as_of.isoformat(),
    }


def summary_json(result: AuditResult) -> str:
    """findings.json's summary, as it is written there (indented, inside the file's object)."""
    return json.dumps(summary_record(result), indent=2, ensure_ascii=False).replace("\n", "\n  ")


# lines.csv is made into text this many rows at a time: the text columns of a whole batch at
# once held 110 MiB more at 1M lines
LINE_SLICE = 1 << 16
LINES_CSV_BUFFER = 4 << 20


def write_lines_csv(result: AuditResult, path: Path) -> None:
    """Every line with its match and findings, written from the batch's columns: text is
    worked out once per distinct value, the rows are never Python objects, and the columns
    are made LINE_SLICE rows at a time as they are written, never for all rows at once."""
    schema = pa.schema([(name, pa.string()) for name in LINE_COLUMNS])
    with open(path, "wb") as fh:
        fh.write(BOM.encode("utf-8"))
        # Arrow writes through a buffer of its own, taking the interpreter back (to call the
        # file's write) once per LINES_CSV_BUFFER, not per chunk of text: on the line tables'
        # thread beside the Python reports, 1M lines' writing went from 1.8-1.9 s to 0.6-0.8
        sink = pa.BufferedOutputStream(pa.PythonFile(fh, mode="w"), LINES_CSV_BUFFER)
        try:
            with pacsv.CSVWriter(sink, schema,
                                 write_options=pacsv.WriteOptions(quoting_style="needed")) as w:
                for table in lines_report_slices(result):
                    for batch in table.to_batches():
                        w.write_batch(pa.record_batch(
                            [pc.cast(c, pa.string()) for c in batch.columns], schema=schema))
        except BaseException:
            with suppress(Exception):  # while `fh` is open; the write's own error is the one
                sink.close()
            raise
        sink.close()  # its last bytes into `fh` (a full disk raises here)


def lines_report_table(result: AuditResult, decoded: bool = True) -> pa.Table:
    """lines.csv as an Arrow table of text columns (LINE_COLUMNS order). Text from data is
    spreadsheet-safe (`safe_text`), worked out once per distinct value. `decoded=False`: the
    columns as the writer takes them, each cast to text gives the column: repeated text as
    dictionary columns, line ids and rows as numbers."""
    return _LineText(result).rows(0, None, decoded)


def lines_report_slices(result: AuditResult, rows: int = LINE_SLICE):
    """lines_report_table(result, decoded=False) in slices of `rows` rows (at least one,
    empty for no lines)."""
    text = _LineText(result)
    for start in range(0, max(text.table.num_rows, 1), rows):
        yield text.rows(start, rows, decoded=False)


class _LineText:
    """What every slice of lines.csv shares, worked out once: the columns that are codes into
    words (repeated text, amounts, matched services: the words made once, the codes sliced
    without a copy), the findings' ids per line, the matches of a hand-built result."""

    def __init__(self, result: AuditResult):
        t = result.lines.table
        n = t.num_rows
        if "line_id" not in t.column_names:  # a hand-built result: not enriched by the pipeline
            t = t.append_column("line_id", pa.array(range(n), pa.int64()))
        self.table = t
        self.findings = findings_of_lines(result.findings)
        services = _safe(pa.array([s.service_id for s in result.services] or [""], pa.string()))
        self.scores = None
        if "match_method" in t.column_names:  # the pipeline's match columns
            svc = t.column("service")
            methods, reasons = _safe(t.column("match_method")), _safe(t.column("match_reason"))
        else:  # a hand-built result: matches as records
            matches = list(result.matches) if len(result.matches) == n else []
            svc = pa.array([m.service for m in matches], pa.int32()) if matches else pa.nulls(n, pa.int32())
            methods = _safe(pa.array([m.method for m in matches] if matches else [""] * n, pa.string()))
            self.scores = pa.array([f"{m.score:.1f}" for m in matches] if matches else [""] * n, pa.string())
            reasons = _safe(pa.array([m.reason for m in matches] if matches else [""] * n, pa.string()))
        self.coded = {
            **{name: _safe(t.column(name)) for name in _CODED_TEXT},
            **{name: _decimal_text(t.column(name)) for name in ("quantity", "unit_price", "amount")},
            "matched_service_id": _coded(svc, services),
            "match_method": methods,
            "match_reason": reasons,
        }

    def rows(self, start: int, length: int | None, decoded: bool) -> pa.Table:
        t = self.table.slice(start, length)
        n = t.num_rows
        columns = {name: codes.slice(start, n) for name, codes in self.coded.items()}
        columns.update({
            "line_id": t.column("line_id"),
            "line_key": _safe(t.column("key")),
            "row": t.column("row"),
            "page": _text_of(t.column("page")),
            "invoice_date": _text_of(t.column("invoice_date")),
            "period_start": _text_of(t.column("period_start")),
            "period_end": _text_of(t.column("period_end")),
            "period_inferred": pc.if_else(t.column("period_inferred"), "yes", ""),
            "match_score": _score_text(t.column("match_score")) if self.scores is None
            else self.scores.slice(start, n),
            "findings": self.findings(pa.array(np.arange(start, start + n, dtype=np.int64))),
        })
        if decoded:
            return pa.table({name: pc.cast(columns[name], pa.string()) for name in LINE_COLUMNS})
        return pa.table({name: columns[name] for name in LINE_COLUMNS})


# the lines' own text columns: repeated values (dictionary columns in the pipeline's table)
_CODED_TEXT = ("source", "carrier", "account", "invoice_number", "service_id", "description",
               "charge_type")


def findings_column(findings, line_ids: pa.Array) -> pa.Array:
    """Each line's findings (their ids, space-separated, in the findings' order; "" for none)
    for lines given by id: text is made for the few flagged lines, not per line."""
    return findings_of_lines(findings)(line_ids)


def findings_of_lines(findings):
    """findings_column as a function of the line ids, the findings' text made once."""
    flagged: dict[int, list[str]] = {}
    for f in findings:
        for i in f.line_ids:
            flagged.setdefault(i, []).append(f.id)
    texts = pa.array(["", *(" ".join(ids) for ids in flagged.values())], pa.string())
    ids = pa.array(list(flagged), pa.int64())

    def of(line_ids: pa.Array) -> pa.Array:
        at = pc.index_in(line_ids, value_set=ids.cast(line_ids.type))
        return texts.take(pc.add(pc.fill_null(at, -1), 1))
    return of


def _score_text(col) -> pa.Array:
    """Scores as '100.0', one format per distinct score."""
    encoded = one_array(col).dictionary_encode()
    words = [f"{v:.1f}" for v in encoded.dictionary.to_pylist()]
    return _coded(encoded.indices, pa.array(words, pa.string()))


def one_array(col) -> pa.Array:
    """A column as one array: its only chunk as it is (combine_chunks copies even one: 4 MiB
    per column of codes at 1M lines)."""
    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def _safe(col) -> pa.Array:
    """A text column from data as plain, spreadsheet-safe strings: each distinct value is
    decoded and neutralised once (`safe_text`), the rows only index them."""
    col = one_array(col)
    if not pa.types.is_dictionary(col.type):  # mostly distinct (line keys): checked as they are
        return _neutralised(pc.fill_null(col.cast(pa.string()), ""))
    words = _neutralised(pc.fill_null(col.dictionary.cast(pa.string()), ""))
    return _coded(col.indices, words)


def _text_of(col) -> pa.Array:
    """A column of dates or numbers as text ("" for none), made once per distinct value."""
    col = one_array(col)
    encoded = col.dictionary_encode()
    return _coded(encoded.indices, pc.fill_null(pc.cast(encoded.dictionary, pa.string()), ""))


def _coded(indices, words: pa.Array) -> pa.DictionaryArray:
    """`words[indices]` as a dictionary column (text only for the distinct words); a null
    index is the word ""."""
    indices = one_array(indices)
    indices = pc.cast(indices, pa.int32())
    words = pc.cast(words, pa.string())
    if indices.null_count or not len(words):
        words = pa.concat_arrays([words, pa.array([""], pa.string())])
        indices = pc.fill_null(indices, len(words) - 1)
    return pa.DictionaryArray.from_arrays(indices, words)


def _neutralised(words: pa.Array) -> pa.Array:
    """`safe_text` over an array of distinct values."""
    formula = pc.match_substring_regex(words, _FORMULA_START_RE)
    if not pc.any(formula).as_py():
        return words  # as they are: nothing to copy
    return pc.if_else(formula, pc.binary_join_element_wise("'", words, ""), words)


def _decimal_text(col) -> pa.Array:
    """Exact decimals as the carrier wrote them: 450.00, 0.0125 (formatted per distinct value)."""
    col = one_array(col)
    encoded = col.dictionary_encode()
    return _coded(encoded.indices, decimal_words(encoded.dictionary))


def decimal_words(values: pa.Array) -> pa.Array:
    """Decimals as `plain(plain_amount(v))` writes them ("" for none), by Arrow: to the cent
    when that is exact, else without trailing zeros (22,000 distinct amounts at 1M lines took
    0.15 s one by one in Python).

    >>> from decimal import Decimal as D
    >>> decimal_words(pa.array([D("450"), D("0.0125"), D("-0.01"), D("1.0001"), None],
    ...                        pa.decimal128(38, 6))).to_pylist()
    ['450.00', '0.0125', '-0.01', '1.0001', '']
    """
    if not pa.types.is_decimal(values.type) or values.type.scale < 2:
        return pa.array([plain(plain_amount(v)) if v is not None else ""
                         for v in values.to_pylist()], pa.string())
    text = pc.cast(values, pa.string())  # every digit of the scale: 450.000000
    cents = pc.replace_substring_regex(text, r"(\.\d\d)0*$", r"\1")
    trimmed = pc.replace_substring_regex(text, r"0+$", "")
    exact = pc.match_substring_regex(text, r"\.\d\d0*$")
    return pc.fill_null(pc.if_else(exact, cents, trimmed), "")


def invoice_rows(result: AuditResult) -> list[dict]:
    """invoices.csv's rows (and findings.xlsx's Invoices sheet's), one dict of INVOICE_COLUMNS
    an invoice."""
    at_issue: dict[tuple, list] = {}
    for f in result.findings:
        acc = at_issue.setdefault((f.carrier, f.account, f.invoice_number), [0, Decimal(0)])
        acc[0] += 1
        acc[1] += f.amount_at_issue
    counts = _lines_per_invoice(result)
    rows = []
    for k, inv in enumerate(result.invoices):
        n, amount = at_issue.get(inv.key, (0, Decimal(0)))
        lines, total = counts.get(k, (0, Decimal(0)))
        rows.append({**{c: getattr(inv, c) for c in _INVOICE_FIELDS}, "lines": lines,
                     "lines_total": plain_amount(total),
                     "self_check_failed": "yes" if inv.self_check_failed else "",
                     "findings": n, "amount_at_issue": amount,
                     "copies_set_aside": "; ".join(inv.copies)})
    return rows


# the columns an invoice holds itself (model_dump would copy its line ids too)
_INVOICE_FIELDS = [c for c in INVOICE_COLUMNS if c in Invoice.model_fields]


def _lines_per_invoice(result: AuditResult) -> dict[int, tuple[int, Decimal]]:
    t = result.lines.table
    if "invoice" not in t.column_names or not t.num_rows:
        return {}
    sums = t.select(["invoice", "amount"]).group_by("invoice").aggregate(
        [("amount", "count"), ("amount", "sum")])
    return {r["invoice"]: (r["amount_count"], r["amount_sum"]) for r in sums.to_pylist()}


def _num(v):
    return "" if v is None else str(v)


def write_errors_json(result: AuditResult, path: Path) -> None:
    data = [e.model_dump(exclude_none=True) for e in result.errors]
    _write_json(data, path)
