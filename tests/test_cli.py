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
    assert f["explanation"] == ("Circuit 12.HCGS.123456..LY was to stop billing on 2025-03-10 (disconnected "
                                "per the inventory) but was billed $450.00 for April 2025, on invoice "
                                "88231 (account 8310-4471-22).")
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

    from fixtures.truth import load_truth

    exe = shutil.which("reconcile", path=str(Path(sys.executable).parent))
    assert exe, "the console script `reconcile` is not installed beside this Python"
    got = subprocess.run([exe, "demo", "--out", str(tmp_path / "report")], capture_output=True,
                         text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    # the demo passes the sample's contracts, orders and payments: their findings too
    truth = load_truth(SAMPLE_DIR, records=True)
    findings = json.loads((tmp_path / "report" / "findings.json").read_text())["findings"]
    assert len(findings) == len(truth)
    assert "Not checked" not in got.stdout + got.stderr
    assert f"{len(truth)} finding(s) in all" in got.stdout
    from decimal import Decimal

    from reconcile.core.values import money
    overcharged = sum((Decimal(f["amount_at_issue"]) for f in findings
                       if f["category"] == "overcharge"), Decimal(0))
    assert f"Overcharged: {money(overcharged)} " in got.stdout
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000


def test_lines_parquet_has_every_line_with_exact_money_and_dates(tmp_path):
    import pyarrow.parquet as pq

    from reconcile.audit import run_audit
    from reconcile.reports.outputs import write_all

    result = run_audit([SAMPLE_DIR / "invoices"], SAMPLE_DIR / "inventory.xlsx", workers=1)
    write_all(result, tmp_path)
    table = pq.read_table(tmp_path / "lines.parquet")
    assert table.num_rows == len(result.lines)
    assert str(table.schema.field("amount").type).startswith("decimal128")
    assert str(table.schema.field("period_start").type) == "date32[day]"
    from decimal import Decimal

    assert sum(table.column("amount").to_pylist(), Decimal(0)) == result.total_billed
    flagged = {i for text in table.column("findings").to_pylist() for i in text.split()}
    assert flagged == {f.id for f in result.findings if f.line_ids}
    # row groups say their range of money, dates and ids (a script's filter skips the others)
    meta = pq.ParquetFile(tmp_path / "lines.parquet").metadata.row_group(0)
    stats = {meta.column(i).path_in_schema: meta.column(i).statistics for i in range(meta.num_columns)}
    assert stats["amount"].min == min(table.column("amount").to_pylist())
    assert stats["account"].has_min_max and stats["invoice_date"].has_min_max
    assert stats["key"] is None and stats["description"] is None
    # dictionary pages for repeated values only (a line's own values are written plain)
    encodings = {meta.column(i).path_in_schema: meta.column(i).encodings for i in range(meta.num_columns)}
    for repeated in ("account", "charge_type", "invoice_date", "matched_service_id"):
        assert "RLE_DICTIONARY" in encodings[repeated], repeated
    for own in ("line_id", "key", "amount", "findings"):
        assert "RLE_DICTIONARY" not in encodings[own], own
# --- no audit on nothing ------------------------------------------------------------------------

def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_help_documents_the_exit_status():
    res = _cli("audit", "--help")
    assert res.exit_code == 0
    for words in ("0  audited", "1  audited, but some input could not be read", "2  usage error"):
        assert words in res.output, res.output


def test_an_inventory_that_gives_no_service_is_a_usage_error_and_no_report(tmp_path):
    """A wrong --sheet, an unmapped ID column, a PDF or an invoice export as the inventory, an
    empty file: exit 2, nothing written, one message saying why and what to do."""
    from test_inventory import NO_SERVICE, write_no_service

    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "april.csv").write_text(BILL)
    for k, (name, content, sheet, says) in enumerate(NO_SERVICE):
        folder = tmp_path / f"case{k}"
        folder.mkdir()
        inventory = write_no_service(folder, name, content)
        out = folder / "out"
        res = _cli("audit", tmp_path / "bills", "--inventory", inventory, "--out", out,
                   *(["--sheet", sheet] if sheet else []))
        assert res.exit_code == 2, (name, res.output)
        assert not out.exists(), name
        for words in says:
            assert words in res.output, res.output
        assert "no report was written" in res.output


def test_a_missing_invoice_path_or_an_empty_folder_is_a_usage_error(tmp_path):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "bils", tmp_path / "empty"):
        res = _cli("audit", path, "--inventory", tmp_path / "inventory.csv", "--out", tmp_path / "out")
        assert res.exit_code == 2, res.output
        assert str(path) in res.output
        assert not (tmp_path / "out").exists()


