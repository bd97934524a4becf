"""Writing every output of a run into one folder, whole or not at all.

The reports are written into a new folder beside `--out` (`.NAME.new-XXXX`) and put in its
place only when every file is written and synced: on Linux the two folders are exchanged in
one step (renameat2 RENAME_EXCHANGE), elsewhere the old folder is renamed aside, the new one
renamed in, the old one removed. Until then the previous reports stay as they were, so a run
that fails or is killed mid-write leaves them intact; what it left beside them is cleared by
the next run.

One run at a time writes a folder: a lock file beside it (`.NAME.lock`, filelock) is taken
before the audit starts and held until the reports are in place. A second run into the same
folder does not wait: it stops at once with a usage error (exit 2) saying another run is
writing there; its audit has not started, so nothing is lost by running it again. That check
and lock are reconcile.reports.out_folder's, which the CLI imports before the audit without
the writers here.
"""

from __future__ import annotations

import ctypes
import gc
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from reconcile.core.result import AuditResult
from reconcile.reports.answer import write_summary_json
from reconcile.reports.apart import run as run_apart
from reconcile.reports.cells import FINDINGS_SHEET, INVOICES_SHEET
from reconcile.reports.disputes import write_disputes
from reconcile.reports.excel import workbook_parts
from reconcile.reports.bill_page import write_bill_pages
from reconcile.reports.glossary import write_glossary
from reconcile.reports.html import write_html
from reconcile.reports.parquet import write_lines_parquet
from reconcile.reports.out_folder import (BILLS_DIR, GLOSSARY_FILE, RECORDS_FILE, REPORT_FILES,
                                          SERVICES_FILE, OutputBusy, OutputError, check_out_dir,
                                          out_dir_lock, out_target, reserve_out_dir)
from reconcile.reports.run_folder import write_records_json, write_services_parquet
from reconcile.reports.tabular import summary_json, write_errors_json, write_lines_csv

__all__ = ["REPORT_FILES", "OutputBusy", "OutputError", "check_out_dir", "out_dir_lock",
           "out_target", "reserve_out_dir", "write_all", "write_findings_files"]

LINES_THREAD_SWITCH_S = 0.0005  # the interpreter's switch interval while the line tables are written
# With a workbook of this many cells, the findings' files (findings.xlsx, .csv, .json and
# invoices.csv) are written by another process while this one writes the other reports:
# XlsxWriter takes about 12 us a cell (2-3 s at a million lines), the process about 0.1 s of
# CPU to start (reconcile.reports.apart: XlsxWriter and the plain writers only; the files are
# sent as plain records).
WORKBOOK_APART_CELLS = 50_000
WORKBOOK_WAIT_S = 600  # a process still running after this long is stopped, and its files written here


def write_all(result: AuditResult, out_dir: Path, answer: dict | None = None) -> dict[str, Path]:
    """Every report of `result` in `out_dir`, replacing the reports there as a whole.
    `answer`: reconcile.reports.answer.answer(result), when the caller has it."""
    out = check_out_dir(out_dir)
    with out_dir_lock(out):
        _clear_leftovers(out)
        new = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
        gc.freeze()  # the audit's objects outlive the reports: the collector need not walk them
        try:
            _write_into(result, new, answer)
            _sync_folder(new)
            os.chmod(new, _folder_mode(out))
            _put_in_place(new, out)
        except BaseException:
            shutil.rmtree(new, ignore_errors=True)
            raise
        finally:
            gc.unfreeze()
    return {name: Path(out_dir) / name for name in REPORT_FILES}


def _write_into(result: AuditResult, folder: Path, answer: dict | None) -> None:
    paths = {name: folder / name for name in REPORT_FILES}
    # The line tables are written by Arrow, which lets go of the interpreter while it casts,
    # encodes and compresses: on a second thread they overlap the reports made in Python.
    # Each of its many Arrow calls takes the interpreter back when it returns, waiting up to the
    # switch interval (5 ms) behind the Python reports: a shorter one keeps the thread moving.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(LINES_THREAD_SWITCH_S)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-lines") as pool:
        # each synced there too: the big files' fsync (0.2 s at 1M lines) overlaps the others
        lines = [pool.submit(_synced, write_lines_csv, result, paths["lines.csv"]),
                 pool.submit(_synced, write_lines_parquet, result, paths["lines.parquet"]),
                 pool.submit(_synced, write_services_parquet, result, paths[SERVICES_FILE])]  # for `explain`
        apart = _Apart()
        try:
            answer = write_summary_json(result, paths["summary.json"], answer)
            apart = write_findings_files(result, answer, paths)
            write_disputes(result, paths["disputes"])
            write_errors_json(result, paths["errors.json"])
            write_records_json(result, paths[RECORDS_FILE])
            pages = write_bill_pages(result, paths[BILLS_DIR])  # bills/<invoice>.html, linked from the report
            write_html(result, paths["report.html"], bill_pages=pages, answer=answer)
            write_glossary(paths[GLOSSARY_FILE])  # the report links each finding's rule here
            apart.finish()
        except BaseException:
            for job in lines:
                job.cancel()
            apart.cancel()
            raise
        finally:
            wait(lines)  # the folder is removed on failure: nothing may still write into it
            sys.setswitchinterval(switch)
        for job in lines:
            job.result()  # a failure of the line tables is the run's failure


