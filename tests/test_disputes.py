"""Dispute packets (reports/disputes.py) and findings.xlsx (reports/excel.py): one packet per
carrier x account x rule with claimable money, totals to the cent, sheets finance can use."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
from openpyxl import load_workbook

from reconcile.audit import audit_parsed
from reconcile.core.result import AuditOptions
from reconcile.reports.outputs import write_all
from reconcile.rules.examples import parse_examples

# Account 0042 (leading zero) overbilled 50.00 on each of three monthly bills; a charge for a
# circuit nobody has, its description a formula; contract window 30 days for the account.
BILLS = """Not a finding: packets::

    service | C-1 | account 0042 | carrier Acme | rate 450.00
    contract | C-1 | account 0042 | carrier Acme | rate 450.00 | dispute-window 30
    invoice | I-4 | account 0042 | carrier Acme | billed 2025-04-01
    line | C-1 | MRC | 2025-04-01..2025-04-30 | 500.00 | Port
    invoice | I-5 | account 0042 | carrier Acme | billed 2025-05-01
    line | C-1 | MRC | 2025-05-01..2025-05-31 | 500.00 | Port
    invoice | I-6 | account 0042 | carrier Acme | billed 2025-06-01
    line | C-1 | MRC | 2025-06-01..2025-06-30 | 500.00 | Port
    line | ZZ-999 | MRC | 2025-06-01..2025-06-30 | 80.00 | =HYPERLINK("http://x")
    expect | nothing
