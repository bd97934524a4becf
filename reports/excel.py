"""findings.xlsx, for finance: a Summary sheet (the CIO's answer), then Findings, Invoices and
Lines. The Lines sheet holds a batch's lines up to LINES_IN_WORKBOOK; of a bigger batch, only
the lines findings are about (a workbook of a million rows is of no use to a person;
lines.csv and lines.parquet have them all), and the Summary sheet says so.

The sheets are worked out from the audit first as plain values (`workbook_parts`: the Summary
and Lines sheets' rows, and the findings and invoices as the records the CSVs are written
from, which reconcile.reports.cells makes the Findings and Invoices sheets of), so a big
workbook can be written by another process while this one writes the other reports
(reconcile.reports.apart): XlsxWriter takes about 12 us a cell, 2-3 s for the 200,000 cells
of a million-line batch."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pyarrow as pa

from reconcile.core.lines import plain_column
from reconcile.core.result import AuditResult
from reconcile.reports.cells import finding_fields
from reconcile.reports.tabular import invoice_rows
from reconcile.reports.workbook import Sheet

LINES_IN_WORKBOOK = 10_000

LINES = [("line_key", "text"), ("source", "text"), ("row", "int"), ("page", "int"),
         ("carrier", "text"), ("account", "text"), ("invoice_number", "text"),
         ("invoice_date", "date"), ("service_id", "text"), ("description", "text"),
         ("charge_type", "text"), ("period_start", "date"), ("period_end", "date"),
         ("quantity", "number"), ("unit_price", "money"), ("amount", "money"),
         ("matched_service_id", "text"), ("findings", "text")]


def workbook_parts(result: AuditResult, answer: dict) -> tuple:
    """What `findings_book` makes the sheets of (reconcile.reports.cells): the Summary and
    Lines sheets, the findings and the invoices as plain records, which the CSV and JSON files
    are written from too."""
    return (Sheet("Summary", [("figure", "text"), ("detail", "text"), ("amount", "money")],
                  list(_summary_rows(result, answer))),
            [finding_fields(f) for f in result.findings], invoice_rows(result),
            Sheet("Lines", LINES, list(_line_rows(result))))


def _summary_rows(result: AuditResult, a: dict):
    yield [a["sentence"], "", None]
    yield ["As of", a["as_of"], None]
    yield ["Bills from", f"{a['period_from']} to {a['period_to']} ({a['bills']} bills)", None]
    yield ["Billed", "", Decimal(a["billed_total"])]
    yield ["At issue (overcharges)", "", Decimal(a["at_issue_total"])]
    yield ["Unverified (services not in the inventory)", "", Decimal(a["unverified_total"])]
    yield ["Claimable now", f"{a['claimable_now']['count']} finding(s), first deadline "
           f"{a['claimable_now']['earliest_deadline'] or '-'}", Decimal(a["claimable_now"]["total"])]
    yield ["Past the dispute window", f"{a['outside_window']['count']} finding(s)",
           Decimal(a["outside_window"]["total"])]
    yield ["Recurring every month until fixed", "", Decimal(a["recurring_monthly"])]
    yield ["Savings a month on the advice", "", Decimal(a["savings_monthly"])]
    for r in a["claimable_now"]["by_account"]:
        yield [f"Claimable: {r['carrier']} {r['account']}",
               f"{r['count']} finding(s), by {r['earliest_deadline']}", Decimal(r["total"])]
    if len(result.lines) > LINES_IN_WORKBOOK:
        yield [f"The Lines sheet holds only the lines findings are about (up to "
               f"{LINES_IN_WORKBOOK:,}) of the {len(result.lines):,}; lines.csv and "
               f"lines.parquet hold them all.", "", None]


def _line_rows(result: AuditResult):
    """The lines of a batch up to LINES_IN_WORKBOOK; of a bigger batch, only the lines
    findings are about (up to as many), in batch order."""
    t = result.lines.table
    if not t.num_rows:
        return
    flagged: dict[int, str] = {}
    for f in result.findings:
        for i in f.line_ids:
            flagged[i] = f"{flagged.get(i, '')} {f.id}".strip()
    if t.num_rows <= LINES_IN_WORKBOOK:
        part = t
    else:
        ids = t.column("line_id").to_numpy() if "line_id" in t.column_names else \
            np.arange(t.num_rows)
        chosen = np.isin(ids, np.fromiter(flagged, np.int64, len(flagged)))
        rows = np.flatnonzero(chosen)[:LINES_IN_WORKBOOK]
        part = t.take(pa.array(rows))
    n = part.num_rows
    services = [s.service_id for s in result.services]
    cols = {c: plain_column(part.column("key" if c == "line_key" else c)).to_pylist() for c, _ in LINES
            if ("key" if c == "line_key" else c) in part.column_names}
    svc = part.column("service").to_pylist() if "service" in part.column_names else [None] * n
    ids = part.column("line_id").to_pylist() if "line_id" in part.column_names else list(range(n))
    blank = [None] * n
    getters = []
    for c, _ in LINES:
        if c == "matched_service_id":
            getters.append(lambda r: services[svc[r]] if svc[r] is not None else "")
        elif c == "findings":
            getters.append(lambda r: flagged.get(ids[r], ""))
        else:
            values = cols.get(c, blank)
            getters.append(lambda r, values=values: _text(values[r]) if isinstance(values[r], str)
                           else values[r])
    for r in range(n):
        yield [get(r) for get in getters]


def _text(v) -> str:
    if v is None:
        return ""
    return v.value if hasattr(v, "value") else str(v)