def write_findings_files(result: AuditResult, answer: dict, paths: dict[str, Path]) -> "_Apart":
    """findings.xlsx (reconcile.reports.excel), findings.csv, findings.json and invoices.csv
    (reconcile.reports.cells), from plain rows made here: written here when the workbook is
    small; else by another process, done when the returned `_Apart`'s `finish` returns."""
    summary, findings, invoices, lines = workbook_parts(result, answer)
    jobs = [("findings_book", (paths["findings.xlsx"], summary, findings, invoices, lines)),
            ("findings_json", (summary_json(result), findings, paths["findings.json"])),
            ("findings_csv", (findings, paths["findings.csv"])),
            ("invoices_csv", (invoices, paths["invoices.csv"]))]
    cells = (summary.cells() + lines.cells() + len(findings) * len(FINDINGS_SHEET)
             + len(invoices) * len(INVOICES_SHEET))
    if cells < WORKBOOK_APART_CELLS:
        run_apart(jobs)
        return _Apart()
    return _Apart.start(jobs)


class _Apart:
    """Files another process is writing (`python -m reconcile.reports.apart`), or none.
    Should that process fail, `finish` writes them here: a failure of its own (disk full)
    is then raised here, as the run's."""

    def __init__(self, process: subprocess.Popen | None = None, sent=None):
        self.process, self.sent = process, sent

    @classmethod
    def start(cls, jobs: list[tuple[str, tuple]]) -> "_Apart":
        sent = tempfile.TemporaryFile()  # the jobs, pickled: read by the process at its pace
        try:
            pickle.dump(jobs, sent, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            # a value the records cannot send (rules put plain values in evidence): written
            # here, where whatever it is fails, or not, as it would without a process
            sent.close()
            run_apart(jobs)
            return cls()
        try:
            sent.seek(0)
            process = subprocess.Popen(
                [sys.executable, "-m", "reconcile.reports.apart"], stdin=sent,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except (OSError, ValueError):  # no process here (no interpreter to start): written here
            sent.close()
            run_apart(jobs)
            return cls()
        return cls(process, sent)

    def finish(self) -> None:
        if self.process is None:
            return
        try:
            try:
                failed = self.process.wait(WORKBOOK_WAIT_S) != 0
            except subprocess.TimeoutExpired:  # stuck (a bug): written here
                self.process.kill()
                self.process.wait()
                failed = True
            if failed:
                self.sent.seek(0)
                run_apart(pickle.load(self.sent))
        finally:
            self._close()

    def cancel(self) -> None:
        """Stop the process (nothing may still write into the folder once it is removed)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self._close()

    def _close(self) -> None:
        self.process = None
        self.sent.close()


# -- putting the new folder in place ---------------------------------------------------------

def _clear_leftovers(out: Path) -> None:
    """What runs killed mid-write left beside `out` (the lock is held: no run is writing).
    A previous folder renamed aside and never replaced is put back first."""
    new = sorted(out.parent.glob(f".{glob_escape(out.name)}.new-*"))
    old = sorted(out.parent.glob(f".{glob_escape(out.name)}.old-*"), key=lambda p: p.stat().st_mtime)
    if old and not out.exists():
        os.rename(old.pop(), out)
    for leftover in new + old:
        shutil.rmtree(leftover, ignore_errors=True)


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in name)


def _put_in_place(new: Path, out: Path) -> None:
    if not out.exists():
        os.rename(new, out)
    elif _exchange(new, out):  # new is now the previous reports
        shutil.rmtree(new, ignore_errors=True)
    else:
        aside = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(aside)  # a free name (the lock is held): Windows renames onto no folder
        os.rename(out, aside)
        try:
            os.rename(new, out)
        except BaseException:
            os.rename(aside, out)
            raise
        shutil.rmtree(aside, ignore_errors=True)
    _sync_path(out.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Exchange two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where the
    OS or file system cannot."""
    if sys.platform != "linux":
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _folder_mode(out: Path) -> int:
    """The previous folder's permissions, else what a new folder gets (mkdtemp's are 0700)."""
    try:
        return out.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o777 & ~umask


def _synced(write, result: AuditResult, path: Path) -> None:
    write(result, path)
    _sync_file(path)


def _sync_folder(folder: Path) -> None:
    """The files on disk before they are put in place, so a crash cannot show them empty."""
    for f in folder.iterdir():
        if f.is_dir():  # bills/, disputes/
            _sync_folder(f)
        else:
            _sync_file(f)
    _sync_path(folder)


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_path(folder: Path) -> None:
    if not hasattr(os, "O_DIRECTORY"):  # Windows cannot open a folder to sync it
        return
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
