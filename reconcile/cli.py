"""`reconcile` command line.

    reconcile audit INVOICE_PATH... --inventory FILE [--contracts FILE] [--orders FILE]
                    [--payments FILE] [--as-of DATE] [--columns MAPPING.yaml] [--out DIR]
                    [--scheduler tcp://HOST:8786]
    reconcile demo [--out DIR]
    reconcile summary [DIR]

Exit status: 0 audited (with or without findings); 1 audited, but some input could not be read
(the rest was audited and reported, errors.json lists what was not); 2 usage error: nothing was
audited and no report written (a missing path, an inventory that gives no service, a bad option);
3 audited, but the reports could not be written (the previous ones are left as they were).
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
import threading
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from click.core import ParameterSource

import reconcile.sample
from reconcile.core.result import AuditOptions
from reconcile.core.values import parse_date

SAMPLE_DIR = Path(reconcile.sample.__file__).resolve().parent  # package data (fixtures/sample)
LARGE_BATCH_FILES = 20


MAX_TOLERANCE = Decimal(1_000_000)  # a tolerance above any bill is a typo, not a setting


def _tolerance(ctx, param, value):
    """A finite amount, 0 or more and below MAX_TOLERANCE: NaN, inf, 1e999999, -5 are refused."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount (e.g. 0.01)") from None
    if not amount.is_finite() or amount.is_signed() and amount != 0 or amount >= MAX_TOLERANCE:
        raise click.BadParameter(f"{value!r} is not an amount from 0 up to {MAX_TOLERANCE:,} (e.g. 0.01)")
    return amount


def _threshold(ctx, param, value):
    """A score from 0 to 100; NaN passes click's FloatRange (it compares false), not this."""
    if value is not None and value != value:
        raise click.BadParameter(f"{value!r} is not a score from 0 to 100")
    return value


def _as_of(ctx, param, value):
    """The date the audit speaks from: today when not given, else a date as the files write
    them (2025-06-30, 06/30/2025, Jun 30, 2025)."""
    if value is None:
        return date.today()
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        raise click.BadParameter(f"{value!r} is not a date (e.g. 2025-06-30)")
    return day


def _limits(ctx, param, value):
    """--limit NAME=VALUE (repeatable) -> Limits (reconcile/parsers/limits.py)."""
    from reconcile.parsers.limits import parse_limits

    try:
        return parse_limits(value or ())
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _out_dir(ctx, param, value):
    """--out checked and locked before the audit starts, held until the command ends
    (reconcile/reports/out_folder.py): a usage error when it cannot take the reports or another
    run is writing there."""
    from reconcile.reports.out_folder import OutputError, reserve_out_dir

    try:
        release = reserve_out_dir(value)
    except OutputError as e:
        raise click.BadParameter(str(e)) from None
    ctx.find_root().call_on_close(release)  # the root closes also when a later option fails
    return value


def _progress(files):
    """A progress bar on stderr for large batches, only when a person is watching."""
    files = list(files)
    if len(files) < LARGE_BATCH_FILES or not sys.stderr.isatty():
        return files
    return _bar(files)


def _bar(files):
    with click.progressbar(files, label="Reading invoices", file=sys.stderr,
                           item_show_func=lambda p: p.name if p else "") as bar:
        yield from bar


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="telecom-reconcile")
def main():
    """Audit carrier telecom invoices against the circuit inventory."""


def _audit_options(f):
    f = click.option("--tolerance", default="0.01", show_default=True, callback=_tolerance,
                     help="Money differences at or below this are not findings (0 up to 1,000,000).")(f)
    f = click.option("--match-threshold", default=90.0, show_default=True, type=click.FloatRange(0, 100),
                     callback=_threshold, help="Fuzzy match score (0-100) needed to tie a line to a service.")(f)
    return _answer_options(f)


def _answer_options(f):
    """What the CIO's answer covers (reconcile/reports/answer.py)."""
    f = click.option("--months", default=18, show_default=True, type=click.IntRange(1, 600),
                     help="The answer covers the bills of this many months up to --as-of.")(f)
    f = click.option("--dispute-window-days", default=60, show_default=True,
                     type=click.IntRange(0, 3650),
                     help="Days after a bill's date to dispute it, where no contract says.")(f)
    f = click.option("--all-disputes", is_flag=True,
                     help="Dispute packets for findings past their deadline too (marked).")(f)
    return f


