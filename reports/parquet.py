"""lines.parquet: every line with its match, typed, for scripts (pandas, DuckDB, Spark).

The same rows as lines.csv, but money stays decimal128 and dates stay dates, so a script
summing amounts gets the cents right without parsing text. Written straight from the batch's
columns: no Python object per line.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from reconcile.core.lines import COLUMNS
from reconcile.core.result import AuditResult
from reconcile.reports.tabular import findings_of_lines, one_array

# the pipeline's columns kept beside the line's own (reconcile.enrich, reconcile.matching)
PIPELINE_COLUMNS = ("line_id", "invoice", "match_method", "match_score", "match_reason")


# rows per row group, each made and written before the next: the whole batch as one table
# and one row group held 310 MiB more at 1M lines, row groups of 131,072 rows 56 MiB, of
# 65,536 rows 3 MiB (the file 15 MB instead of 10.4)
LINE_SLICE = 1 << 16


def lines_parquet_table(result: AuditResult) -> pa.Table:
    return pa.concat_tables(lines_parquet_slices(result, max(result.lines.table.num_rows, 1)))


def lines_parquet_slices(result: AuditResult, rows: int = LINE_SLICE):
    """lines.parquet's rows in slices of `rows` (at least one, empty for no lines)."""
    t = result.lines.table
    if "line_id" not in t.column_names:  # a hand-built result: positions, as lines.csv has them
        t = t.append_column("line_id", pa.array(range(t.num_rows), pa.int64()))
    keep = [c for c in ("line_id", *COLUMNS, *PIPELINE_COLUMNS[1:]) if c in t.column_names]
    services = pa.array([s.service_id for s in result.services] or [""], pa.string())
    if "service" in t.column_names:
        index = one_array(t.column("service"))
    else:  # a hand-built result: matches as records
        matched = result.matches if len(result.matches) == len(t) else [None] * len(t)
        index = pa.array([m.service if m else None for m in matched], pa.int32())
    findings = findings_of_lines(result.findings)
    for start in range(0, max(t.num_rows, 1), rows):
        out = t.select(keep).slice(start, rows)
        here = index.slice(start, out.num_rows)
        out = out.append_column("matched_service_id", services.take(here))
        # the inventory row (services.parquet `index`) each line matched, for `reconcile explain`
        out = out.append_column("service_index", here)
        out = out.append_column("findings", findings(one_array(out.column("line_id"))))
        yield _compact(out)


# a dictionary this small is written whole in every row group: compacting it costs more
# (a hash of every row's code) than the few words it would leave out
SMALL_DICTIONARY = 1024


def _compact(table: pa.Table) -> pa.Table:
    """Each dictionary column with the words its rows use only: a row group keeps its
    columns' whole dictionaries (else every row group held the batch's 50,000 service IDs)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            col = one_array(table.column(i))
            if len(col.dictionary) <= SMALL_DICTIONARY:
                continue
            used = pc.unique(col.indices)
            words = col.dictionary.take(used)
            codes = pc.cast(pc.index_in(col.indices, value_set=used), field.type.index_type)
            table = table.set_column(i, field, pa.DictionaryArray.from_arrays(codes, words))
    return table


# text columns whose row groups' smallest and largest values a script filters by; the other
# text (line keys, descriptions, reasons, finding ids) gets no statistics: nobody selects row
# groups by the alphabetical range of line keys, and working them out was about a sixth of
# writing the file
STATS_TEXT = ("carrier", "account", "invoice_number", "service_id", "matched_service_id")


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The columns given statistics: every number, date and flag, and the STATS_TEXT ids."""
    def text(t):
        return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t)
    return [f.name for f in schema if not text(f.type) or f.name in STATS_TEXT]


# text columns besides the dictionary ones whose values repeat line after line
REPEATED_TEXT = ("matched_service_id",)


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """The columns written with a dictionary page: those whose values repeat (the batch's
    dictionary columns, dates, REPEATED_TEXT). A line's own values (ids, keys, rows, amounts,
    finding ids) are written plain: trying a dictionary for them hashed a million values
    before giving it up, a third of writing the file at 1M lines, and made the file larger
    (15.0 MB against 10.1)."""
    return [f.name for f in schema
            if pa.types.is_dictionary(f.type) or pa.types.is_date(f.type) or f.name in REPEATED_TEXT]


def write_lines_parquet(result: AuditResult, path: Path) -> None:
    writer = None
    try:
        for part in lines_parquet_slices(result):
            if writer is None:
                writer = pq.ParquetWriter(path, part.schema, compression="zstd",
                                          use_dictionary=dictionary_columns(part.schema),
                                          write_statistics=statistics_columns(part.schema))
            writer.write_table(part)
    finally:
        if writer is not None:
            writer.close()
