"""`--out` checked and locked before the audit starts: what the CLI needs of the reports'
folder while the audit runs, with none of the writers (reconcile.reports.outputs) imported.

`check_out_dir`: a file in its place, a folder that cannot be written, or a folder that holds
anything other than reports (it is replaced as a whole) is one clear usage error. One run at a
time writes a folder: a lock file beside it (`.NAME.lock`, filelock) is taken before the audit
starts and held until the reports are in place (`reserve_out_dir`, `out_dir_lock`); a second
run into the same folder stops at once with a usage error saying another run is writing there.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from filelock import FileLock, Timeout

# the files and folders of a run's reports (reconcile.reports.outputs writes them)
GLOSSARY_FILE = "rules.html"  # the rule glossary beside the report (reports/glossary.py)
SERVICES_FILE = "services.parquet"  # the inventory as the audit read it (reports/run_folder.py)
RECORDS_FILE = "records.json"  # the contracts, orders and payments it read (idem)
BILLS_DIR = "bills"  # bills/<invoice>.html (reports/bill_page.py)
REPORT_FILES = ("report.html", GLOSSARY_FILE, "summary.json", "findings.json", "findings.xlsx",
                "disputes", "findings.csv", "lines.csv", "lines.parquet", "invoices.csv",
                "errors.json", SERVICES_FILE, RECORDS_FILE, BILLS_DIR)


class OutputError(ValueError):
    """--out cannot take the reports: a usage error, with a message that says why."""


class OutputBusy(OutputError):
    """Another run holds the lock of this --out."""


def out_target(out_dir: Path) -> Path:
    """The folder the reports go to: absolute, through symbolic links (a linked --out is
    replaced where it lives, beside its own parent, the link kept)."""
    return Path(os.path.abspath(out_dir)).resolve()


def check_out_dir(out_dir: Path) -> Path:
    """`out_dir` made ready to receive the reports (its parent folders created), or
    OutputError saying why it cannot: a file in its place, no right to write beside it, or a
    folder holding files that are not reports. Returns the folder (`out_target`)."""
    out = out_target(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out_dir} is a file, not a folder for the reports")
    existing = next(p for p in (out.parent, *out.parent.parents) if p.exists())
    if not existing.is_dir():
        raise OutputError(f"cannot write the reports into {out_dir}: {existing} is a file")
    try:  # the only test of writing that holds for ACLs, read-only mounts and root
        os.rmdir(tempfile.mkdtemp(prefix=f".{out.name}.probe-", dir=existing))
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write the reports into {out_dir}: {existing} is not writable "
                          f"({e.strerror or e})") from None
    if out.is_dir():
        try:
            foreign = sorted(n for n in os.listdir(out) if n not in REPORT_FILES)
        except OSError as e:
            raise OutputError(f"cannot read the folder {out_dir} ({e.strerror or e})") from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutputError(f"{out_dir} holds files that are not reports ({shown}); the reports "
                              f"replace the folder as a whole: choose an empty or new folder")
    return out


def _lock_path(out: Path) -> Path:
    return out.parent / f".{out.name}.lock"


_LOCKS: dict[Path, FileLock] = {}  # one per folder: taken again by the same run, it is the same


@contextmanager
def out_dir_lock(out: Path) -> Iterator[None]:
    """This run alone writes `out` (`out_target`) while held; OutputBusy at once when another
    run holds it. Taken again by the run holding it (the CLI holds it through the audit), it
    is held until the outermost release."""
    release = _acquire(out)
    try:
        yield
    finally:
        release()


def reserve_out_dir(out_dir: Path) -> Callable[[], None]:
    """The check and lock the CLI takes before the audit starts (`check_out_dir`, then the
    lock); returns the function that releases it (safe to call twice)."""
    return _acquire(check_out_dir(out_dir))


def _acquire(out: Path) -> Callable[[], None]:
    path = _lock_path(out)
    lock = _LOCKS.get(path)
    if lock is None:
        lock = _LOCKS[path] = FileLock(path)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise OutputBusy(f"another reconcile run is writing reports into {out}; wait for it to "
                         f"finish or choose another --out") from None
    except OSError as e:
        raise OutputError(f"cannot lock {out} for writing: {path} ({e.strerror or e})") from None
    held = [lock]

    def release() -> None:
        while held:
            held.pop().release()

    return release
