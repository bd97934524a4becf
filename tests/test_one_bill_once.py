"""A bill is one bill, whatever files it came from (issue 9): a folder as users have it —
CSV exports and PDFs of the same bills, a re-downloaded export, the inventory in the same
folder — gives exactly the findings of the clean folder, and says which files it set aside."""

from __future__ import annotations

import csv
import shutil
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from fixtures.scenario_pdf import generate_pdf
from fixtures.truth import CENT, finding_key
from reconcile.audit import run_audit
from reconcile.bills import carrier_key
from reconcile.core.models import Category


def found(result) -> Counter:
    return Counter((finding_key(f), f.amount_at_issue.quantize(CENT)) for f in result.findings)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    out = tmp_path_factory.mktemp("twin")
    generate_pdf(out, 7)
    return out


@pytest.fixture(scope="module")
def clean(scenario):
    return run_audit([scenario / "invoices"], scenario / "inventory.xlsx", workers=1)


def test_csv_and_pdf_of_the_same_bills_are_audited_once(scenario, clean, tmp_path):
    folder = tmp_path / "as-received"
    shutil.copytree(scenario / "invoices", folder)
    shutil.copytree(scenario / "pdf", folder / "pdf")
    got = run_audit([folder], scenario / "inventory.xlsx", workers=1)
    assert found(got) == found(clean)
    assert got.total_at_issue == clean.total_at_issue
    assert len(got.invoices) == len(clean.invoices)
    assert got.total_billed == clean.total_billed
    copies = [inv for inv in got.invoices if inv.copies]
    assert copies and all(".pdf" in c or ".csv" in c or ".tsv" in c or ".txt" in c
                          for inv in copies for c in inv.copies)
    assert any("set aside" in n for n in got.notes)


def test_a_re_downloaded_export_is_read_once(scenario, clean, tmp_path):
    folder = tmp_path / "downloads"
    shutil.copytree(scenario / "invoices", folder)
    some = sorted(p for p in folder.rglob("*") if p.is_file())[0]
    shutil.copy(some, some.with_name(f"{some.stem} (1){some.suffix}"))
    got = run_audit([folder], scenario / "inventory.xlsx", workers=1)
    assert found(got) == found(clean)
    assert any("identical content" in n and "(1)" in n for n in got.notes)


def test_a_summary_export_beside_the_detail_is_not_added_to_it(tmp_path, inventory_csv):
    """An account-summary export (one line per charge category) and the per-line detail of
    the same bill: the same money, fewer lines. The detail is audited, the summary set aside."""
    detail = tmp_path / "bills" / "detail.csv"
    detail.parent.mkdir()
    rows = [("8310", "INV-9", "2025-04-01", "12.HCGS.123456..LY", "MPLS port", "MRC", "450.00"),
            ("8310", "INV-9", "2025-04-01", "212-555-0147", "Line", "MRC", "45.00"),
            ("8310", "INV-9", "2025-04-01", "", "Federal USF", "Tax", "12.40")]
    _write(detail, rows)
    _write(tmp_path / "bills" / "summary.csv",
           [("8310", "INV-9", "2025-04-01", "", "Monthly charges", "MRC", "495.00"),
            ("8310", "INV-9", "2025-04-01", "", "Taxes and surcharges", "Tax", "12.40")])
    got = run_audit([tmp_path / "bills"], inventory_csv, workers=1)
    assert len(got.invoices) == 1 and len(got.lines) == 3
    assert got.total_billed == Decimal("507.40")
    assert not [f for f in got.findings if f.rule in ("duplicate-charge", "invoice-total-mismatch")]
    assert "summary.csv" in got.invoices[0].copies[0]


def test_one_bill_split_over_two_files_is_still_one_bill_with_all_its_lines(tmp_path, inventory_csv):
    bills = tmp_path / "bills"
    bills.mkdir()
    _write(bills / "recurring.csv",
           [("8310", "INV-9", "2025-04-01", "12.HCGS.123456..LY", "MPLS port", "MRC", "450.00")])
    _write(bills / "taxes.csv", [("8310", "INV-9", "2025-04-01", "", "Federal USF", "Tax", "12.40")])
    got = run_audit([bills], inventory_csv, workers=1)
    assert len(got.invoices) == 1 and len(got.lines) == 2 and not got.invoices[0].copies


