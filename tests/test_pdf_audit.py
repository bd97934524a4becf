"""`reconcile audit` takes carrier PDFs exactly as it takes CSV exports, and finds the same problems."""

from __future__ import annotations

import csv
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from fixtures.pdf_invoices import (insert_page, scan_page, write_encrypted_pdf, write_image_only_pdf, write_invoice_csv,
                                   write_non_invoice_pdf, write_not_a_pdf, write_truncated_pdf)
from pdf_cases import LAYOUTS, printed_fields, render, write_inventory
from reconcile.audit import run_audit
from reconcile.cli import main


def finding_facts(result) -> list[tuple]:
    """What a finding says, less where its lines sit in the file (row vs page and line)."""
    return sorted((f.rule, f.carrier, f.account, f.invoice_number, f.service_id, f.matched_service_id,
                   f.description, f.period_start, f.period_end, f.billed_amount, f.expected_amount,
                   f.amount_at_issue) for f in result.findings)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_same_bill_as_pdf_and_as_csv_gives_the_same_lines_and_findings(tmp_path, layout):
    style = LAYOUTS[layout]
    pdf, inv, lines = render(tmp_path, layout)
    write_invoice_csv(inv, lines, tmp_path / "bill.csv")
    inventory = tmp_path / "inventory.csv"
    sids = write_inventory(inventory, inv, lines, style.carrier, overbilled=0, missing=1)

    from_pdf = run_audit([pdf], inventory)
    from_csv = run_audit([tmp_path / "bill.csv"], inventory)

    assert from_pdf.errors == [] and from_csv.errors == []

    def line_facts(result):
        return sorted((ln.carrier, ln.account, ln.invoice_number, ln.invoice_date, *printed_fields(ln, style))
                      for ln in result.lines)
    assert line_facts(from_pdf) == line_facts(from_csv)
    assert finding_facts(from_pdf) == finding_facts(from_csv)
    # and they are the problems planted, not an empty list agreeing with an empty list
    assert {(f.rule, f.service_id, f.amount_at_issue) for f in from_pdf.findings} >= {
        ("rate-above-contract", sids[0], Decimal("50.00"))}
    assert "unknown-service" in {f.rule for f in from_pdf.findings if f.service_id == sids[1]}
    (pdf_inv,), (csv_inv,) = from_pdf.invoices, from_csv.invoices
    assert (pdf_inv.account, pdf_inv.invoice_number, pdf_inv.invoice_date) == (
        csv_inv.account, csv_inv.invoice_number, csv_inv.invoice_date)


def test_a_folder_of_bad_pdfs_and_one_good_bill_through_the_cli(tmp_path):
    bills = tmp_path / "bills"
    bills.mkdir()
    good, inv, lines = render(bills, "summit", name="good.pdf")
    bad = {
        "scan.pdf": write_image_only_pdf(bills / "scan.pdf"),
        "locked.pdf": write_encrypted_pdf(bills / "locked.pdf"),
        "truncated.pdf": write_truncated_pdf(bills / "truncated.pdf"),
        "spreadsheet.pdf": write_not_a_pdf(bills / "spreadsheet.pdf"),
        "empty.pdf": bills / "empty.pdf",
        "meeting_notes.pdf": write_non_invoice_pdf(bills / "meeting_notes.pdf"),
        "with_scanned_page.pdf": render(bills, "northwind", name="with_scanned_page.pdf",
                                        account="5550-0001-99", seed=11)[0],
    }
    bad["empty.pdf"].write_bytes(b"")
    insert_page(bad["with_scanned_page.pdf"], 2)  # a blank page: a note, not an error
    scan_page(bad["with_scanned_page.pdf"], 4, insert=True)
    inventory = tmp_path / "inventory.csv"
    overbilled, *_ = write_inventory(inventory, inv, lines, LAYOUTS["summit"].carrier, overbilled=0)
    out = tmp_path / "out"

    res = CliRunner().invoke(main, ["audit", str(bills), "--inventory", str(inventory), "--out", str(out)])

    assert res.exit_code == 1, res.output
    errors = json.loads((out / "errors.json").read_text())
    assert sorted(Path(e["file"]).name for e in errors) == sorted(bad)
    (paged,) = [e for e in errors if e["file"].endswith("with_scanned_page.pdf")]
    assert paged["page"] == 4 and paged["effect"] == "page skipped"
    rows = list(csv.DictReader(open(out / "lines.csv", encoding="utf-8-sig")))
    from_good = [r for r in rows if r["source"].endswith("good.pdf")]
    assert len(from_good) == len(lines)
    assert sum(Decimal(r["amount"]) for r in from_good) == inv.stated_total
    assert len([r for r in rows if r["source"].endswith("with_scanned_page.pdf")]) == 40
    # a finding is marked on its own lines only, not on every line of the same page
    findings = json.loads((out / "findings.json").read_text())["findings"]
    (rate,) = [f for f in findings if f["rule"] == "rate-above-contract"]
    marked = {r["service_id"] for r in rows if rate["id"] in r["findings"].split()}
    assert marked == {overbilled}


@pytest.mark.parametrize("layout", ["northwind", "bluepeak"])
def test_invoices_csv_gives_each_bill_its_printed_summary_and_money_at_issue(tmp_path, layout):
    path, inv, lines = render(tmp_path, layout, previous_balance=Decimal("980.00"),
                              payments=Decimal("-980.00"), current_charges_delta=Decimal("25.00"))
    write_inventory(tmp_path / "inventory.csv", inv, lines, LAYOUTS[layout].carrier, overbilled=0)
    run = CliRunner().invoke(main, ["audit", str(path), "--inventory", str(tmp_path / "inventory.csv"),
                                    "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    (row,) = list(csv.DictReader(open(tmp_path / "out" / "invoices.csv", encoding="utf-8-sig")))
    total = sum((ln.amount for ln in lines), Decimal(0))
    assert (row["account"], row["invoice_number"]) == (inv.account, inv.invoice_number)
    assert Decimal(row["lines_total"]) == total and int(row["lines"]) == len(lines)
    assert Decimal(row["stated_total"]) == total + 25
    assert (Decimal(row["previous_balance"]), Decimal(row["payments"])) == (980, -980)
    assert Decimal(row["amount_due"]) == total + 25
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    assert {f["rule"] for f in findings} >= {"invoice-total-mismatch", "rate-above-contract"}
    assert int(row["findings"]) == len(findings)
    assert Decimal(row["amount_at_issue"]) == sum(Decimal(f["amount_at_issue"]) for f in findings)