"""


def _run(tmp_path, **options):
    [ex] = parse_examples(BILLS)
    given = ex.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines,
                          AuditOptions(as_of=date(2025, 6, 10), **options), records=given.records)
    write_all(result, tmp_path / "run")
    return tmp_path / "run"


def _index(run):
    with (run / "disputes" / "index.csv").open(encoding="utf-8-sig") as fh:
        return {r["rule"]: r for r in csv.DictReader(fh)}


def test_one_packet_per_account_and_rule_with_claimable_money_only(tmp_path):
    run = _run(tmp_path)
    index = _index(run)
    # the 30-day window leaves May (deadline 31 May) and April out; June's 50.00 is claimable
    assert index["rate-above-contract"]["total"] == "50.00"
    assert index["rate-above-contract"]["findings"] == "1"
    assert index["rate-above-contract"]["earliest_deadline"] == "2025-07-01"
    assert index["unknown-service"]["total"] == "80.00"
    assert set(index) == {"rate-above-contract", "unknown-service"}
    folder = run / "disputes" / index["rate-above-contract"]["folder"]
    with (folder / "claim.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert sum(Decimal(r["amount_disputed"]) for r in rows) == Decimal("50.00")
    assert rows[0]["account"] == "0042" and rows[0]["invoice_number"] == "I-6"
    text = pdfium.PdfDocument(folder / "letter.pdf")[0].get_textpage().get_text_range()
    assert "$50.00" in text and "0042" in text and "01 July 2025" in text


def test_all_disputes_adds_expired_packets_marked(tmp_path):
    index = _index(_run(tmp_path, all_disputes=True))
    assert index["rate-above-contract"]["total"] == "150.00"
    assert index["rate-above-contract"]["expired"] == "yes"


def test_unknown_services_are_asked_about_and_carrier_text_never_runs(tmp_path):
    run = _run(tmp_path)
    folder = run / "disputes" / _index(run)["unknown-service"]["folder"]
    text = pdfium.PdfDocument(folder / "letter.pdf")[0].get_textpage().get_text_range()
    assert "identify the services" in text
    sheet = load_workbook(folder / "claim.xlsx")["Claim"]
    charge = sheet.cell(row=2, column=5)
    assert charge.value.startswith("=HYPERLINK") and charge.data_type == "s"
    with (folder / "claim.csv").open(encoding="utf-8-sig") as fh:
        assert next(csv.DictReader(fh))["charge"].startswith("'=HYPERLINK")


def test_findings_workbook_keeps_ids_text_money_numbers_dates_dates(tmp_path):
    wb = load_workbook(_run(tmp_path) / "findings.xlsx")
    assert wb.sheetnames == ["Summary", "Findings", "Invoices", "Lines"]
    findings = wb["Findings"]
    assert findings.freeze_panes == "A2" and findings.auto_filter.ref
    head = [c.value for c in findings[1]]
    rows = [dict(zip(head, (c.value for c in r))) for r in findings.iter_rows(min_row=2)]
    rate = [r for r in rows if r["rule"] == "rate-above-contract"]
    assert len(rate) == 3 and all(r["account"] == "0042" for r in rate)
    assert sum(Decimal(str(r["amount_at_issue"])) for r in rate) == Decimal("150.00")
    cell = findings.cell(row=2, column=head.index("amount_at_issue") + 1)
    assert cell.data_type == "n" and "$" in cell.number_format
    assert findings.cell(row=2, column=head.index("invoice_date") + 1).is_date
    lines = wb["Lines"]
    descriptions = [r[9].value for r in lines.iter_rows(min_row=2)]
    formula = [c for r in lines.iter_rows(min_row=2) for c in r if
               isinstance(c.value, str) and c.value.startswith("=")]
    assert formula and all(c.data_type == "s" for c in formula), descriptions
    summary = wb["Summary"]
    assert summary["A2"].value.startswith("Over the 18 months to 10 Jun 2025")


def test_a_big_batch_keeps_the_lines_findings_are_about_in_the_workbook(tmp_path, monkeypatch):
    import reconcile.reports.excel as excel

    [ex] = parse_examples(BILLS.replace("    expect | nothing", "    line | C-1 | tax | - | 3.00 | Tax\n"
                                        "    line | C-1 | tax | - | 4.00 | Tax\n    expect | nothing"))
    given = ex.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines,
                          AuditOptions(as_of=date(2025, 6, 10)), records=given.records)
    flagged = {i for f in result.findings for i in f.line_ids}
    monkeypatch.setattr(excel, "LINES_IN_WORKBOOK", len(flagged) + 1)
    write_all(result, tmp_path / "run")
    wb = load_workbook(tmp_path / "run" / "findings.xlsx")
    rows = list(wb["Lines"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(flagged) < len(result.lines)
    assert all(r[-1] for r in rows)  # every line a finding is about, and only those
    assert any("only the lines findings are about" in str(r[0]) for r in
               wb["Summary"].iter_rows(min_row=2, values_only=True))


def test_a_workbook_past_the_in_memory_cells_is_streamed_and_holds_the_same_cells(tmp_path, monkeypatch):
    import zipfile

    import reconcile.reports.workbook as workbook

    held = _run(tmp_path / "held") / "findings.xlsx"
    monkeypatch.setattr(workbook, "IN_MEMORY_CELLS", 0)
    streamed = _run(tmp_path / "streamed") / "findings.xlsx"
    # held: each text once in the shared table; streamed: every text in its cell
    assert "xl/sharedStrings.xml" in zipfile.ZipFile(held).namelist()
    assert "xl/sharedStrings.xml" not in zipfile.ZipFile(streamed).namelist()
    assert _cells(streamed) == _cells(held)


def _cells(path):
    """Every sheet's cells as (value, type, number format), to compare two workbooks."""
    wb = load_workbook(path)
    return {ws.title: [[(c.value, c.data_type, c.number_format) for c in row]
                       for row in ws.iter_rows()] for ws in wb.worksheets}


def _recording_popen(monkeypatch):
    import subprocess

    import reconcile.reports.outputs as outputs

    started = []
    real = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(outputs.subprocess, "Popen", popen)
    return started


APART_FILES = ("findings.csv", "findings.json", "invoices.csv")  # beside findings.xlsx


def _apart_files(run):
    return {name: (run / name).read_bytes() for name in APART_FILES}


