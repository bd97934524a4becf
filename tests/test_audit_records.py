"""`reconcile audit ... --contracts --orders --payments --as-of`: the files reach the rules,
are never read as invoices, and are named in every report (--as-of's checks: test_cli_options)."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner

from fixtures.records_scenario import NEW, A, scenario
from reconcile.cli import main


def test_the_three_files_reach_the_rules_and_every_report(tmp_path):
    bills = scenario(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "audit", str(bills), "--inventory", str(tmp_path / "inventory.csv"),
        "--contracts", str(bills / "contracts.xlsx"), "--orders", str(bills / "orders.csv"),
        "--payments", str(bills / "payments.csv"), "--as-of", "2025-06-30", "--out", str(out)])
    assert res.exit_code == 1, res.output  # the contracts file's bad row is reported
    data = json.loads((out / "findings.json").read_text())
    # the renewal's 400.00 is the rate in force, not the inventory's 450.00; the circuit of the
    # completed install order is not unknown; the bill's balance is no total mismatch
    assert [(f["rule"], f["service_id"], f["amount_at_issue"]) for f in data["findings"]] == [
        ("rate-above-contract", A, "50.00")]
    summary = data["summary"]
    assert summary["inputs"] == {"inventory": "inventory.csv", "contracts": "bills/contracts.xlsx",
                                 "orders": "bills/orders.csv", "payments": "bills/payments.csv"}
    assert summary["records_read"] == {"contracts": 2, "orders": 1, "payments": 1}
    assert summary["as_of"] == "2025-06-30"
    assert summary["files"] == 1 and summary["invoices"] == 1 and summary["lines"] == 3
    assert ("Inputs: inventory inventory.csv, contracts bills/contracts.xlsx (2 terms), orders "
            "bills/orders.csv (1 order), payments bills/payments.csv (1 payment); as of "
            "2025-06-30.") in res.output
    for kind in ("contracts", "orders", "payments"):
        assert f"given as the {kind} file, not read as an invoice" in res.output
    errors = json.loads((out / "errors.json").read_text())
    assert [(e["file"], e["row"], e["effect"]) for e in errors] == [
        ("bills/contracts.xlsx", 4, "row skipped")]
    html = (out / "report.html").read_text()
    assert "contracts: bills/contracts.xlsx · orders: bills/orders.csv · payments: " \
           "bills/payments.csv" in html and "as of 2025-06-30" in html
    invoice = (out / "invoices.csv").read_text().splitlines()[1]
    assert "960.00,-960.00,,960.00,960.00" in invoice  # previous, payments, adj., current, due


def test_without_the_files_the_audit_is_as_before(tmp_path):
    bills = scenario(tmp_path)
    for name in ("contracts.xlsx", "orders.csv", "payments.csv"):
        (bills / name).rename(tmp_path / name)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(bills), "--inventory",
                                    str(tmp_path / "inventory.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads((out / "findings.json").read_text())
    assert [(f["rule"], f["service_id"]) for f in data["findings"]] == [("unknown-service", NEW)]
    assert data["summary"]["inputs"] == {"inventory": "inventory.csv"}
    assert data["summary"]["as_of"] == date.today().isoformat()


def test_a_records_file_that_cannot_be_read_leaves_the_audit_going(tmp_path):
    bills = scenario(tmp_path)
    (bills / "orders.csv").write_text("nothing,here\n1,2\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, [
        "audit", str(bills / "bill.csv"), "--inventory", str(tmp_path / "inventory.csv"),
        "--orders", str(bills / "orders.csv"), "--out", str(out)])
    assert res.exit_code == 1, res.output
    data = json.loads((out / "findings.json").read_text())
    assert ("unknown-service", NEW) in [(f["rule"], f["service_id"]) for f in data["findings"]]
    assert "orders" not in data["summary"]["inputs"]
    assert data["summary"]["files"] == 1 and data["summary"]["files_read"] == 1
    (error,) = json.loads((out / "errors.json").read_text())
    assert error["file"].endswith("orders.csv") and error["effect"] == "file skipped"
