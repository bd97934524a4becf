"""The audit on a Dask cluster: the same result as reconcile.audit.run_audit, computed by
the cluster's workers (`reconcile audit ... --scheduler tcp://HOST:PORT`).

    client                          workers
    ------                          -------
    list the files                  read each unit of files -> an Arrow table a file
                                    (a unit: up to 256 small files read together, as the
                                    local run reads them; a bigger file or a PDF alone)
    read the inventory, the         (its bills and a digest of its lines back to the client)
    records
    one bill once (reconcile.bills) (a bill's charges fetched only to tell copies apart)
    broadcast inventory, records    drop the bills set aside, respell carriers
    (line ids assigned)             split each file's table into P account partitions
                                    concatenate partition p's pieces, audit_partition
    gather the partitions, merge

Copies of a bill in several files are set aside as in the local run: the client decides
from each file's bills and per-bill line counts and totals (its lines stay on the worker),
and asks a worker for a bill's charges only when two files give it with different totals.
Every rule is account-local (reconcile/partitions.py), so the only exchange of lines is one
shuffle by account: file i's piece p goes to the worker auditing partition p. Lines travel
as Arrow tables, never as pickled line objects. A file that breaks its reader is one
InputError, as in the local run; so is a file whose reading kills its worker: every unit a
dead worker held (Dask fails them: KilledWorker) is read again on the client, in a process of
its own, halved while that process dies (as the local pool reads a file alone), and shipped
to the cluster.

Workers need this package installed (the same version) and the invoice files at the same
absolute path as the client, which lists them (a shared folder); relative paths are made
absolute on the client, so the reports name files by their absolute path. The inventory and
the contracts, orders and payments files are read only on the client. Importing this module
imports Dask: nothing else in the package does.
"""

from __future__ import annotations

import operator
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
from distributed import Client, KilledWorker

from reconcile.audit import (READ_TOGETHER, TOGETHER_MAX_BYTES, _gc_paused, _read_quickly,
                             _read_quickly_many, _size, _unreadable, collect_files, with_inputs)
from reconcile.bills import FileBills, apply_choices, bill_charges, bill_stats, carrier_words, one_bill_once
from reconcile.core.lines import concat
from reconcile.core.models import InputError, Invoice, Service
from reconcile.core.records import NO_RECORDS, Records
from reconcile.core.row_errors import BatchRowErrors
from reconcile.core.result import AuditOptions, AuditResult
from reconcile.expected import services_from_orders
from reconcile.parsers.columns import load_mapping
from reconcile.parsers.limits import Limits
from reconcile.parsers.readers import NoReader, choose_reader
from reconcile.partitions import (PartitionResult, audit_partition, merge, number_bills,
                                  partition_count, split_by_account)


@dataclass
class FileRead:
    """What a worker read from one file; stays on the worker until it is split."""

    table: pa.Table
    invoices: list[Invoice] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    file_hash: str = ""


@dataclass
class FileDigest:
    """What the client needs of a read file (small): its bills, errors and notes, and what
    one_bill_once asks of its lines."""

    rows: int
    invoices: list[Invoice]
    errors: list[InputError]
    notes: list[str]
    file_hash: str
    stats: dict[tuple[str, str], tuple[int, Decimal]]  # (account, number) -> (lines, total)
    carriers: list[str] | None  # the carrier names its lines use


@dataclass
class RemoteFile(FileBills):
    """A file whose lines are on a worker, as one_bill_once sees it (reconcile.bills): it
    answers from the file's digest, fetches a bill's charges from the worker, and records
    what is dropped or respelled for the worker to apply (`choose`)."""

    digest: FileDigest | None = None
    fetch: Callable[[str, str], Counter] | None = None  # (account, number) -> charges
    dropped: list[tuple[str, str]] = field(default_factory=list)
    carriers: list[str] | None = None

    def stats(self):
        return self.digest.stats

    def charges(self, inv: Invoice) -> Counter:
        return self.fetch(inv.account, inv.invoice_number)

    def drop(self, inv: Invoice) -> None:
        self.dropped.append((inv.account, inv.invoice_number))

    def carrier_words(self):
        return self.carriers if self.carriers is not None else self.digest.carriers

    def set_carrier_words(self, words: list[str]) -> None:
        self.carriers = words


