"""After the audit: reports that cannot be written (disk full) are one clear message and exit
3, the previous reports left as they were; a file name that is not valid UTF-8 is read and
written into every report with its bytes escaped, never a crash."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconcile.cli import EXIT_NOT_WRITTEN, main
from reconcile.reports import outputs

BILL = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Charge Amount\n"
        "8310,F-7,2025-03-01,CKT-1,Port,450.00\n")
INVENTORY = "Circuit ID,BAN,MRC\nCKT-1,8310,400.00\n"


def audit(tmp_path: Path, bills: Path, out: Path):
    inv = tmp_path / "inventory.csv"
    inv.write_text(INVENTORY)
    return CliRunner().invoke(main, ["audit", str(bills), "--inventory", str(inv), "--out", str(out)])


def test_a_disk_full_while_writing_reports_is_one_message_and_exit_3(tmp_path, monkeypatch):
    (tmp_path / "bill.csv").write_text(BILL)
    out = tmp_path / "out"
    assert audit(tmp_path, tmp_path / "bill.csv", out).exit_code == 0
    before = (out / "findings.json").read_text()

    def full(result, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(outputs, "write_lines_csv", full)
    res = audit(tmp_path, tmp_path / "bill.csv", out)
    assert res.exit_code == EXIT_NOT_WRITTEN and isinstance(res.exception, SystemExit)
    assert "reports could not be written" in res.output and "No space left on device" in res.output
    assert "Traceback" not in res.output
    assert (out / "findings.json").read_text() == before  # the previous reports, untouched
    assert not list(tmp_path.glob(".out.new-*"))


def test_a_file_name_that_is_not_utf8_is_read_and_reported(tmp_path):
    bills = tmp_path / "bills"
    bills.mkdir()
    name = os.fsdecode(b"bill\xff.csv")
    try:
        (bills / name).write_text(BILL)
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    out = tmp_path / "out"
    res = audit(tmp_path, bills, out)
    assert res.exit_code == 0, res.output
    summary = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert summary["summary"]["lines"] == 1 and summary["findings"]  # rate above contract
    assert "bill\\udcff.csv" in (out / "lines.csv").read_text(encoding="utf-8-sig")
    evidence = json.dumps(summary["findings"])
    assert "bill\\\\udcff.csv" in evidence  # the escaped name, as lines.csv has it
    (out / "report.html").read_text(encoding="utf-8")  # valid UTF-8 throughout


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("lines", [1, 60_000])  # within Arrow's write buffer, and past it
def test_lines_csv_on_a_full_disk_raises_no_space(tmp_path, lines):
    """lines.csv goes through a buffer of Arrow's own: a full disk still raises (when the
    buffer is written, or at its last bytes), it is never a file silently cut short."""
    from reconcile.audit import run_audit
    from reconcile.reports.tabular import write_lines_csv

    bill = tmp_path / "bill.csv"
    bill.write_text(BILL.splitlines()[0] + "\n" + "".join(
        f"8310,F-7,2025-03-01,CKT-{i % 50},Port with a longer description {i},450.00\n"
        for i in range(lines)))
    inv = tmp_path / "inventory.csv"
    inv.write_text(INVENTORY)
    result = run_audit([bill], inv, workers=1)
    assert len(result.lines) == lines
    with pytest.raises(OSError) as raised:
        write_lines_csv(result, Path("/dev/full"))
    assert raised.value.errno == errno.ENOSPC
