"""The report folder is whole or absent: written beside --out and put in place when complete,
one run at a time, --out checked before the audit (reports/outputs.py)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import reconcile.reports.outputs as outputs
from reconcile.cli import main
from reconcile.reports.outputs import REPORT_FILES, OutputError, check_out_dir, write_all

INVENTORY = ("Circuit ID,BAN,Vendor,MRC,Install Date,Disconnect Date\n"
             "12.HCGS.123456..LY,8310-4471-22,Lumen,450.00,2024-01-01,2025-03-10\n")
BILL = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,Service Period,Charge Amount\n"
        "8310-4471-22,88231,04/01/2025,12/HCGS/123456/LY,MPLS port,MRC,04/01/25-04/30/25,$450.00\n")
ROOT = Path(__file__).resolve().parents[1]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a report folder (sub-folders such as disputes/ included) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def beside(out: Path) -> list[str]:
    """What a run left beside the report folder, other than its lock file."""
    return sorted(p.name for p in out.parent.iterdir()
                  if p.name.startswith(f".{out.name}.") and p.name != f".{out.name}.lock")


def test_a_second_write_replaces_the_folder_as_a_whole(report_audit_result, tmp_path):
    out = tmp_path / "out"
    paths = write_all(report_audit_result, out)
    assert sorted(paths) == sorted(REPORT_FILES) and all(p.exists() for p in paths.values())
    first = snapshot(out)
    report_audit_result.findings = report_audit_result.findings[:1]
    write_all(report_audit_result, out)
    assert sorted(first) == sorted(snapshot(out)) and first != snapshot(out)
    assert len(json.loads((out / "findings.json").read_text())["findings"]) == 1
    assert beside(out) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["exchanged", "renamed-aside"])
def test_a_writer_failing_mid_write_leaves_the_previous_folder_intact(report_audit_result, tmp_path,
                                                                      monkeypatch, exchange):
    if not exchange:  # the portable path: old folder renamed aside, new renamed in
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    write_all(report_audit_result, out)
    before = snapshot(out)

    def broken(result, path):
        path.write_text("[{")  # half a file, then the failure
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(outputs, "write_errors_json", broken)
    report_audit_result.findings = []
    with pytest.raises(OSError, match="No space left"):
        write_all(report_audit_result, out)
    assert snapshot(out) == before
    assert beside(out) == []  # the half-written folder is gone
    monkeypatch.undo()
    if not exchange:
        monkeypatch.setattr(outputs, "_exchange", lambda a, b: False)
    write_all(report_audit_result, out)
    assert json.loads((out / "findings.json").read_text())["findings"] == [] and beside(out) == []


def test_the_findings_files_failing_mid_write_leave_the_previous_folder_intact(
        report_audit_result, tmp_path, monkeypatch):
    """invoices.csv is written with the findings' files (reconcile.reports.apart): a full
    disk there is the run's failure too."""
    import reconcile.reports.cells as cells

    out = tmp_path / "out"
    write_all(report_audit_result, out)
    before = snapshot(out)

    def broken(rows, path):
        path.write_text("carrier,acc")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cells, "write_invoices_csv_of", broken)
    with pytest.raises(OSError, match="No space left"):
        write_all(report_audit_result, out)
    assert snapshot(out) == before and beside(out) == []


def test_a_failure_on_the_first_write_leaves_no_folder(report_audit_result, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "write_html", lambda *a, **k: 1 / 0)
    out = tmp_path / "new" / "out"
    with pytest.raises(ZeroDivisionError):
        write_all(report_audit_result, out)
    assert not out.exists() and beside(out) == []


def test_what_a_killed_run_left_is_cleared_and_an_aside_folder_put_back(report_audit_result, tmp_path):
    out = tmp_path / "out"
    write_all(report_audit_result, out)
    (tmp_path / ".out.new-abcd1234").mkdir()
    (tmp_path / ".out.new-abcd1234" / "findings.json").write_text("{")
    os.rename(out, tmp_path / ".out.old-efgh5678")  # killed between the two renames
    report_audit_result.findings = []
    write_all(report_audit_result, out)
    assert beside(out) == [] and json.loads((out / "findings.json").read_text())["findings"] == []


