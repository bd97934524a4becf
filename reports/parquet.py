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

# the pipeline's columns kept beside the line's own (reconcile.enrich, reconcile.matching)
PIPELINE_COLUMNS = ("line_id", "invoice", "match_method", "match_score", "match_reason")


def lines_parquet_table(result: AuditResult) -> pa.Table:
    t = result.lines.table
    if "line_id" not in t.column_names:  # a hand-built result: positions, as lines.csv has them
        t = t.append_column("line_id", pa.array(range(t.num_rows), pa.int64()))
    keep = [c for c in ("line_id", *COLUMNS, *PIPELINE_COLUMNS[1:]) if c in t.column_names]
    out = t.select(keep)
    services = pa.array([s.service_id for s in result.services] or [""], pa.string())
    if "service" in t.column_names:
        index = t.column("service").combine_chunks()
    else:  # a hand-built result: matches as records
        matched = result.matches if len(result.matches) == len(t) else [None] * len(t)
        index = pa.array([m.service if m else None for m in matched], pa.int32())
    out = out.append_column("matched_service_id", services.take(index))
    # the inventory row (services.parquet `index`) each line matched, for `reconcile explain`
    out = out.append_column("service_index", index)
    flagged: dict[int, list[str]] = {}
    for f in result.findings:
        for i in f.line_ids:
            flagged.setdefault(i, []).append(f.id)
    ids = out.column("line_id").to_pylist() if "line_id" in out.column_names else range(len(out))
    return out.append_column("findings", pa.array([" ".join(flagged.get(i, ())) for i in ids],
                                                  pa.string()))


def write_lines_parquet(result: AuditResult, path: Path) -> None:
    pq.write_table(lines_parquet_table(result), path, compression="zstd")
