"""The columnar floor of the independent batch (bench/independent_bulk.py): what reading,
joining and grouping its files costs at least, for `independent_bulk.py run` to divide by.

    .venv/bin/python bench/independent_floor.py FOLDER [--json]

DuckDB reads each spelling's files with one multi-file scan (northwind: comma, `1,234.50`,
ISO dates; bluestem: semicolon, `$1,234.50` / `-$12.00`, MM/DD/YYYY; cascade: tab,
`01-Dec-2025`, a TOTAL row closing each bill, set apart as the stated total), money as
DECIMAL and dates as DATE in SQL. The XLSX inventory is read by openpyxl in read-only mode
(values only), the cheapest reader installed. IDs are keyed by one vectorised expression
(upper case, non-alphanumerics dropped, a leading 1 of an 11-digit number dropped: a cheap
approximation of reconcile's matching). Then one join and three group-bys: billed per
account and bill, lines after their service's disconnect date, bills whose TOTAL row differs
from their lines.

A floor, not a second engine: no fuzzy matching, no rules, no reports. It prints its seconds
per step and its peak RSS (one process: DuckDB and pyarrow threads included).
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

KEY = ("regexp_replace(regexp_replace(upper({col}), '[^A-Z0-9]', '', 'g'), "
       "'^1([0-9]{{10}})$', '\\1')")
SPELLINGS = {
    "northwind": (",", "csv", """
        SELECT "BAN" AS account, "Invoice No" AS invoice, "Circuit" AS sid,
               "Period From"::DATE AS ps, "Period To"::DATE AS pe,
               replace("Amount", ',', '')::DECIMAL(14, 2) AS amount, false AS total_row
        FROM src"""),
    "bluestem": (";", "csv", """
        SELECT "Account #" AS account, "Invoice #" AS invoice, "Service ID" AS sid,
               strptime(nullif("Start Date", ''), '%m/%d/%Y')::DATE AS ps,
               strptime(nullif("End Date", ''), '%m/%d/%Y')::DATE AS pe,
               (CASE WHEN "Total" LIKE '-%' THEN -1 ELSE 1 END)
               * replace(replace(replace("Total", '-', ''), '$', ''), ',', '')::DECIMAL(14, 2)
               AS amount, false AS total_row
        FROM src"""),
    "cascade": ("\t", "txt", """
        SELECT "Billing Account" AS account, "Bill Number" AS invoice,
               "Telephone Number" AS sid,
               strptime(nullif("Service From", ''), '%d-%b-%Y')::DATE AS ps,
               strptime(nullif("Service To", ''), '%d-%b-%Y')::DATE AS pe,
               "Charge Amount"::DECIMAL(14, 2) AS amount,
               "Service Description" = 'TOTAL' AS total_row
        FROM src"""),
}


def floor(folder: Path) -> dict:
    t0 = time.perf_counter()
    db = duckdb.connect()
    parts = []
    for name, (delim, ext, select) in SPELLINGS.items():
        files = str(folder / "invoices" / name / "*" / f"*.{ext}")
        db.execute(f"""CREATE TEMP VIEW src_{name} AS SELECT * FROM read_csv(
            '{files}', delim='{delim}', header=true, all_varchar=true, filename=true)""")
        parts.append(select.replace("FROM src", f"FROM src_{name}")
                     .replace("SELECT ", "SELECT filename, ", 1))
    db.execute("CREATE TEMP TABLE lines AS " + " UNION ALL ".join(parts))
    n_lines = db.execute("SELECT count(*) FROM lines WHERE NOT total_row").fetchall()[0][0]
    t1 = time.perf_counter()
    inventory = _inventory(folder / "inventory.xlsx")
    db.register("inventory", inventory)
    t2 = time.perf_counter()
    db.execute(f"""CREATE TEMP TABLE keyed AS
        SELECT l.*, {KEY.format(col='l.sid')} AS k FROM lines l WHERE NOT total_row""")
    db.execute(f"""CREATE TEMP TABLE services AS
        SELECT {KEY.format(col='sid')} AS k, account, rate, disconnect FROM inventory""")
    t3 = time.perf_counter()
    matched = db.execute("SELECT count(*) FROM keyed l JOIN services s USING (k)").fetchall()[0][0]
    billed = db.execute("""SELECT account, invoice, sum(amount) FROM keyed
                           GROUP BY account, invoice""").fetchall()
    after = db.execute("""SELECT count(*) FROM keyed l JOIN services s USING (k)
                          WHERE s.disconnect IS NOT NULL AND l.ps > s.disconnect""").fetchall()[0][0]
    off = db.execute("""
        SELECT count(*) FROM (SELECT filename, sum(amount) AS stated FROM lines
                              WHERE total_row GROUP BY filename) t
        JOIN (SELECT filename, sum(amount) AS lines FROM lines WHERE NOT total_row
              GROUP BY filename) l USING (filename)
        WHERE t.stated <> l.lines""").fetchall()[0][0]
    t4 = time.perf_counter()
    return {"lines": n_lines, "bills": len(billed), "matched": matched,
            "after_disconnect": after, "totals_off": off,
            "read_invoices_s": round(t1 - t0, 3), "read_inventory_s": round(t2 - t1, 3),
            "keys_s": round(t3 - t2, 3), "join_group_s": round(t4 - t3, 3),
            "inner_s": round(t4 - t0, 3),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10}


def _inventory(path: Path) -> pa.Table:
    """Circuit ID, Account Number, Monthly Rate and Disconnect Date of every row, values only."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    head = [str(h) for h in next(rows)]
    at = {name: head.index(name) for name in
          ("Circuit ID", "Account Number", "Monthly Rate", "Disconnect Date")}
    cols: dict[str, list] = {name: [] for name in at}
    for row in rows:
        for name, i in at.items():
            cols[name].append(row[i] if i < len(row) else None)
    wb.close()
    return pa.table({
        "sid": pa.array([str(v) if v is not None else None for v in cols["Circuit ID"]], pa.string()),
        "account": pa.array([str(v) if v is not None else None for v in cols["Account Number"]],
                            pa.string()),
        "rate": pa.array([float(v) if v is not None else None for v in cols["Monthly Rate"]],
                         pa.float64()),  # a floor: not summed as money
        "disconnect": pa.array([v.date() if v is not None else None for v in cols["Disconnect Date"]],
                               pa.date32()),
    })


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--json", action="store_true", help="print one JSON line only")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    got = floor(args.folder)
    got["wall_s"] = round(time.perf_counter() - t0, 3)
    if args.json:
        print(json.dumps(got))
    else:
        for k, v in got.items():
            print(f"{k:18s} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
