"""Walking the invoice folders: every entry that cannot be read is an error naming it, nothing is
skipped silently, nothing hangs, and the same file given twice is read once."""

from __future__ import annotations

import json
import os
import signal
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

import reconcile.audit as audit
from reconcile.audit import collect_files, run_audit
from reconcile.cli import main

INVENTORY = "Circuit ID,BAN,Vendor,MRC,Install Date\n12.HCGS.123456..LY,8310-4471-22,Lumen,450.00,2024-01-01\n"
BILL = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,Service Period,Charge Amount\n"
        "8310-4471-22,{n},04/01/2025,12/HCGS/123456/LY,MPLS port,MRC,04/01/25-04/30/25,$450.00\n")


def bill(path: Path, number: str = "88231") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BILL.format(n=number))
    return path


@pytest.fixture(autouse=True)
def no_hang():
    """A walk that opens a FIFO blocks forever: fail instead."""
    def timeout(*_):
        raise TimeoutError("collect_files hung")

    old = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def by_file(errors) -> dict[str, str]:
    return {Path(e.file).name: e.reason for e in errors}


def test_a_broken_link_a_link_loop_and_special_files_are_each_named_never_read(tmp_path):
    good = bill(tmp_path / "bills" / "good.csv")
    (tmp_path / "bills" / "dangling.csv").symlink_to(tmp_path / "gone.csv")
    (tmp_path / "bills" / "self").symlink_to(tmp_path / "bills" / "self")
    (tmp_path / "bills" / "sub").mkdir()
    (tmp_path / "bills" / "sub" / "up").symlink_to(tmp_path / "bills")  # a loop through a folder
    os.mkfifo(tmp_path / "bills" / "pipe.csv")
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "bills" / "s.csv"))
    except OSError:  # a path too long for a socket
        pass
    files, errors = collect_files([tmp_path / "bills"])
    sock.close()
    assert files == [good]
    reasons = by_file(errors)
    assert "broken symbolic link" in reasons["dangling.csv"] and "gone.csv" in reasons["dangling.csv"]
    assert "symbolic link loop" in reasons["self"]
    assert "symbolic link loop" in reasons["up"]
    assert "named pipe (FIFO)" in reasons["pipe.csv"] and "not read" in reasons["pipe.csv"]
    if (tmp_path / "bills" / "s.csv").exists():
        assert "a socket" in reasons["s.csv"]
    assert all(e.file.startswith(str(tmp_path / "bills")) for e in errors)


def test_a_fifo_given_directly_is_an_error_not_a_hang(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")
    files, errors = collect_files([tmp_path / "pipe.csv"])
    assert files == [] and "named pipe" in by_file(errors)["pipe.csv"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any folder")
def test_a_folder_without_permission_is_an_error_naming_it(tmp_path):
    good = bill(tmp_path / "bills" / "good.csv")
    secret = tmp_path / "bills" / "secret"
    bill(secret / "hidden.csv")
    secret.chmod(0)
    try:
        files, errors = collect_files([tmp_path / "bills"])
    finally:
        secret.chmod(0o755)
    assert files == [good]
    (err,) = errors
    assert err.file == str(secret) and "cannot read this folder (Permission denied)" in err.reason
    assert err.effect == "folder skipped"


def test_a_folder_without_permission_is_an_error_also_for_root(tmp_path, monkeypatch):
    good = bill(tmp_path / "bills" / "good.csv")
    secret = bill(tmp_path / "bills" / "secret" / "hidden.csv").parent
    real = os.scandir

    def scandir(path):
        if Path(path) == secret:
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(audit.os, "scandir", scandir)
    files, errors = collect_files([tmp_path / "bills"])
    assert files == [good] and by_file(errors) == {"secret": "cannot read this folder (Permission denied)"}


def test_a_file_gone_between_listing_and_reading_is_one_error(tmp_path, monkeypatch):
    keep = bill(tmp_path / "bills" / "a.csv", "1")
    going = bill(tmp_path / "bills" / "b.csv", "2")
    real = os.scandir

    class Listing:  # the folder is listed, then b.csv is removed before it is looked at
        def __init__(self, path):
            self.it = real(path)

        def __enter__(self):
            return self.it.__enter__()

        def __exit__(self, *exc):
            self.it.__exit__(*exc)
            if going.exists():
                going.unlink()

    monkeypatch.setattr(audit.os, "scandir", Listing)
    files, errors = collect_files([tmp_path / "bills"])
    assert files == [keep]
    assert by_file(errors) == {"b.csv": "gone before it was read (removed or renamed meanwhile)"}


def test_a_file_gone_after_it_was_listed_is_one_error_and_the_rest_is_audited(tmp_path, monkeypatch):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    keep = bill(tmp_path / "bills" / "a.csv", "1")
    going = bill(tmp_path / "bills" / "b.csv", "2")
    real = audit.collect_files

    def listed_then_removed(paths, *rest):
        files, errors = real(paths, *rest)
        going.unlink()
        return files, errors

    monkeypatch.setattr(audit, "collect_files", listed_then_removed)
    result = run_audit([tmp_path / "bills"], tmp_path / "inventory.csv", workers=1)
    (err,) = result.errors
    assert err.file == str(going) and err.effect == "file skipped"
    assert "No such file" in err.reason or "gone before it was read" in err.reason
    assert [inv.invoice_number for inv in result.invoices] == ["1"] and str(keep) in result.files


def test_the_same_file_given_twice_is_read_once(tmp_path):
    a = bill(tmp_path / "bills" / "a.csv", "1")
    b = bill(tmp_path / "bills" / "sub" / "b.csv", "2")
    (tmp_path / "link.csv").symlink_to(a)
    (tmp_path / "bills-link").symlink_to(tmp_path / "bills")
    (tmp_path / "hard.csv").hardlink_to(b)
    files, errors = collect_files([a, a, tmp_path / "bills", tmp_path / "link.csv", tmp_path / "bills-link",
                                   tmp_path / "hard.csv", tmp_path / "bills" / "sub"])
    assert errors == []
    assert files == [a, b]  # as first met


def test_a_linked_folder_is_read(tmp_path):
    b = bill(tmp_path / "elsewhere" / "b.csv")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "carrier").symlink_to(tmp_path / "elsewhere")
    files, errors = collect_files([tmp_path / "bills"])
    assert files == [tmp_path / "bills" / "carrier" / "b.csv"] and errors == []
    assert files[0].resolve() == b


def test_the_command_reads_a_file_given_twice_once_and_exits_1_on_a_broken_link(tmp_path):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    a = bill(tmp_path / "bills" / "a.csv")
    (tmp_path / "bills" / "old.csv").symlink_to(tmp_path / "nowhere.csv")
    res = CliRunner().invoke(main, ["audit", str(a), str(tmp_path / "bills"), "--inventory",
                                    str(tmp_path / "inventory.csv"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 1, res.output
    (err,) = json.loads((tmp_path / "out" / "errors.json").read_text())
    # paths are shown relative to the folder the given paths share
    assert err["file"].endswith("old.csv") and "broken symbolic link" in err["reason"]
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert findings["summary"]["lines"] == 1 and findings["summary"]["files"] == 1