def test_the_lock_is_held_by_one_run_and_taken_again_by_it(tmp_path):
    out = check_out_dir(tmp_path / "out")
    release = outputs.reserve_out_dir(tmp_path / "out")
    with outputs.out_dir_lock(out):  # the same run: taken again
        pass
    probe = subprocess.run([sys.executable, "-c", (
        "import sys\nfrom reconcile.reports.outputs import reserve_out_dir, OutputBusy\n"
        "try:\n    reserve_out_dir(sys.argv[1])\nexcept OutputBusy as e:\n    print(e)\n    sys.exit(3)\n"),
        str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert probe.returncode == 3 and "another reconcile run is writing reports into" in probe.stdout
    release()
    release()  # twice is harmless
    subprocess.run([sys.executable, "-c", "import sys\nfrom reconcile.reports.outputs import reserve_out_dir\n"
                    "reserve_out_dir(sys.argv[1])", str(tmp_path / "out")], check=True, cwd=ROOT, timeout=120)


# -- --out checked before the audit ------------------------------------------------------------

def write_inputs(tmp_path: Path) -> list[str]:
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    (tmp_path / "bills").mkdir(exist_ok=True)
    (tmp_path / "bills" / "april.csv").write_text(BILL)
    return ["audit", str(tmp_path / "bills"), "--inventory", str(tmp_path / "inventory.csv")]


@pytest.fixture
def no_audit(monkeypatch):
    """The audit must not start: --out is refused first."""
    import reconcile.audit

    def run_audit(*a, **k):
        raise AssertionError("the audit ran before --out was checked")

    monkeypatch.setattr(reconcile.audit, "run_audit", run_audit)


def usage_error(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and res.exception is None or isinstance(res.exception, SystemExit)
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    return line


def test_out_occupied_by_a_file_is_a_usage_error(tmp_path, no_audit):
    (tmp_path / "report").write_text("not a folder")
    res = CliRunner().invoke(main, [*write_inputs(tmp_path), "--out", str(tmp_path / "report")])
    line = usage_error(res)
    assert "--out" in line and "is a file" in line


def test_out_holding_other_files_is_a_usage_error(tmp_path, no_audit):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("years of work")
    res = CliRunner().invoke(main, [*write_inputs(tmp_path), "--out", str(tmp_path / "mine")])
    assert "holds files that are not reports (thesis.docx)" in usage_error(res)
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "years of work"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out_is_a_usage_error_before_the_audit(tmp_path, no_audit):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        res = CliRunner().invoke(main, [*write_inputs(tmp_path), "--out", str(locked / "reports")])
        assert "is not writable" in usage_error(res)
    finally:
        locked.chmod(0o755)


def test_an_unwritable_out_found_through_a_file_in_its_path_is_a_usage_error(tmp_path, no_audit):
    (tmp_path / "plain").write_text("x")
    res = CliRunner().invoke(main, [*write_inputs(tmp_path), "--out", str(tmp_path / "plain" / "reports")])
    assert "is a file" in usage_error(res)


def test_check_out_dir_refuses_what_cannot_take_the_reports(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_out_dir(tmp_path / "f")
    assert check_out_dir(tmp_path / "a" / "b") == (tmp_path / "a" / "b").resolve()
    assert (tmp_path / "a").is_dir() and not (tmp_path / "a" / "b").exists()


# -- two runs, a killed run (subprocesses) ----------------------------------------------------

# the real command, its report writer slowed: it marks when it is writing, then waits for
# the GO file (or PAUSE seconds)
SLOW_RUN = """
import os, sys, time
import reconcile.reports.outputs as outputs
real = outputs.write_html
def slow(result, path, **kwargs):
    real(result, path, **kwargs)
    open(os.environ["MARK"], "w").close()
    until = time.monotonic() + float(os.environ["PAUSE"])
    while time.monotonic() < until and not os.path.exists(os.environ["GO"]):
        time.sleep(0.05)
outputs.write_html = slow
from reconcile.cli import main
main()
"""


def command(tmp_path: Path, out: Path) -> list[str]:
    return [*write_inputs(tmp_path), "--out", str(out), "--jobs", "1"]


def slow_run(tmp_path: Path, out: Path, pause: float) -> tuple[subprocess.Popen, Path]:
    mark = tmp_path / f"writing-{time.monotonic_ns()}"
    env = {**os.environ, "MARK": str(mark), "PAUSE": str(pause), "GO": str(tmp_path / "go")}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_RUN, *command(tmp_path, out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not mark.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never started writing"
        time.sleep(0.05)
    return proc, mark


def plain_run(tmp_path: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "reconcile.cli", *command(tmp_path, out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def assert_whole(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    ids = [f["id"] for f in json.loads((out / "findings.json").read_text())["findings"]]
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        assert [r["id"] for r in csv.DictReader(fh)] == ids
    assert (out / "report.html").read_text().rstrip().endswith("</html>")


def test_a_second_run_into_a_folder_being_written_fails_fast_and_the_first_finishes(tmp_path):
    out = tmp_path / "out"
    first, _ = slow_run(tmp_path, out, pause=300)
    second = plain_run(tmp_path, out)
    _, err = second.communicate(timeout=240)
    assert second.returncode == 2, err
    assert "another reconcile run is writing reports into" in err and "Traceback" not in err
    assert first.poll() is None  # the second did not wait for it
    (tmp_path / "go").touch()
    _, err = first.communicate(timeout=240)
    assert first.returncode == 0, err
    assert_whole(out)
    assert beside(out) == []


def test_two_runs_at_once_leave_one_whole_folder(tmp_path):
    out = tmp_path / "out"
    for _ in range(2):
        runs = [plain_run(tmp_path, out) for _ in range(2)]
        codes = []
        for run in runs:
            _, err = run.communicate(timeout=300)
            codes.append(run.returncode)
            assert run.returncode == 0 or (run.returncode == 2 and "another reconcile run" in err), err
        assert 0 in codes
        assert_whole(out)


def test_a_run_killed_mid_write_leaves_the_previous_folder_intact(tmp_path):
    out = tmp_path / "out"
    first = plain_run(tmp_path, out)
    assert first.wait(timeout=300) == 0
    before = snapshot(out)
    killed, _ = slow_run(tmp_path, out, pause=600)  # every report written, not yet in place
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=60)
    assert snapshot(out) == before
    again = plain_run(tmp_path, out)
    assert again.wait(timeout=300) == 0
    assert_whole(out)
    assert beside(out) == []


def test_a_folder_that_refuses_writing_is_a_usage_error_also_for_root(tmp_path, no_audit, monkeypatch):
    def refused(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.tempfile, "mkdtemp", refused)
    res = CliRunner().invoke(main, [*write_inputs(tmp_path), "--out", str(tmp_path / "reports")])
    line = usage_error(res)
    assert "is not writable (Permission denied)" in line and str(tmp_path) in line
