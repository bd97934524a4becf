"""`make audit`: a newcomer runs the audit on their own files without knowing about .venv."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconcile.cli import SAMPLE_DIR

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
BIN = str(Path(sys.executable).parent)  # this Python's console scripts, wherever it is


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], capture_output=True, text=True,
                          timeout=300)


def test_make_audit_runs_reconcile_audit_with_the_paths_given():
    got = make("-n", "audit", "INVOICES=bills/2024 bills/2025", "INVENTORY=my circuits.xlsx",
               "OUT=audit-2025", "MAPPING=map.yaml", "SHEET=Circuits")
    assert got.returncode == 0, got.stderr
    assert (".venv/bin/reconcile audit bills/2024 bills/2025 --inventory \"my circuits.xlsx\" "
            "--out \"audit-2025\" --columns \"map.yaml\" --sheet \"Circuits\"") in got.stdout
    got = make("-n", "audit", "INVOICES=bills", "INVENTORY=inv.csv")
    assert '--inventory "inv.csv" --out "reconcile-report" ||' in got.stdout
    got = make("-n", "audit", "INVOICES=bills", "INVENTORY=inv.csv", "CONTRACTS=my contracts.xlsx",
               "ORDERS=orders.csv", "PAYMENTS=paid.csv", "AS_OF=2025-06-30")
    assert ('--out "reconcile-report" --contracts "my contracts.xlsx" --orders "orders.csv" '
            '--payments "paid.csv" --as-of "2025-06-30" ||') in got.stdout


def test_make_audit_without_its_paths_says_how_to_call_it_before_installing_anything():
    got = make("audit", "INVENTORY=inv.csv")
    assert got.returncode == 2
    assert "usage: make audit INVOICES=" in got.stderr and "pip" not in got.stdout


def test_make_audit_on_the_sample(tmp_path):
    got = make("audit", f"INVOICES={SAMPLE_DIR / 'invoices'}",
               f"INVENTORY={SAMPLE_DIR / 'inventory.xlsx'}", f"OUT={tmp_path / 'report'}",
               f"BIN={BIN}", "STAMP=")  # this environment's reconcile, installed already
    assert got.returncode == 0, got.stderr
    assert f"Report: {tmp_path / 'report'}/report.html" in got.stdout
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    assert len(json.loads((tmp_path / "report" / "findings.json").read_text())["findings"]) \
        == len(truth)


def test_the_readme_tells_a_newcomer_how_to_run_on_their_own_files():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = readme[:readme.index("## Use")]
    assert "make audit INVOICES=" in intro and "INVENTORY=" in intro
    assert ".venv/bin/reconcile audit" in intro