def _answer_settings(months: int, dispute_window_days: int, all_disputes: bool) -> dict:
    return {"months": months, "dispute_window_days": dispute_window_days,
            "all_disputes": all_disputes}


EXIT_NOT_WRITTEN = 3
EXIT_STATUS = """\b
Exit status:
  0  audited (with or without findings)
  1  audited, but some input could not be read (listed in errors.json)
  2  usage error: nothing audited, no report written (a missing path,
     an inventory that gives no service, a bad option)
  3  audited, but the reports could not be written (disk full, the
     folder gone): the previous reports are left as they were"""


_RECORD_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@main.command(epilog=EXIT_STATUS)
@click.argument("invoice_paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--inventory", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Circuit inventory, CSV or XLSX.")
@click.option("--columns", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="YAML mapping of fields to headers the built-in aliases miss.")
@click.option("--sheet", help="Inventory sheet to read (default: the first with a recognised header).")
@click.option("--contracts", type=_RECORD_FILE,
              help="Contract terms, CSV or XLSX: one row per term of a circuit or product.")
@click.option("--orders", type=_RECORD_FILE,
              help="Service orders, CSV or XLSX: one row per install, change or disconnect.")
@click.option("--payments", type=_RECORD_FILE,
              help="Payments made to the carriers, CSV or XLSX: one row per payment.")
@click.option("--as-of", "as_of", callback=_as_of, metavar="DATE",
              help="The date the audit speaks from (contract ends, deadlines)  [default: today]")
@click.option("--out", "out_dir", default="reconcile-report", show_default=True, callback=_out_dir,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports (replaced as a whole when they are written).")
@click.option("--password", default=None, help="Password for encrypted PDF invoices.")
@click.option("--pdf-engine", type=click.Choice(["pdfium", "pdfplumber"]), default="pdfium",
              show_default=True, help="Text engine for PDF invoices.")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Processes reading PDF invoices, threads reading the other files (1: one "
                   "file after the other)  [default: one per core]")
@click.option("--scheduler", envvar="DASK_SCHEDULER_ADDRESS", show_envvar=True, metavar="ADDRESS",
              help="Audit on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); "
                   "its workers need this package and the invoice files at the same path. "
                   "Needs the dask extra.")
@click.option("--limit", "limits", multiple=True, callback=_limits, metavar="NAME=VALUE",
              help="Raise a limit on what one file may hold (repeatable): file-size=512MB, "
                   "unzipped=1GB, zip-ratio=100, rows=2000000, columns=1000, field-size=100000, "
                   "row-errors=1000, batch-row-errors=20000 (the defaults). A file past one is an "
                   "error and not read; past row-errors (a file's) or batch-row-errors (all the "
                   "invoice files'), further unreadable rows are counted, not listed.")
@_audit_options
def audit(invoice_paths, inventory, columns, sheet, contracts, orders, payments, as_of, out_dir,
          password, pdf_engine, jobs, scheduler, limits, tolerance, match_threshold, months,
          dispute_window_days, all_disputes):
    """Audit INVOICE_PATH... (files or folders) against --inventory.

    The inventory is the list of circuits and numbers you keep (CSV or XLSX, one row each);
    it must give at least one service, or nothing is audited. Contracts, orders and payments
    are optional: the rules that need one not given say so, once."""
    for p in invoice_paths:
        if p.is_dir() and not any(c.is_file() for c in p.rglob("*")):
            raise click.BadParameter(f"{str(p)!r} is an empty folder: no invoice to audit",
                                     param_hint="INVOICE_PATH")
    options = AuditOptions(tolerance=tolerance, match_threshold=match_threshold, as_of=as_of,
                           **_answer_settings(months, dispute_window_days, all_disputes))
    if scheduler:
        source = click.get_current_context().get_parameter_source("scheduler")
        via = " (DASK_SCHEDULER_ADDRESS)" if source == ParameterSource.ENVIRONMENT else ""
        click.echo(f"Auditing on the Dask cluster at {scheduler}{via}", err=True)
    records = {"contracts": contracts, "orders": orders, "payments": payments}
    sys.exit(_run(list(invoice_paths), inventory, columns, sheet, out_dir, options, password,
                  pdf_engine, jobs, scheduler, limits, records))


@main.command(epilog=EXIT_STATUS)
@click.option("--out", "out_dir", default="reconcile-report", show_default=True, callback=_out_dir,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the reports (replaced as a whole when they are written).")
def demo(out_dir):
    """Audit the bundled sample (several carriers, 14 months, contracts, orders and payments,
    planted errors)."""
    inventory, invoices = sample_paths()
    click.echo(f"Auditing the bundled sample in {SAMPLE_DIR}", err=True)
    options = AuditOptions(as_of=reconcile.sample.AS_OF)
    sys.exit(_run(invoices, inventory, None, None, out_dir, options, None, "pdfium",
                  records=sample_records()))


@main.command()
@click.argument("invoice_number")
@click.option("--run", "run_dir", default="reconcile-report", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="The audit's --out folder to read (no new audit is run).")
@click.option("--account", help="The account, when the invoice number is on several.")
@click.option("--html", "as_html", is_flag=True,
              help="Also write the page RUN/bills/<invoice>.html (when the audit did not).")
def explain(invoice_number, run_dir, account, as_html):
    """Every line of bill INVOICE_NUMBER in plain words: what it is, what it should have
    cost, whether it is right; then the bill's arithmetic. Exit 2 when the run folder or the
    invoice is not found (the nearest numbers are named) or the number is on several accounts."""
    from reconcile.reports.bill_page import explain_command

    text, error = explain_command(run_dir, invoice_number, account, as_html)
    if error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(2)
    click.echo(text, nl=False)


def sample_paths() -> tuple[Path, list[Path]]:
    inventory = next((SAMPLE_DIR / n for n in ("inventory.xlsx", "inventory.csv")
                      if (SAMPLE_DIR / n).exists()), None)
    if inventory is None:
        raise click.ClickException(f"the bundled sample is missing from {SAMPLE_DIR}")
    folder = SAMPLE_DIR / "invoices"
    invoices = [folder] if folder.is_dir() else sorted(
        p for p in SAMPLE_DIR.iterdir()
        if p.suffix.lower() in (".csv", ".tsv", ".txt", ".pdf")
        and not p.name.startswith(("inventory", "truth", "contracts", "orders", "payments")))
    return inventory, invoices


def sample_records() -> dict[str, Path | None]:
    """The sample's contracts, orders and payments files, each when it is there."""
    def first(*names: str) -> Path | None:
        return next((SAMPLE_DIR / n for n in names if (SAMPLE_DIR / n).is_file()), None)

    return {"contracts": first("contracts.xlsx", "contracts.csv"),
            "orders": first("orders.csv", "orders.xlsx"),
            "payments": first("payments.csv", "payments.xlsx")}


def _run(invoice_paths, inventory, columns, sheet, out_dir, options, password, pdf_engine,
         jobs=None, scheduler=None, limits=None,
         records: dict[str, Path | None] | None = None) -> int:
    from reconcile.audit import run_audit

    records = records or {}
    importing = None if scheduler else _import_beside(AFTER_READING)
    try:
        if scheduler:
            result = _run_on_dask(scheduler, invoice_paths, inventory, columns=columns,
                                  sheet=sheet, options=options, pdf_password=password,
                                  pdf_engine=pdf_engine, limits=limits, **records)
        else:
            result = run_audit(invoice_paths, inventory, columns=columns, sheet=sheet,
                               options=options, progress=_progress, pdf_password=password,
                               pdf_engine=pdf_engine, workers=jobs, limits=limits, **records)
    except (ValueError, _NoCluster) as e:  # a bad --columns mapping, an inventory that gives
        # no service (InventoryUnusable), or --scheduler: the user's command, not the data
        click.echo(f"Error: {e}\nNothing was audited; no report was written.", err=True)
        return 2
    finally:
        # an audit that stops early (a usage error, a bug) may end the process while the
        # thread is still inside an import: it ends first (the imports take about 0.25 s;
        # one that hangs, a bug, does not hold the command past IMPORTS_WAIT_S)
        if importing is not None:
            importing.join(IMPORTS_WAIT_S)
    from reconcile.reports.answer import answer
    from reconcile.reports.console import for_people, summary_text
    from reconcile.reports.outputs import write_all

    result = for_people(result, [*invoice_paths, inventory, *(p for p in records.values() if p)])
    said = answer(result)  # once, for the reports and the console
    try:
        write_all(result, out_dir, said)
    except OSError as e:  # disk full, the folder taken away mid-run: the audit's work is lost
        where = f" ({e.filename})" if e.filename else ""
        click.echo(f"Error: the audit ran, but its reports could not be written into {out_dir}: "
                   f"{e.strerror or e}{where}. The reports there before (if any) are as they were; "
                   f"make room or fix the folder and run again.", err=True)
        return EXIT_NOT_WRITTEN
    click.echo(summary_text(result, str(out_dir), said))
    return _leave(1 if result.errors else 0)


# What an audit needs only once its invoices are read: the rules (with DuckDB) and the report
# writers (Jinja, XlsxWriter), about 0.25 s of imports at start-up. _run imports them on a
# thread of their own while the readers work, which mostly wait on Arrow then, not on the
# interpreter. They import no reader module, so the two cannot wait on each other's imports.
AFTER_READING = ("reconcile.rules", "reconcile.reports.outputs", "reconcile.reports.console",
                 "reconcile.reports.answer")
IMPORTS_WAIT_S = 60


# A process forked while that thread is inside an import (the PDF readers' pool forks) would
# inherit the module's import lock held by a thread it does not have, and hang on its first
# import of that module: a fork waits for the import under way to finish (re-entrant: a fork
# made by that thread itself, inside an import, goes on).
_IMPORTING = threading.RLock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_IMPORTING.acquire, after_in_parent=_IMPORTING.release,
                        after_in_child=_IMPORTING.release)


def _import_beside(modules: tuple[str, ...]) -> threading.Thread:
    """Import `modules` on a daemon thread (returned, started), one at a time under
    _IMPORTING. A module that fails to import fails again, with its own error, where it is
    used."""
    def load():
        for name in modules:
            try:
                with _IMPORTING:
                    importlib.import_module(name)
            except Exception:
                return

    thread = threading.Thread(target=load, name="reconcile-imports", daemon=True)
    thread.start()
    return thread


_LEAVE_AT_ONCE = False  # set by `run`, the console script


def run() -> None:
    """The console script, `reconcile`: main(), the process ending as soon as an audit's
    reports are written (see _leave)."""
    global _LEAVE_AT_ONCE
    _LEAVE_AT_ONCE = True
    # The cyclic collector is off for the process: an audit's objects have almost no cycles
    # (about 400 at a million lines, as many again from the reports, no memory to speak of),
    # and the one collection after the audit walked 435,000 objects for them (0.2-0.3 s).
    # What little is left is freed with the process.
    gc.disable()
    main()


def _leave(code: int) -> int:
    """The audit's exit status. Under the console script the process ends here, with it:
    every report is written and synced and the summary printed, and freeing the audit's
    objects and tearing the interpreter down took another 0.4 s at a million lines. Called
    in-process (tests, scripts), it returns the status."""
    if not _LEAVE_AT_ONCE:
        return code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: what it held cannot be written anyway
            pass
    os._exit(code)


class _NoCluster(Exception):
    """--scheduler given, but Dask is not installed or the scheduler cannot be reached."""


def _run_on_dask(address: str, invoice_paths, inventory, **kwargs):
    """The audit on a Dask cluster (reconcile/distributed.py); Dask is imported only here."""
    try:
        from distributed import Client

        from reconcile.distributed import run_audit_on_dask
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in {"dask", "distributed"}:
            raise
        raise _NoCluster("--scheduler needs Dask: pip install 'telecom-reconcile[dask]'") from None
    try:
        client = Client(address, set_as_default=False)
    except (OSError, ValueError) as e:  # unreachable, timed out, or not an address
        raise _NoCluster(f"could not reach the Dask scheduler at {address}: {e}") from None
    try:
        return run_audit_on_dask(invoice_paths, inventory, client, **kwargs)
    finally:
        client.close()


@main.command()
@click.argument("run_dir", default="reconcile-report", required=False,
                type=click.Path(file_okay=False, path_type=Path))
def summary(run_dir):
    """Print the answer of a past run again, from its folder (RUN_DIR/summary.json)."""
    from reconcile.reports.answer import answer_text

    path = run_dir / "summary.json"
    try:
        text = answer_text(path)
    except FileNotFoundError:
        raise click.UsageError(f"{str(path)!r} not found: audit first, or name the folder "
                               f"--out wrote") from None
    except ValueError as e:
        raise click.UsageError(f"{str(path)!r} cannot be read: {e}") from None
    click.echo(text)


if __name__ == "__main__":  # pragma: no cover
    run()  # as the console script
