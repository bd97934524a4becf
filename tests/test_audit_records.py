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
    # the rules that needed it say the file given could not be read, not that none was given
    gaps = {g["rule"]: g["reason"] for g in data["summary"]["not_checked"]}
    assert gaps["nrc-without-order"] == "the orders file given could not be read (errors.json says why)"
    assert "the orders file given could not be read" in res.output


def test_a_payments_file_and_the_bills_summary_rows_reach_payment_not_applied(tmp_path):
    """Paid 450.00 on 2025-03-10 (payments.csv); the April bill's summary rows say nothing was
    received and carry the 450.00 forward: the payment was not applied."""
    from fixtures.tables import write_csv

    write_csv(tmp_path / "inventory.csv", [["Circuit ID", "BAN", "MRC", "Install Date"],
                                           [A, "8310", "450.00", "2024-01-01"]])
    write_csv(tmp_path / "payments.csv", [["BAN", "Paid On", "Amount", "Check Number"],
                                          ["8310", "03/10/2025", "$450.00", "1001"]])
    rows = [["Account", "Invoice", "Bill Date", "Circuit ID", "Description", "Type",
             "Period Start", "Period End", "Amount"]]
    for number, day, end, paid, due in (("88100", "2025-03-01", "2025-03-31", "-450.00", "450.00"),
                                        ("88231", "2025-04-01", "2025-04-30", "0.00", "900.00")):
        bill = ["8310", number, day, ""]
        rows += [[*bill, "Balance Forward", "", "", "", "450.00"],
                 [*bill, "Payments Received", "", "", "", paid],
                 ["8310", number, day, A, "MPLS port", "MRC", day, end, "450.00"],
                 [*bill, "Total Current Charges", "", "", "", "450.00"],
                 [*bill, "Total Amount Due", "", "", "", due]]
    write_csv(tmp_path / "bills.csv", rows)
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "bills.csv"), "--inventory",
                                    str(tmp_path / "inventory.csv"), "--payments",
                                    str(tmp_path / "payments.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    found = json.loads((out / "findings.json").read_text())["findings"]
    assert [(f["rule"], f["invoice_number"], f["amount_at_issue"]) for f in found] == [
        ("payment-not-applied", "88231", "450.00")]
