"""The findings and invoices tables as cells: findings.csv, findings.json and invoices.csv
written from plain records (text, Decimal, date, lists, dicts), spreadsheet-safe as
reconcile.reports.tabular's docstring says (`safe_text`, `number_cell`).

Plain Python only (no Arrow, no pydantic), so the process that writes findings.xlsx beside
the other reports (reconcile.reports.apart) writes these too, from records this process
makes (`finding_fields`, one dict a finding): at a million lines that took 0.7 s of the
interpreter off the reports' path.

>>> from decimal import Decimal
>>> safe_text("=HYPERLINK(1)"), number_cell(Decimal("-12.5")), plain(Decimal("450"))
("'=HYPERLINK(1)", '-12.50', '450.00')
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

FINDING_COLUMNS = ["id", "rule", "category", "severity", "carrier", "account", "invoice_number", "invoice_date",
                   "service_id", "matched_service_id", "description", "period_start", "period_end",
                   "billed_amount", "expected_amount", "amount_at_issue", "explanation", "evidence",
                   "line_ids"]
INVOICE_COLUMNS = ["carrier", "account", "invoice_number", "invoice_date", "due_date", "source",
                   "pages", "lines", "lines_total", "stated_total", "total_where", "previous_balance",
                   "payments", "adjustments", "current_charges", "amount_due", "unreadable_rows",
                   "self_check_failed", "findings", "amount_at_issue", "copies_set_aside"]
# columns written from numbers, dates or our own words: never neutralised (the rest are text)
FINDING_NUMBERS = {"invoice_date", "period_start", "period_end", "billed_amount", "expected_amount",
                   "amount_at_issue"}
INVOICE_NUMBERS = {"invoice_date", "due_date", "pages", "lines", "lines_total", "stated_total",
                   "previous_balance", "payments", "adjustments", "current_charges", "amount_due",
                   "unreadable_rows", "findings", "amount_at_issue"}
BOM = "\ufeff"
# what a spreadsheet takes for the start of a formula (OWASP), and their full-width forms
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_CENT = Decimal("0.01")


def plain(v):
    """A value as JSON and CSV write it: money to the cent when that is exact, dates ISO,
    enums as their value, containers item by item."""
    if v.__class__ is str or v is None:  # most values: as they are, without the checks below
        return v
    if isinstance(v, Decimal):
        return f"{v:.2f}" if v == v.quantize(_CENT) else str(v)
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "value"):
        return v.value
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def safe_text(value) -> str:
    """A text cell a spreadsheet shows and never runs: a leading formula character gets a
    single quote before it (OWASP's CSV-injection guidance)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def number_cell(value) -> str:
    """A money, count or date cell: written as the number it is. Anything else that turns up
    in such a column is text, and neutralised as text."""
    if value is None:
        return ""
    if isinstance(value, (Decimal, int, date)) and not isinstance(value, bool):
        return str(plain(value))
    return safe_text(plain(value))


def csv_file(path: Path):
    """A CSV file as Excel reads it: UTF-8 with a byte-order mark ('utf-8-sig' writes it); a
    file name that is not valid UTF-8 is written with its bytes escaped, not a crash."""
    return open(path, "w", newline="", encoding="utf-8-sig", errors="backslashreplace")


def _json_value(v):
    """What json cannot write itself, as `plain` writes it (money to the cent)."""
    if isinstance(v, (Decimal, date)) or hasattr(v, "value"):
        return plain(v)
    raise TypeError(f"{type(v).__name__} in a finding is not JSON")


compact_json = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "),
                                default=_json_value).encode


# -- the findings -------------------------------------------------------------------------

def finding_fields(f) -> dict:
    """A finding's FINDING_COLUMNS as a plain dict (its category and severity as their
    values): what the writers below take, and what another process is sent."""
    d = {k: getattr(f, k) for k in FINDING_COLUMNS}
    d["category"] = d["category"].value if d["category"] is not None else None
    d["severity"] = d["severity"].value
    return d