def test_a_big_workbook_is_written_by_another_process_and_is_the_same(tmp_path, monkeypatch):
    """With it, that process writes the findings' CSV and JSON and invoices.csv: the same
    bytes as written here."""
    import reconcile.reports.outputs as outputs

    here_run = _run(tmp_path / "here")
    here = _cells(here_run / "findings.xlsx")
    started = _recording_popen(monkeypatch)
    monkeypatch.setattr(outputs, "WORKBOOK_APART_CELLS", 0)
    monkeypatch.setattr(outputs, "run_apart", None)  # nothing of it may be written here
    apart_run = _run(tmp_path / "apart")
    apart = _cells(apart_run / "findings.xlsx")
    assert len(started) == 1 and started[0].returncode == 0
    assert apart == here and len(here["Findings"]) > 1
    assert _apart_files(apart_run) == _apart_files(here_run)
    assert b"rate-above-contract" in _apart_files(here_run)["findings.csv"]


def test_the_workbook_is_written_here_when_its_process_cannot_run(tmp_path, monkeypatch):
    import sys

    import reconcile.reports.outputs as outputs

    here_run = _run(tmp_path / "here")
    here = _cells(here_run / "findings.xlsx")
    monkeypatch.setattr(outputs, "WORKBOOK_APART_CELLS", 0)
    for k, interpreter in enumerate(["/bin/false", str(tmp_path / "no-such-python")]):
        monkeypatch.setattr(sys, "executable", interpreter)  # fails, or cannot start
        failed = _run(tmp_path / f"failed{k}")
        assert _cells(failed / "findings.xlsx") == here
        assert _apart_files(failed) == _apart_files(here_run)
    monkeypatch.undo()
    started = _recording_popen(monkeypatch)
    monkeypatch.setattr(outputs, "WORKBOOK_APART_CELLS", 0)
    monkeypatch.setattr(outputs, "WORKBOOK_WAIT_S", 0)  # not done at once: stopped, written here
    assert _cells(_run(tmp_path / "stuck") / "findings.xlsx") == here
    assert len(started) == 1 and started[0].returncode is not None


def test_a_failed_run_stops_the_workbooks_process_and_leaves_no_folder(tmp_path, monkeypatch):
    import pytest

    import reconcile.reports.outputs as outputs

    started = _recording_popen(monkeypatch)
    monkeypatch.setattr(outputs, "WORKBOOK_APART_CELLS", 0)

    def broken(*args, **kwargs):
        raise RuntimeError("the page could not be made")

    monkeypatch.setattr(outputs, "write_html", broken)
    with pytest.raises(RuntimeError):
        _run(tmp_path)
    assert len(started) == 1 and started[0].poll() is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.lock"]


def test_findings_the_process_cannot_be_sent_are_written_here(tmp_path, monkeypatch):
    """Evidence that cannot be pickled (rules put plain values there, but a rule could put
    anything) is no reason to fail: the findings' files are written here, as without a
    process, and the same as a batch whose evidence can be sent."""
    import reconcile.reports.outputs as outputs

    [ex] = parse_examples(BILLS)
    given = ex.inputs()
    result = audit_parsed(given.services, given.invoices, given.lines,
                          AuditOptions(as_of=date(2025, 6, 10)), records=given.records)
    write_all(result, tmp_path / "sent")
    for f in result.findings:
        f.evidence["seen"] = _Unsendable("as plain text")
    started = _recording_popen(monkeypatch)
    monkeypatch.setattr(outputs, "WORKBOOK_APART_CELLS", 0)
    write_all(result, tmp_path / "here")
    assert started == []  # nothing sent, no process
    sent, here = _apart_files(tmp_path / "sent"), _apart_files(tmp_path / "here")
    assert b"as plain text" in here["findings.json"] and b"as plain text" in here["findings.csv"]
    assert here["invoices.csv"] == sent["invoices.csv"]


class _Unsendable(str):
    """Text that refuses to be pickled (as a lock or an open file would)."""

    def __reduce__(self):
        raise TypeError("cannot pickle this")
