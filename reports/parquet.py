"""lines.parquet: every line with its match, typed, for scripts (pandas, DuckDB, Spark).

The same rows as lines.csv, but money stays decimal128 and dates stay dates, so a script
summing amounts gets the cents right without parsing text. Written straight from the batch's
columns: no Python object per line.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from reconcile.core.lines import COLUMNS
from reconcile.core.result import AuditResult
from reconcile.reports.tabular import findings_column

# the pipeline's columns kept beside the line's own (reconcile.enrich, reconcile.matching)
PIPELINE_COLUMNS = ("line_id", "invoice", "match_method", "match_score", "match_reason")


def lines_parquet_table(result: AuditResult) -> pa.Table:
    t = result.lines.table
    keep = [c for c in ("line_id", *COLUMNS, *PIPELINE_COLUMNS[1:]) if c in t.column_names]
    out = t.select(keep)
    services = pa.array([s.service_id for s in result.services] or [""], pa.string())
    if "service" in t.column_names:
        matched = services.take(t.column("service").combine_chunks())
        out = out.append_column("matched_service_id", matched)
    ids = (out.column("line_id").combine_chunks() if "line_id" in out.column_names
           else pa.array(range(len(out)), pa.int64()))
    return out.append_column("findings", findings_column(result.findings, ids))


def write_lines_parquet(result: AuditResult, path: Path) -> None:
    pq.write_table(lines_parquet_table(result), path, compression="zstd")
