"""The audit on a Dask cluster: the same result as reconcile.audit.run_audit, computed by
the cluster's workers (`reconcile audit ... --scheduler tcp://HOST:PORT`).

    client                          workers
    ------                          -------
    list the files                  read each file (one task per file) -> Arrow table
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
InputError, as in the local run; so is a file whose reading kills its worker: every file a
dead worker held (Dask fails them: KilledWorker) is read again alone, as the local pool does,
in a process of its own on the client, and shipped to the cluster if it reads.

Workers need this package installed (the same version) and the invoice files at the same
absolute path as the client, which lists them (a shared folder); relative paths are made
absolute on the client, so the reports name files by their absolute path. The inventory and
the contracts, orders and payments files are read only on the client. Importing this module
imports Dask: nothing else in the package does.
"""

from __future__ import annotations

import operator
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
from distributed import Client, KilledWorker

from reconcile.audit import (_gc_paused, _read_alone, _read_quickly, _unreadable,
                             collect_files, with_inputs)
from reconcile.bills import FileBills, apply_choices, bill_charges, bill_stats, carrier_words, one_bill_once
from reconcile.core.lines import concat
from reconcile.core.models import InputError, Invoice, Service
from reconcile.core.records import NO_RECORDS, Records
from reconcile.core.result import AuditOptions, AuditResult
from reconcile.expected import services_from_orders
from reconcile.parsers.columns import load_mapping
from reconcile.parsers.limits import Limits
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


def read_file(path: Path, overrides: dict[str, str], pdf_password: str | None,
              pdf_engine: str, limits: Limits | None = None) -> FileRead:
    """Task: one invoice file -> its lines as an Arrow table (the local run's reader and its
    wrapper, so a reader's exception is this file's error)."""
    return _file_read(_read_quickly(path, overrides=overrides, pdf_password=pdf_password,
                                    pdf_engine=pdf_engine, limits=limits))


def file_summary(read: FileRead) -> FileDigest:
    """Task: what the client needs of a read file (small)."""
    return FileDigest(read.table.num_rows, read.invoices, read.errors, read.notes,
                      read.file_hash, bill_stats(read.table), carrier_words(read.table))


def charges_of(read: FileRead, account: str, number: str) -> Counter:
    """Task: a bill's charges, for the client to tell a copy of it from another bill."""
    return bill_charges(read.table, account, number)


def choose(read: FileRead, invoices: list[Invoice], dropped: list[tuple[str, str]],
           carriers: list[str] | None) -> FileRead:
    """Task: the file as one_bill_once left it: its kept bills (the client's), without the
    lines of those set aside, carriers respelled."""
    return FileRead(apply_choices(read.table, dropped, carriers), invoices, read.errors,
                    read.notes, read.file_hash)


def row_count(read: FileRead) -> int:
    return read.table.num_rows


def split_file(read: FileRead, invoices: list[Invoice], first_line_id: int, partitions: int,
               first_bill: int = 0) -> list[tuple[list[Invoice], pa.Table]]:
    """Task: a file's (invoices, lines) per account partition, lines numbered from
    `first_line_id` (their position in the batch), bills (the client's, as one_bill_once
    left them) from `first_bill`."""
    number_bills(invoices, first_bill)
    n = read.table.num_rows
    table = read.table.append_column(
        "line_id", pa.array(np.arange(first_line_id, first_line_id + n, dtype=np.int64)))
    return split_by_account(table, invoices, partitions)


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
    reads = [client.submit(read_file, f, pure=False, **kwargs) for f in files]
    summaries = [client.submit(file_summary, r, pure=False) for r in reads]
    inv = require_services(read_inventory(Path(inventory), mapping["inventory"], sheet, limits))
    services, inv_errors, inv_notes = inv
    errors = inv_errors + errors
    notes = set_aside_notes + [f"{inventory}: {n}" for n in inv_notes]
    given = read_records(record_paths, mapping, limits)
    records, errors, notes = given.records, errors + given.errors, notes + given.notes
    services = services + services_from_orders(services, records.orders)

    # a file's summary is None when its task failed (gather copes with data a death lost)
    got = client.gather(dict(enumerate(summaries)), errors="skip")
    for i, summary in enumerate(summaries):
        if got[i] is not None:
            continue
        e = summary.exception()
        if not isinstance(e, KilledWorker):
            errors.extend(_unreadable(files[i], f"the worker reading this file failed "
                                                f"({type(e).__name__}: {e})").errors)
            continue
        # A worker died with this file on it: this file killed it, or one beside it did
        # (Dask fails what a dead worker was running). As the local pool does, the file is
        # read again alone in a process of its own, here: the one that kills its reader is
        # reported, the others go on from here.
        read = _file_read(_read_alone(partial(_read_quickly, **kwargs), files[i]))
        [reads[i]] = client.scatter([read], hash=False)
        got[i] = file_summary(read)
    del summaries
    seen = [RemoteFile(str(f), list(d.invoices) if d else [], None, d.file_hash if d else "",
                       digest=d or FileDigest(0, [], [], [], "", {}, None),
                       fetch=partial(_fetch_charges, client, read))
            for f, d, read in zip(files, (got[i] for i in range(len(files))), reads)]
    for f in seen:
        errors.extend(f.digest.errors)
        notes.extend(f.digest.notes)
    notes.extend(one_bill_once(seen, options.tolerance))
    kept, first_ids, first_bills, line_count, bill_count = [], [], [], 0, 0
    chosen = [client.submit(choose, read, f.invoices, f.dropped, f.carriers, pure=False)
              if f.dropped or f.carriers is not None else read
              for f, read in zip(seen, reads) if not f.set_aside]
    live = [f for f in seen if not f.set_aside]
    counts = client.gather([client.submit(row_count, read, pure=False) if f.dropped else
                            f.digest.rows for f, read in zip(live, chosen)])
    for f, read, rows in zip(live, chosen, counts):
        if rows or f.invoices:
            kept.append((read, f.invoices))
            first_ids.append(line_count)
            first_bills.append(bill_count)
            line_count += rows
            bill_count += len(f.invoices)
    timings["read"] = time.perf_counter() - t0
    # broadcast once the reads are done: a worker a damaged file killed took no copy with it
    [services_on_workers, records_on_workers] = client.scatter([services, records],
                                                               broadcast=True, hash=False)

    n = partitions or max(partition_count(line_count), sum(client.nthreads().values()), 1)
    n = n if line_count else 1  # (merge cannot unify the columns of P empty partitions)
    splits = [client.submit(split_file, read, bills, first, n, bill, pure=False)
              for (read, bills), first, bill in zip(kept, first_ids, first_bills)]
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


def _fetch_charges(client: Client, read, account: str, number: str) -> Counter:
    return client.submit(charges_of, read, account, number, pure=False).result()