def test_the_inventory_in_the_invoice_folder_is_not_read_as_an_invoice(tmp_path):
    """The inventory kept beside the bills, and a copy of it under another name: neither is a
    bill (before, each was an unreadable invoice and the run exited 1)."""
    def kept(folder):
        return [(f["id"], f["rule"], f["amount_at_issue"])
                for f in json.loads((folder / "findings.json").read_text())["findings"]]

    res, out = run(tmp_path)
    clean = kept(out)
    (tmp_path / "bills" / "inventory.csv").write_text(INVENTORY)
    (tmp_path / "bills" / "circuits (1).csv").write_text(INVENTORY)
    res = _cli("audit", tmp_path / "bills", "--inventory", tmp_path / "bills" / "inventory.csv",
               "--out", tmp_path / "out2")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "out2" / "errors.json").read_text()) == []
    assert kept(tmp_path / "out2") == clean
    assert "given as the inventory, not read as an invoice: 2 files" in res.output


def test_the_console_says_how_much_of_the_batch_was_read(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "broken.csv").write_text("")
    res, out = run(tmp_path, bill=BILL + "8310-4471-22,88231,04/01/2025,47.KQGN.900211..LY,DIA,MRC,"
                                          "04/01/25-04/30/25,105.00\n")
    assert res.exit_code == 1
    assert "Read 1 of 2 file(s): 1 bill(s), 3 line(s), $600.00 billed" in res.output
    assert "Matched the inventory: 82.5% of the money billed to services ($495.00 of $600.00)" \
        in res.output
    summary = json.loads((out / "findings.json").read_text())["summary"]
    assert (summary["files"], summary["files_read"]) == (2, 1)
    assert (summary["billed_to_services"], summary["matched_to_inventory"]) == ("600.00", "495.00")


# --- readable by people -------------------------------------------------------------------------

def test_rules_are_named_in_plain_words_beside_their_id(tmp_path):
    res, _ = run(tmp_path)
    [row] = [ln for ln in res.output.splitlines() if "billed-after-disconnect" in ln]
    assert row.split() [:4] == ["Billed", "after", "disconnect", "billed-after-disconnect"]


def test_paths_are_shown_relative_to_the_folder_given_and_repeated_notes_grouped(tmp_path):
    """Given absolute paths outside the working folder: errors, notes and the console name files
    from the folder given; a note repeated for three files is one line."""
    titled = "Lumen Technologies\nInvoice detail export\n\n" + BILL
    (tmp_path / "bills").mkdir()
    for month in ("may", "june", "july"):
        (tmp_path / "bills" / f"{month}.csv").write_text(
            titled.replace("88231", f"88231{month}"))
    (tmp_path / "bills" / "broken.csv").write_text("")
    res, out = run(tmp_path)
    assert res.exit_code == 1
    shown = res.output.replace(str(tmp_path / "out"), "OUT").replace(f"relative to {tmp_path}", "")
    assert str(tmp_path) not in shown, shown
    [err] = json.loads((out / "errors.json").read_text())
    assert err["file"] == "bills/broken.csv"
    assert ("skipped 3 title line(s) above the header at row 4: 3 files "
            "(bills/july.csv, bills/june.csv, bills/may.csv)") in res.output
    summary = json.loads((out / "findings.json").read_text())["summary"]
    assert summary["paths_relative_to"] == str(tmp_path.resolve())
    assert "bills/broken.csv" in (out / "report.html").read_text()


# --- say what was not checked ---------------------------------------------------------------------

def test_a_rule_the_inventory_cannot_feed_is_said_not_checked(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "april.csv").write_text(BILL)
    for inventory, reason in [
        ("Circuit ID,BAN,Install Date,Disconnect Date\n12.HCGS.123456..LY,8310-4471-22,2024-01-01,"
         "2025-03-10\n", "(the inventory has no rate column; no contracts file given)"),
        ("Circuit ID,BAN,MRC,Install Date,Disconnect Date\n12.HCGS.123456..LY,8310-4471-22,,"
         "2024-01-01,2025-03-10\n",
         "(the inventory's rate column ('MRC') is empty; no contracts file given)"),
    ]:
        (tmp_path / "inventory.csv").write_text(inventory)
        res = _cli("audit", tmp_path / "bills", "--inventory", tmp_path / "inventory.csv",
                   "--out", tmp_path / "out")
        assert f"Not checked: rate-above-contract {reason}" in res.output, res.output
        summary = json.loads((tmp_path / "out" / "findings.json").read_text())["summary"]
        assert [g["text"] for g in summary["not_checked"]
                if g["rule"] == "rate-above-contract"] == [
            f"not checked: rate-above-contract {reason}"]
        assert f"not checked: rate-above-contract {reason}".replace("'", "&#39;") in \
            (tmp_path / "out" / "report.html").read_text()