def read_unit(paths: list[Path], overrides: dict[str, str], pdf_password: str | None,
              pdf_engine: str, limits: Limits | None = None) -> list[FileRead]:
    """Task: a unit of invoice files -> each one's lines as an Arrow table (the local run's
    readers and their wrappers, so a reader's exception is its file's error)."""
    how = dict(overrides=overrides, pdf_password=pdf_password, pdf_engine=pdf_engine,
               limits=limits)
    parsed = _read_quickly_many(paths, **how) if len(paths) > 1 else [_read_quickly(paths[0], **how)]
    return [_file_read(p) for p in parsed]


def unit_summary(reads: list[FileRead]) -> list[FileDigest]:
    """Task: what the client needs of each read file (small)."""
    return [FileDigest(r.table.num_rows, r.invoices, r.errors, r.notes, r.file_hash,
                       bill_stats(r.table), carrier_words(r.table)) for r in reads]


def charges_of(reads: list[FileRead], k: int, account: str, number: str) -> Counter:
    """Task: a bill's charges in the unit's k-th file, for the client to tell a copy of it
    from another bill."""
    return bill_charges(reads[k].table, account, number)


def choose(reads: list[FileRead], choices: dict[int, tuple]) -> list[FileRead]:
    """Task: the unit's files as one_bill_once left them: k -> (its kept bills, the bills
    set aside, carriers respelled or None)."""
    out = list(reads)
    for k, (invoices, dropped, carriers) in choices.items():
        r = reads[k]
        out[k] = FileRead(apply_choices(r.table, dropped, carriers), invoices, r.errors,
                          r.notes, r.file_hash)
    return out


def row_counts(reads: list[FileRead]) -> list[int]:
    return [r.table.num_rows for r in reads]


def split_unit(reads: list[FileRead], kept: list[tuple[int, list[Invoice], int, int]],
               partitions: int) -> list[tuple[list[Invoice], pa.Table]]:
    """Task: the unit's kept files' (invoices, lines) per account partition: k -> (its bills,
    as one_bill_once left them, numbered from the 4th; its lines, numbered from the 3rd:
    their position in the batch)."""
    tables, bills = [], []
    for k, invoices, first_line_id, first_bill in kept:
        number_bills(invoices, first_bill)
        n = reads[k].table.num_rows
        tables.append(reads[k].table.append_column(
            "line_id", pa.array(np.arange(first_line_id, first_line_id + n, dtype=np.int64))))
        bills.extend(invoices)
    return split_by_account(concat(tables), bills, partitions)


def audit_pieces(services: list[Service], pieces: list[tuple[list[Invoice], pa.Table]],
                 options: AuditOptions, records: Records = NO_RECORDS) -> PartitionResult:
    """Task: one account partition from its pieces (in file order), audited."""
    with _gc_paused(collect=False):
        bills = [inv for invoices, _ in pieces for inv in invoices]
        return audit_partition(services, bills, concat(t for _, t in pieces), options, records)


def run_audit_on_dask(invoice_paths: Iterable[Path], inventory: Path,
                      client_or_address: Client | str, columns: Path | None = None,
                      sheet: str | None = None, options: AuditOptions | None = None,
                      pdf_password: str | None = None, pdf_engine: str = "pdfium",
                      partitions: int | None = None,
                      timings: dict[str, float] | None = None,
                      limits: Limits | None = None, contracts: Path | None = None,
                      orders: Path | None = None, payments: Path | None = None) -> AuditResult:
    """run_audit on a Dask cluster: a distributed.Client, or a scheduler's address (a client
    is opened and closed here). `partitions` (P) defaults to the cluster's worker threads, or
    more when the batch is big (reconcile.partitions.PARTITION_LINES per partition)."""
    timings = {} if timings is None else timings
    options = options or AuditOptions()
    own = not isinstance(client_or_address, Client)
    client = Client(client_or_address, set_as_default=False) if own else client_or_address
    try:
        with _gc_paused():
            return _audit(client, [_absolute(p) for p in invoice_paths], inventory, columns,
                          sheet, options, pdf_password, pdf_engine, partitions, timings,
                          limits or Limits(),
                          {"contracts": contracts, "orders": orders, "payments": payments})
    finally:
        if own:
            client.close()