def write_findings_csv_of(findings: list[dict], path: Path) -> None:
    """findings.csv from `finding_fields` records: numbers as numbers, text made safe, the
    evidence as compact JSON, the line ids space-separated."""
    with csv_file(path) as fh:
        w = csv.writer(fh)
        w.writerow(FINDING_COLUMNS)
        for f in findings:
            w.writerow([_finding_cell(f, c) for c in FINDING_COLUMNS])


def _finding_cell(f: dict, column: str) -> str:
    if column in FINDING_NUMBERS:
        return number_cell(f[column])
    if column == "evidence":
        return safe_text(compact_json(f[column]))
    if column == "line_ids":
        return " ".join(map(str, f[column]))
    return safe_text(plain(f[column]))


def write_findings_json_of(summary: str, findings: list[dict], path: Path) -> None:
    """{"summary": ..., "findings": [...]} with `summary` already JSON (indented by two), one
    finding per line: the findings (tens of thousands in a big batch) go through json's C
    encoder, which an indented dump bypasses."""
    with open(path, "w", encoding="utf-8", errors="backslashreplace") as fh:
        fh.write(f'{{\n  "summary": {summary},\n  "findings": [')
        for n, f in enumerate(findings):
            fh.write(",\n    " if n else "\n    ")
            fh.write(compact_json(f))
        fh.write("\n  ]\n}\n" if findings else "]\n}\n")


# -- the invoices -------------------------------------------------------------------------

def write_invoices_csv_of(invoices: list[dict], path: Path) -> None:
    """invoices.csv from one dict of INVOICE_COLUMNS an invoice."""
    with csv_file(path) as fh:
        w = csv.writer(fh)
        w.writerow(INVOICE_COLUMNS)
        for values in invoices:
            w.writerow([number_cell(values[c]) if c in INVOICE_NUMBERS else safe_text(plain(values[c]))
                        for c in INVOICE_COLUMNS])


# -- findings.xlsx ------------------------------------------------------------------------

FINDINGS_SHEET = [("id", "text"), ("rule", "text"), ("category", "text"), ("severity", "text"),
                  ("carrier", "text"), ("account", "text"), ("invoice_number", "text"),
                  ("invoice_date", "date"), ("service_id", "text"), ("matched_service_id", "text"),
                  ("description", "text"), ("period_start", "date"), ("period_end", "date"),
                  ("billed_amount", "money"), ("expected_amount", "money"),
                  ("amount_at_issue", "money"), ("explanation", "text")]
INVOICES_SHEET = [("carrier", "text"), ("account", "text"), ("invoice_number", "text"),
                  ("invoice_date", "date"), ("due_date", "date"), ("source", "text"),
                  ("previous_balance", "money"), ("payments", "money"), ("current_charges", "money"),
                  ("amount_due", "money"), ("stated_total", "money"), ("lines", "int"),
                  ("lines_total", "money"), ("findings", "int"), ("amount_at_issue", "money")]


def findings_book(summary, findings: list[dict], invoices: list[dict], lines) -> list:
    """findings.xlsx's sheets (reconcile.reports.excel): Summary, then Findings and Invoices
    made here from the same records as the CSVs, then Lines."""
    from reconcile.reports.workbook import Sheet  # here: importing this module loads no XlsxWriter

    return [summary,
            Sheet("Findings", FINDINGS_SHEET, [[_sheet_text(f[c]) if k == "text" else f[c]
                                                for c, k in FINDINGS_SHEET] for f in findings]),
            Sheet("Invoices", INVOICES_SHEET, [[_sheet_text(r[c]) if k == "text" else r[c]
                                                for c, k in INVOICES_SHEET] for r in invoices]),
            lines]


def write_findings_book_of(path: Path, summary, findings: list[dict], invoices: list[dict],
                           lines) -> None:
    from reconcile.reports.workbook import write_book

    write_book(path, findings_book(summary, findings, invoices, lines))


def _sheet_text(v) -> str:
    if v is None:
        return ""
    return v.value if hasattr(v, "value") else str(v)
