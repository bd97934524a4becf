"""The command is a contract scripts rely on: arguments, outputs, exit status."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from reconcile.cli import SAMPLE_DIR, main

INVENTORY = ("Circuit ID,BAN,Vendor,MRC,Install Date,Disconnect Date\n"
             "12.HCGS.123456..LY,8310-4471-22,Lumen,450.00,2024-01-01,2025-03-10\n"
             "212-555-1234,8310-4471-22,Lumen,45.00,,\n")
BILL = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,Service Period,Charge Amount\n"
        "8310-4471-22,88231,04/01/2025,12/HCGS/123456/LY,MPLS port,MRC,04/01/25-04/30/25,$450.00\n"
        "8310-4471-22,88231,04/01/2025,(212) 555-1234,Business line,MRC,04/01/25-04/30/25,45.00\n")


def run(tmp_path, *extra, bill=BILL):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    (tmp_path / "bills").mkdir(exist_ok=True)
    (tmp_path / "bills" / "april.csv").write_text(bill)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "bills"), "--inventory",
                                    str(tmp_path / "inventory.csv"), "--out", str(out), *extra])
    return res, out


def test_audit_writes_every_output_and_exits_0(tmp_path):
    res, out = run(tmp_path)
    assert res.exit_code == 0, res.output
    for name in ("report.html", "rules.html", "findings.json", "findings.csv", "lines.csv",
                 "invoices.csv", "errors.json"):
        assert (out / name).exists(), name
    assert 'href="rules.html#billed-after-disconnect"' in (out / "report.html").read_text()
    assert 'id="billed-after-disconnect"' in (out / "rules.html").read_text()
    data = json.loads((out / "findings.json").read_text())
    (f,) = data["findings"]
    assert f["rule"] == "billed-after-disconnect" and f["amount_at_issue"] == "450.00"
    assert f["explanation"] == ("Circuit 12.HCGS.123456..LY was disconnected on 2025-03-10 but was billed "
                                "$450.00 for April 2025 on invoice 88231 (account 8310-4471-22).")
    assert f["evidence"]["inventory_row"]["inventory_row"].endswith("inventory.csv row 2")
    assert data["summary"]["total_billed"] == "495.00"
    rows = list(csv.DictReader(open(out / "lines.csv", encoding="utf-8-sig")))
    assert [(r["matched_service_id"], r["match_method"]) for r in rows] == [
        ("12.HCGS.123456..LY", "exact"), ("212-555-1234", "exact")]
    assert rows[0]["findings"] == f["id"]
    assert "billed-after-disconnect" in res.output and "$450.00" in res.output
    assert json.loads((out / "errors.json").read_text()) == []


def test_unreadable_input_exits_1_and_is_listed(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "broken.csv").write_text("")
    res, out = run(tmp_path)
    assert res.exit_code == 1, res.output
    errs = json.loads((out / "errors.json").read_text())
    assert [e["file"].endswith("broken.csv") for e in errs] == [True]
    assert json.loads((out / "findings.json").read_text())["findings"], "the rest is still audited"


def test_usage_errors_exit_2(tmp_path):
    res = CliRunner().invoke(main, ["audit", str(tmp_path)])
    assert res.exit_code == 2 and "--inventory" in res.output
    res, _ = run(tmp_path, "--tolerance", "lots")
    assert res.exit_code == 2


def test_bad_columns_mapping_is_a_usage_error(tmp_path):
    (tmp_path / "map.yaml").write_text("invoice:\n  amout: Amt\n")
    res, _ = run(tmp_path, "--columns", str(tmp_path / "map.yaml"))
    assert res.exit_code == 2 and "amout" in res.output


def test_tolerance_option_changes_what_is_a_finding(tmp_path):
    bill = BILL.replace("$450.00", "$450.00").replace("45.00\n", "45.40\n")
    res, out = run(tmp_path, bill=bill)
    rules = [f["rule"] for f in json.loads((out / "findings.json").read_text())["findings"]]
    assert "rate-above-contract" in rules
    res, out = run(tmp_path, "--tolerance", "0.50", bill=bill)
    rules = [f["rule"] for f in json.loads((out / "findings.json").read_text())["findings"]]
    assert "rate-above-contract" not in rules


def test_reconcile_demo_as_the_readme_runs_it(tmp_path):
    """`reconcile demo`, the README's first command, through the installed console script:
    it audits the bundled sample and finds exactly its planted errors."""
    import json
    import shutil
    import subprocess
    import sys

    exe = shutil.which("reconcile", path=str(Path(sys.executable).parent))
    assert exe, "the console script `reconcile` is not installed beside this Python"
    got = subprocess.run([exe, "demo", "--out", str(tmp_path / "report")], capture_output=True,
                         text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())["findings"]
    assert len(findings) == len(truth)
    assert f"{len(truth)} finding(s) in all" in got.stdout
    from decimal import Decimal

    from reconcile.core.values import money
    overcharged = sum((Decimal(f["amount_at_issue"]) for f in findings
                       if f["category"] == "overcharge"), Decimal(0))
    assert f"Overcharged: {money(overcharged)} " in got.stdout
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