def _file_read(parsed) -> FileRead:
    for bill in parsed.invoices:  # positions in the file's table: nothing in the batch's
        bill.line_ids = []  # (run_audit drops them too)
    return FileRead(parsed.lines.table, list(parsed.invoices), list(parsed.errors),
                    list(parsed.notes), parsed.file_hash)


def _absolute(path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else Path.cwd() / path


def _audit(client: Client, invoice_paths: list[Path], inventory: Path, columns, sheet,
           options: AuditOptions, pdf_password, pdf_engine, partitions, timings,
           limits: Limits, record_paths: dict[str, Path | None]) -> AuditResult:
    from reconcile.parsers.inventory import read_inventory, require_services, set_aside
    from reconcile.parsers.records import read_records

    t0 = time.perf_counter()
    mapping = load_mapping(columns)
    files, errors = collect_files(invoice_paths)
    files, set_aside_notes = set_aside(files, {"inventory": inventory, **record_paths})
    # the workers start reading at once; the inventory is read here meanwhile
    kwargs = dict(overrides=mapping["invoice"], pdf_password=pdf_password, pdf_engine=pdf_engine,
                  limits=limits)
    units = _units(files)
    reads = [client.submit(read_unit, [files[i] for i in unit], pure=False, **kwargs)
             for unit in units]
    summaries = [client.submit(unit_summary, r, pure=False) for r in reads]
    inv = require_services(read_inventory(Path(inventory), mapping["inventory"], sheet, limits))
    services, inv_errors, inv_notes = inv
    errors = inv_errors + errors
    notes = set_aside_notes + [f"{inventory}: {n}" for n in inv_notes]
    given = read_records(record_paths, mapping, limits)
    records, errors, notes = given.records, errors + given.errors, notes + given.notes
    services = services + services_from_orders(services, records.orders)

    # a unit's summary is None when its task failed (gather copes with data a death lost)
    got = client.gather(dict(enumerate(summaries)), errors="skip")
    for u, summary in enumerate(summaries):
        if got[u] is not None:
            continue
        e = summary.exception()
        paths = [files[i] for i in units[u]]
        if not isinstance(e, KilledWorker):
            why = f"the worker reading this file failed ({type(e).__name__}: {e})"
            read = [_file_read(_unreadable(p, why)) for p in paths]
        else:
            # A worker died with this unit on it: one of its files killed it, or a unit
            # beside it did (Dask fails what a dead worker was running). As the local pool
            # does, the files are read again here, in a process of their own, halved while it
            # dies: the file that kills its reader is reported, the others go on from here.
            read = [_file_read(p) for p in _read_apart(paths, kwargs)]
        [reads[u]] = client.scatter([read], hash=False)
        got[u] = unit_summary(read)
    del summaries
    seen = [RemoteFile(str(files[i]), list(d.invoices), None, d.file_hash, digest=d,
                       fetch=partial(_fetch_charges, client, reads[u], k))
            for u, unit in enumerate(units) for k, (i, d) in enumerate(zip(unit, got[u]))]
    row_errors = BatchRowErrors(limits.batch_row_errors)
    for f in seen:
        errors.extend(row_errors.take(f.digest.errors))
        notes.extend(f.digest.notes)
    notes.extend(one_bill_once(seen, options.tolerance))
    by_unit = [seen[start:start + len(unit)] for start, unit in zip(_starts(units), units)]
    chosen = [client.submit(choose, read, {k: (f.invoices, f.dropped, f.carriers)
                                           for k, f in enumerate(unit_files)
                                           if f.dropped or f.carriers is not None}, pure=False)
              if any(f.dropped or f.carriers is not None for f in unit_files) else read
              for unit_files, read in zip(by_unit, reads)]
    counts = client.gather([client.submit(row_counts, read, pure=False)
                            if any(f.dropped for f in unit_files) else
                            [f.digest.rows for f in unit_files]
                            for unit_files, read in zip(by_unit, chosen)])
    kept: list[tuple[object, list]] = []  # (a unit's read, what split_unit keeps of it)
    line_count, bill_count = 0, 0
    for unit_files, read, rows in zip(by_unit, chosen, counts):
        keep = []
        for k, (f, n) in enumerate(zip(unit_files, rows)):
            if f.set_aside or not (n or f.invoices):
                continue
            keep.append((k, f.invoices, line_count, bill_count))
            line_count += n
            bill_count += len(f.invoices)
        if keep:
            kept.append((read, keep))
    timings["read"] = time.perf_counter() - t0
    # broadcast once the reads are done: a worker a damaged file killed took no copy with it
    [services_on_workers, records_on_workers] = client.scatter([services, records],
                                                               broadcast=True, hash=False)

    n = partitions or max(partition_count(line_count), sum(client.nthreads().values()), 1)
    n = n if line_count else 1  # (merge cannot unify the columns of P empty partitions)
    splits = [client.submit(split_unit, read, keep, n, pure=False) for read, keep in kept]
    del reads, kept, chosen  # each file's read is released once split
    pieces = [[client.submit(operator.getitem, s, p, pure=False) for s in splits]
              for p in range(n)]
    del splits
    audits = [client.submit(audit_pieces, services_on_workers, pieces[p], options,
                            records_on_workers, pure=False)
              for p in range(n)]
    del pieces
    done: list[PartitionResult] = client.gather(audits)
    for key in ("match", "rules"):
        timings[key] = sum(d.seconds.get(key, 0.0) for d in done)
    return with_inputs(merge(services, done, options, records), errors, notes, files, inventory,
                       inv.columns, record_paths)


def _fetch_charges(client: Client, read, k: int, account: str, number: str) -> Counter:
    return client.submit(charges_of, read, k, account, number, pure=False).result()


def _units(files: list[Path]) -> list[list[int]]:
    """The files' positions, in units a task reads: up to READ_TOGETHER small files in a row
    that one reader reads together (its `read_many`), as the local run reads them; any other
    file alone (a PDF keeps its own task: a damaged one can kill its process)."""
    units: list[list[int]] = []
    open_unit = False
    for i, path in enumerate(files):
        together = _size(path) < TOGETHER_MAX_BYTES and _reads_many(path)
        if together and open_unit and len(units[-1]) < READ_TOGETHER:
            units[-1].append(i)
        else:
            units.append([i])
        open_unit = together
    return units


def _reads_many(path: Path) -> bool:
    try:
        return choose_reader(path).read_many is not None
    except (NoReader, OSError):
        return False


def _starts(units: list[list[int]]) -> list[int]:
    out, at = [], 0
    for unit in units:
        out.append(at)
        at += len(unit)
    return out


def _read_apart(paths: list[Path], kwargs: dict) -> list:
    """The files read in a process of their own, here; halved while that process dies, down
    to the file that kills it (an error saying so)."""
    with ProcessPoolExecutor(1) as solo:
        try:
            return solo.submit(_read_quickly_many, paths, **kwargs).result()
        except BrokenProcessPool:
            pass
    if len(paths) == 1:
        return [_unreadable(paths[0], "the reader's process died on this file (a damaged file "
                                      "can crash the PDF library)")]
    half = len(paths) // 2
    return _read_apart(paths[:half], kwargs) + _read_apart(paths[half:], kwargs)
