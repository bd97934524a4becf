"""`reconcile audit ... --contracts --orders --payments --as-of`: the files reach the rules,
are never read as invoices, and are named in every report (--as-of's checks: test_cli_options)."""

from __future__ import annotations

import json
from datetime import date

from click.testing import CliRunner

from reconcile.cli import main
from fixtures.tables import write_csv, write_xlsx

A, B, NEW = "12.HCGS.123456..LY", "47.KQGN.900211..LY", "99.ABCD.000001..LY"
BAN = "8310-4471-22"


def scenario(tmp_path):
    """A tiny batch: two circuits in the inventory at 450.00 and 310.00. The contract renewed
    A at 400.00 from 2025-01-01 (the bill still charges 450.00: 50.00 over); a completed install
    order for a third circuit the inventory never got; a payment. The three files sit in the
    invoice folder, as they often do. The bill carries last month's balance, paid."""
    bills = tmp_path / "bills"
    bills.mkdir()
    write_csv(tmp_path / "inventory.csv", [
        ["Circuit ID", "BAN", "Vendor", "MRC", "Install Date"],
        [A, BAN, "Lumen", "450.00", "2024-01-01"], [B, BAN, "Lumen", "310.00", "2024-01-01"]])
    write_xlsx(bills / "contracts.xlsx", {"Terms": [
        ["Provider", "Billing Account", "Circuit", "Contracted MRC", "Contract Start",
         "Contract End", "At Term End", "MTM %"],
        ["Lumen", BAN, A, 450.0, date(2024, 1, 1), date(2024, 12, 31), "Auto-Renew", None],
        ["Lumen", BAN, A, 400.0, date(2025, 1, 1), date(2027, 12, 31), "Month-to-Month", 1.25],
        ["Lumen", BAN, "", 999.0, date(2025, 1, 1), date(2027, 12, 31), "", None]]})  # bad row
    write_csv(bills / "orders.csv", [
        ["Order No", "BAN", "Vendor", "Circuit ID", "Type", "Order Status", "Request Date",
         "Desired Due Date", "Completion Date", "Install Charge", "New MRC"],
        ["PON-7", BAN, "Lumen", NEW, "Connect", "Closed", "2025-01-10", "2025-03-01",
         "2025-03-01", "0", "200.00"]])
    write_csv(bills / "payments.csv", [["Account Number", "Payment Date", "Amount", "Payment ID"],
                                       [BAN, "2025-03-20", "960.00", "ACH-1"]])
    write_csv(bills / "bill.csv", [
        ["Account", "Invoice", "Bill Date", "Circuit ID", "Description", "Type", "Period Start",
         "Period End", "Amount"],
        [BAN, "88231", "2025-04-01", "", "Balance Forward", "", "", "", "960.00"],
        [BAN, "88231", "2025-04-01", "", "Payments Received - Thank You", "", "", "", "-960.00"],
        [BAN, "88231", "2025-04-01", A, "MPLS port", "MRC", "2025-04-01", "2025-04-30", "450.00"],
        [BAN, "88231", "2025-04-01", B, "DIA 50M", "MRC", "2025-04-01", "2025-04-30", "310.00"],
        [BAN, "88231", "2025-04-01", NEW, "DIA 100M", "MRC", "2025-04-01", "2025-04-30", "200.00"],
        [BAN, "88231", "2025-04-01", "", "Total Current Charges", "", "", "", "960.00"],
        [BAN, "88231", "2025-04-01", "", "Total Amount Due", "", "", "", "960.00"],
        [BAN, "88231", "2025-04-01", "", "Payment Due", "", "", "", "04/25/2025"]])
    return bills


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