def test_one_carrier_is_one_carrier_whatever_its_case():
    assert carrier_key("MERIDIAN FIBER") == carrier_key("Meridian Fiber") == carrier_key("meridian-fiber")


def test_money_at_issue_on_a_bill_never_exceeds_what_it_charged(scenario, clean):
    charged: dict[tuple, Decimal] = {}
    for inv in clean.invoices:
        charged[inv.key] = max(inv.stated_total or Decimal(0), Decimal(0))
    for ln in clean.lines:
        if ln.amount > 0:
            key = (ln.carrier, ln.account, ln.invoice_number)
            charged[key] = charged.get(key, Decimal(0)) + ln.amount
    at_issue: dict[tuple, Decimal] = {}
    for f in clean.findings:
        if f.category is Category.OVERCHARGE:
            key = (f.carrier, f.account, f.invoice_number)
            at_issue[key] = at_issue.get(key, Decimal(0)) + f.amount_at_issue
    for key, amount in at_issue.items():
        assert amount <= charged.get(key, Decimal(0)), (key, amount, charged.get(key))


@pytest.fixture
def inventory_csv(tmp_path) -> Path:
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,Account,Monthly Rate\n12.HCGS.123456..LY,8310,450.00\n"
                    "212-555-0147,8310,45.00\n")
    return path


def _write(path: Path, rows) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Account Number", "Invoice Number", "Invoice Date", "Circuit ID",
                    "Charge Description", "Charge Type", "Amount"])
        w.writerows(rows)


def test_files_sharing_one_table_are_set_aside_and_respelled_as_files_with_their_own(
        scenario, tmp_path, monkeypatch):
    """Small files' lines are held as rows of one shared table (reconcile.bills.SharedFile);
    copies set aside, bills dropped and carriers respelled give the same batch, line for
    line, as when each file keeps its own table."""
    import reconcile.audit as audit_module

    folder = tmp_path / "as-received"
    shutil.copytree(scenario / "invoices", folder)
    shutil.copytree(scenario / "pdf", folder / "pdf")
    some = sorted(p for p in folder.rglob("*.csv"))[0]
    shutil.copy(some, some.with_name(f"{some.stem} (1){some.suffix}"))
    shared = run_audit([folder], scenario / "inventory.xlsx", workers=1)
    monkeypatch.setattr(audit_module, "SHARED_MAX_ROWS", 0)  # every file its own table
    own = run_audit([folder], scenario / "inventory.xlsx", workers=1)
    assert [ln.model_dump() for ln in shared.lines] == [ln.model_dump() for ln in own.lines]
    assert shared.notes == own.notes and found(shared) == found(own)
    assert any("identical content" in n for n in shared.notes)
    assert any(inv.copies for inv in shared.invoices)


def test_a_files_bills_are_counted_and_summed_alike_one_bill_or_many(scenario):
    """bill_stats sums a one-bill file's lines without a group-by: the same (lines, total) as
    the group-by gives, for every file of the scenario, each on its own and as rows of a
    table it shares with the others, and for a table of many bills."""
    from reconcile.bills import SharedFile, bill_stats, grouped_stats, shared_files
    from reconcile.core.lines import concat
    from reconcile.parsers.readers import read_invoices

    paths = sorted(p for p in (scenario / "invoices").rglob("*") if p.is_file())
    tables = [read_invoices(p).lines.table for p in paths]
    files = [(SharedFile(str(p), [], None), t) for p, t in zip(paths, tables)]
    shared_files(files)
    one_bill = 0
    for (f, own) in files:
        assert bill_stats(own) == grouped_stats(own), f.path
        assert f.stats() == grouped_stats(own), f.path
        one_bill += len(grouped_stats(own)) == 1
    assert one_bill >= 5  # the fast path was taken
    many = concat(tables)
    assert len(bill_stats(many)) > 10 and bill_stats(many) == grouped_stats(many)