def test_the_sample_without_install_dates_is_not_flooded_with_missing_from_bill(tmp_path):
    """Issue 9: an inventory with no install dates gave a missing-from-bill finding for every
    service on every bill before its first (47 on the sample). Now only gaps between bills are
    (the two planted, and the circuit planted as billed before its install), and the console
    says the rule was only partly checked."""
    rows = list(csv.reader(open(SAMPLE_DIR / "inventory.csv", newline="")))
    drop = rows[0].index("Install Date")
    with open(tmp_path / "inventory.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(r[:drop] + r[drop + 1:] for r in rows)
    res = _cli("audit", SAMPLE_DIR / "invoices", "--inventory", tmp_path / "inventory.csv",
               "--out", tmp_path / "out")
    assert res.exit_code == 0, res.output
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    missing = sorted(f["service_id"] for f in findings if f["rule"] == "missing-from-bill")
    truth = json.loads((SAMPLE_DIR / "truth.json").read_text())
    planted = sorted(t["service_id"] for t in truth if t["rule"] == "missing-from-bill")
    assert set(planted) <= set(missing) and len(missing) <= 4, missing
    assert ("Partly checked: missing-from-bill, only between each service's first and last bill, "
            "and once for one on no bill (the inventory has no install date column)") in res.output
    assert ("Not checked: billed-before-install (the inventory has no install date column; no orders "
            "file given)") in res.output


def test_the_console_script_ends_with_its_status_and_whole_summary(tmp_path):
    """The console script ends the process as soon as the reports are written (no teardown):
    the exit status still says some input was unreadable, and the summary is printed to its
    last line."""
    import shutil
    import subprocess
    import sys

    exe = shutil.which("reconcile", path=str(Path(sys.executable).parent))
    assert exe, "the console script `reconcile` is not installed beside this Python"
    bills = tmp_path / "bills"
    shutil.copytree(SAMPLE_DIR / "invoices", bills)
    (bills / "broken.csv").write_bytes(b"\x00\x01 not a bill")
    got = subprocess.run([exe, "audit", str(bills), "--inventory", str(SAMPLE_DIR / "inventory.xlsx"),
                          "--out", str(tmp_path / "report")], capture_output=True, text=True,
                         timeout=300)
    assert got.returncode == 1, got.stderr  # audited, but a file could not be read
    assert "broken.csv" in got.stdout + got.stderr
    assert got.stdout.rstrip().splitlines()[-1] == f"Report: {tmp_path / 'report' / 'report.html'}"


def test_reading_starts_without_the_rules_and_report_writers_imported():
    """What the CLI imports before the audit reads anything: not DuckDB, Jinja or XlsxWriter
    (about 0.25 s at start-up); _run imports them beside the reading (AFTER_READING)."""
    import subprocess
    import sys

    code = ("import sys, reconcile.cli, reconcile.audit, reconcile.reports.out_folder\n"
            "print(sorted(m for m in ('duckdb', 'jinja2', 'xlsxwriter', 'reconcile.rules',"
            " 'reconcile.reports.outputs') if m in sys.modules))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert got.stdout.strip() == "[]"


def test_an_import_beside_the_reading_that_fails_is_left_to_where_it_is_used(monkeypatch):
    """A module of AFTER_READING that cannot be imported fails again, with its own error,
    where the audit uses it: the thread importing it beside the reading says nothing (no
    traceback on stderr) and goes no further."""
    import threading

    import reconcile.cli as cli

    raised = []
    monkeypatch.setattr(threading, "excepthook", raised.append)
    cli._import_beside(("reconcile.no_such_module", "reconcile.reports.outputs")).join(30)
    assert raised == []


def test_a_fork_waits_for_the_import_beside_the_reading_under_way(tmp_path, monkeypatch):
    """A process forked while a module is imported beside the reading (the PDF readers' pool
    forks) would inherit its import lock held by a thread it does not have: the fork waits
    until that import is done, and the child finds the module whole."""
    import os
    import sys
    import time

    import reconcile.cli as cli

    (tmp_path / "slow_to_import.py").write_text("import time\ntime.sleep(0.3)\nWHOLE = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "slow_to_import", raising=False)
    thread = cli._import_beside(("slow_to_import",))
    deadline = time.monotonic() + 10
    while "slow_to_import" not in sys.modules and time.monotonic() < deadline:
        time.sleep(0.005)  # the import has begun: the module is registered, not yet run
    pid = os.fork()
    if pid == 0:  # the child: the import was over before the fork
        os._exit(0 if getattr(sys.modules.get("slow_to_import"), "WHOLE", False) else 1)
    _, status = os.waitpid(pid, 0)
    thread.join(10)
    assert os.waitstatus_to_exitcode(status) == 0


def test_an_audit_that_stops_early_ends_its_imports_first(tmp_path, monkeypatch):
    """A usage error found by the audit (an inventory that gives no service) ends the command
    at once: the thread importing beside the reading has ended by then, so the process never
    exits from under an import."""
    import threading
    import time

    import reconcile.cli as cli

    threads = []

    def slow_imports(modules):
        thread = threading.Thread(target=time.sleep, args=(0.3,), daemon=True)
        thread.start()
        threads.append(thread)
        return thread

    monkeypatch.setattr(cli, "_import_beside", slow_imports)
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("nothing,here\n")
    got = CliRunner().invoke(main, ["audit", str(SAMPLE_DIR / "invoices"), "--inventory",
                                    str(inventory), "--out", str(tmp_path / "out")])
    assert got.exit_code == 2, got.output
    assert threads and not threads[0].is_alive()
