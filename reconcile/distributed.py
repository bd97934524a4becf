"""The audit on a Dask cluster: the same result as reconcile.audit.run_audit, computed by
the cluster's workers (`reconcile audit ... --scheduler tcp://HOST:PORT`).

    client                          workers
    ------                          -------
    list the files                  read each file (one task per file) -> Arrow table
    read the inventory, the         (line counts back to the client: line ids assigned)
    records; broadcast them
                                    split each file's table into P account partitions
                                    concatenate partition p's pieces, audit_partition
    gather the partitions, merge

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
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterable

import numpy as np
import pyarrow as pa
from distributed import Client, KilledWorker

from reconcile.audit import (_gc_paused, _read_alone, _read_quickly, _unreadable,
                             collect_files)
from reconcile.core.lines import Lines, concat
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


def read_file(path: Path, overrides: dict[str, str], pdf_password: str | None,
              pdf_engine: str, limits: Limits | None = None) -> FileRead:
    """Task: one invoice file -> its lines as an Arrow table (the local run's reader and its
    wrapper, so a reader's exception is this file's error)."""
    return _file_read(_read_quickly(path, overrides=overrides, pdf_password=pdf_password,
                                    pdf_engine=pdf_engine, limits=limits))


def file_summary(read: FileRead) -> tuple[int, int, list[InputError], list[str]]:
    """Task: what the client needs of a read file (small): lines, invoices, errors, notes."""
    return read.table.num_rows, len(read.invoices), read.errors, read.notes


def split_file(read: FileRead, first_line_id: int, partitions: int, first_bill: int = 0
               ) -> list[tuple[list[Invoice], pa.Table]]:
    """Task: a file's (invoices, lines) per account partition, lines numbered from
    `first_line_id` (their position in the batch), bills from `first_bill`."""
    number_bills(read.invoices, first_bill)
    n = read.table.num_rows
    table = read.table.append_column(
        "line_id", pa.array(np.arange(first_line_id, first_line_id + n, dtype=np.int64)))
    return split_by_account(table, read.invoices, partitions)


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
    return FileRead(Lines.of(parsed.lines).table, list(parsed.invoices), list(parsed.errors),
                    list(parsed.notes))


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
    kept, first_ids, first_bills, line_count, bill_count = [], [], [], 0, 0
    for i, read in enumerate(reads):
        rows, bills, file_errors, file_notes = got[i] or (0, 0, [], [])
        errors.extend(file_errors)
        notes.extend(file_notes)
        if rows or bills:
            kept.append(read)
            first_ids.append(line_count)
            first_bills.append(bill_count)
            line_count += rows
            bill_count += bills
    timings["read"] = time.perf_counter() - t0
    # broadcast once the reads are done: a worker a damaged file killed took no copy with it
    [services_on_workers, records_on_workers] = client.scatter([services, records],
                                                               broadcast=True, hash=False)

    n = partitions or max(partition_count(line_count), sum(client.nthreads().values()), 1)
    n = n if line_count else 1  # (merge cannot unify the columns of P empty partitions)
    splits = [client.submit(split_file, read, first, n, bill, pure=False)
              for read, first, bill in zip(kept, first_ids, first_bills)]
    del reads, kept  # each file's read is released once split
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
    result = merge(services, done, options, records)
    result.errors = errors + result.errors
    result.notes = notes + result.notes
    result.files = [str(f) for f in files]
    result.inventory_file = str(inventory)
    result.inventory_columns = inv.columns
    result.record_paths = {kind: str(path) for kind, path in record_paths.items() if path}
    return result
