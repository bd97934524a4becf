"""The columnar floor: what reading, joining and grouping the bulk bench's files costs at least.

    .venv/bin/python bench/floor.py INVOICES... --inventory inventory.csv [--json]

Over the files fixtures/bulk.py writes (one known CSV dialect, its headers hard-coded below):
pyarrow.csv reads every invoice file (amounts as decimal128, dates as date32, IDs as strings)
and the inventory; the generator's "Invoice Total" rows are set apart as stated totals; the
circuit/phone key is normalised by one vectorised expression over the distinct IDs (upper
case, non-alphanumerics dropped: a cheap approximation of reconcile's matching, which also
knows CLCI zero padding and a phone's leading 1, so about 6% of the bulk lines the engine
matches stay unmatched here); DuckDB joins lines to services and groups: billed per account
and invoice, lines whose period starts after the service's disconnect date, invoices whose
stated total differs from their lines.

This is a floor for bench/bench_audit.py to divide by, not a second engine: no fuzzy matching,
no rules, no reports. It prints its seconds per step and its peak RSS (DuckDB and pyarrow run
threads in this one process, so the process's maximum resident set is all of it).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv

MONEY = pa.decimal128(14, 2)
INVOICE_TYPES = {
    "Carrier": pa.string(), "Account Number": pa.string(), "Invoice Number": pa.string(),
    "Invoice Date": pa.date32(), "Circuit ID": pa.string(), "Charge Description": pa.string(),
    "Charge Type": pa.string(), "Period Start": pa.date32(), "Period End": pa.date32(),
    "Amount": MONEY,
}
INVENTORY_TYPES = {
    "Circuit ID": pa.string(), "BAN": pa.string(), "Vendor": pa.string(), "Product": pa.string(),
    "MRC": MONEY, "Install Date": pa.date32(), "Disconnect Date": pa.date32(),
    "Term End": pa.string(),
}
TOTAL_ROW = r"^\s*(invoice\s+)?total\s*$"


def invoice_files(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out += sorted(p.rglob("*.csv")) if p.is_dir() else [p]
    return out


def read(path: Path, types: dict) -> pa.Table:
    # empty cells are nulls for every type, strings included (a TOTAL row's empty circuit ID)
    convert = csv.ConvertOptions(column_types=types, strings_can_be_null=True)
    return csv.read_csv(path, convert_options=convert)


def per_distinct(fn, column: pa.ChunkedArray) -> pa.Array:
    """fn over the column's distinct values only, taken back to every row (IDs and
    descriptions repeat: 50,000 services under a million lines)."""
    encoded = pc.dictionary_encode(column).combine_chunks()  # one dictionary for all chunks
    return pc.take(fn(encoded.dictionary), encoded.indices)


def service_key(ids: pa.Array) -> pa.Array:
    """Upper case, letters and digits only: '12.hcgs.123456..ly' -> '12HCGS123456LY'."""
    return pc.replace_substring_regex(pc.utf8_upper(ids), pattern="[^A-Z0-9]", replacement="")


def total_row(descriptions: pa.Array) -> pa.Array:
    return pc.match_substring_regex(descriptions, TOTAL_ROW, ignore_case=True)


def arrow(relation) -> pa.Table:
    """A DuckDB relation's rows as an Arrow table (the method's name moved between releases)."""
    return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()


def floor(invoices: list[Path], inventory: Path) -> dict:
    steps: dict[str, float] = {}
    t = t0 = time.perf_counter()

    def step(name: str) -> None:
        nonlocal t
        now = time.perf_counter()
        steps[name] = round(now - t, 3)
        t = now

    files = invoice_files(invoices)
    table = pa.concat_tables([read(f, INVOICE_TYPES) for f in files])
    services = read(inventory, INVENTORY_TYPES)
    step("read_s")

    is_total = pc.and_(pc.is_null(table["Circuit ID"]),
                       per_distinct(total_row, table["Charge Description"]))
    totals = table.filter(is_total).select(["Account Number", "Invoice Number", "Amount"])
    lines = table.filter(pc.invert(is_total))
    lines = lines.append_column("key", per_distinct(service_key, lines["Circuit ID"]))
    services = services.append_column("key", per_distinct(service_key, services["Circuit ID"]))
    step("normalise_s")

    con = duckdb.connect()
    con.register("lines", lines)
    con.register("services", services)
    con.register("totals", totals)
    per_invoice = arrow(con.sql("""
        WITH s AS (  -- one row per key, should two inventory IDs normalise alike
            SELECT key, min("Disconnect Date") AS disconnect FROM services GROUP BY key)
        SELECT l."Account Number" AS account, l."Invoice Number" AS invoice,
               sum(l."Amount") AS billed, count(*) AS lines, count(s.key) AS matched,
               count(*) FILTER (WHERE l."Period Start" > s.disconnect) AS after_disconnect
        FROM lines l LEFT JOIN s ON l.key = s.key
        GROUP BY ALL
    """))
    con.register("per_invoice", per_invoice)
    mismatched = con.sql("""
        SELECT count(*) FROM per_invoice p
        JOIN totals t ON t."Account Number" = p.account AND t."Invoice Number" = p.invoice
        WHERE t."Amount" <> p.billed
    """).fetchall()[0][0]
    step("join_group_s")

    n = lines.num_rows
    return {
        "files": len(files), "lines": n, "total_rows": totals.num_rows,
        "services": services.num_rows, "invoices": per_invoice.num_rows,
        "matched": int(pc.sum(per_invoice["matched"]).as_py()),
        "after_disconnect": int(pc.sum(per_invoice["after_disconnect"]).as_py()),
        "total_mismatch": int(mismatched),
        "billed": str(pc.sum(per_invoice["billed"]).as_py()),
        **steps, "seconds": round(time.perf_counter() - t0, 3),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("invoices", nargs="+", type=Path, help="invoice CSV files or folders")
    ap.add_argument("--inventory", required=True, type=Path)
    ap.add_argument("--json", action="store_true", help="one JSON line instead of the text")
    args = ap.parse_args(argv)
    got = floor(args.invoices, args.inventory)
    if args.json:
        print(json.dumps(got))
        return 0
    print(f"floor: {got['lines']:,} lines in {got['files']} files, {got['invoices']:,} invoices, "
          f"{got['services']:,} services")
    print(f"  read {got['read_s']:.2f} s, normalise {got['normalise_s']:.2f} s, "
          f"join+group {got['join_group_s']:.2f} s = {got['seconds']:.2f} s; "
          f"peak RSS {got['peak_mb']:,} MB ({got['peak_mb'] * 2**20 / max(1, got['lines']):.0f} B/line)")
    print(f"  matched by the cheap key {got['matched']:,} ({got['matched'] / max(1, got['lines']):.1%}); "
          f"billed after disconnect {got['after_disconnect']:,}; stated totals off {got['total_mismatch']}; "
          f"billed {got['billed']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
