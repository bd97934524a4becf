"""The audit pipeline: files -> normalised lines -> matches -> findings.

    run_audit(invoice paths, inventory file) reads everything, then audit_parsed() does the
    work that doesn't care where lines came from (CSV, PDF, later EDI 811).

Bad input never stops the batch: each unreadable file or row is one InputError and the rest
is audited.
"""

from __future__ import annotations

import errno
import gc
import os
import stat
import threading
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa

from reconcile.parsers.columns import load_mapping
from reconcile.bills import FileBills, SharedFile, batch_tables, one_bill_once, shared_files
from reconcile.core.lines import Lines, concat
from reconcile.core.memory import release_freed_memory
from reconcile.matching import Matcher
from reconcile.partitions import audit_partition, merge, partition_count, split_by_account
from reconcile.parsers.readers import (NoReader, ParsedInvoices, Reader, ReadOptions,
                                       choose_reader, read_invoices, read_many_invoices)
from reconcile.core.models import InputError, Invoice, Service
from reconcile.parsers.limits import Limits
from reconcile.core.records import NO_RECORDS, Records
from reconcile.core.row_errors import BatchRowErrors
from reconcile.core.result import AuditOptions, AuditResult
from reconcile.core.service_table import service_table
from reconcile.expected import services_from_orders

# A process pool pays only for the kinds of file whose reader says so (`pooled`: PDF, 1.9x on
# two free cores). CSV/TSV/XLSX are read in this process: a pool cost 19-29 % more CPU for them
# and gained at most 20 % of wall time, less than nothing on a busy machine. Below this many
# pooled files or bytes, a pool costs more to start than it saves.
POOL_MIN_BYTES = 4 << 20
POOL_MIN_PDFS = 8
# Small files of one kind are read together (a reader's `read_many`: a folder of 6,000 one-bill
# exports costs about half as much read 256 at a time); a file this big is read alone.
READ_TOGETHER = 256
# Threads reading the files that are not pooled (at most one per core, never beside a pool)
READ_THREADS = 2
TOGETHER_MAX_BYTES = 1 << 20
# A file of fewer lines shares one table with the files read beside it: its own table (18
# columns' arrays and their metadata) would cost about 26 KiB beyond its lines.
SHARED_MAX_ROWS = 10_000
IGNORED_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}


def collect_files(paths: Iterable[Path], chosen: dict[Path, Reader] | None = None
                  ) -> tuple[list[Path], list[InputError]]:
    """Files to read, folders recursed in name order (symbolic links followed); a file no
    reader fits is an error. Every entry that cannot be read is an error naming it, never
    skipped silently: a folder or file without permission, a broken symbolic link, a link
    loop, a named pipe, socket or device (never opened: a FIFO would hang the read), a file
    gone before it was read. The same file given twice (twice on the command line, directly
    and through its folder, through a link) is read once, where it was first met. `chosen`,
    when given, receives each file's reader (the pool is for some kinds only)."""
    files: list[Path] = []
    errors: list[InputError] = []
    seen: set = set()

    def skip(path, reason: str, effect: str = "file skipped") -> None:
        errors.append(InputError(file=str(path), reason=reason, effect=effect))

    def take(path: Path, st: os.stat_result) -> None:
        identity = (st.st_dev, st.st_ino) if st.st_ino else os.path.realpath(path)
        if identity in seen:
            return  # the same file again: read once
        seen.add(identity)
        if path.name.lower() in IGNORED_NAMES or path.name.startswith("~$"):
            return  # OS litter and Excel lock files are not input
        try:
            reader = choose_reader(path)
        except NoReader as e:
            skip(path, str(e))
        else:
            files.append(path)
            if chosen is not None:
                chosen[path] = reader

    def visit(path: Path, ancestors: frozenset, top: bool) -> None:
        try:
            st = os.stat(path)  # through links
        except OSError as e:
            skip(path, *_unreachable(path, e, top))
            return
        if stat.S_ISDIR(st.st_mode):
            folder = (st.st_dev, st.st_ino)
            if folder in ancestors:
                skip(path, "a symbolic link loop: it leads back to a folder it is in", "link not followed")
                return
            try:
                with os.scandir(path) as it:
                    names = sorted(entry.name for entry in it)
            except OSError as e:
                skip(path, f"cannot read this folder ({e.strerror or e})", "folder skipped")
                return
            for name in names:
                visit(path / name, ancestors | {folder}, False)
        elif stat.S_ISREG(st.st_mode):
            take(path, st)
        else:
            skip(path, f"{_special_kind(st.st_mode)}, not a file: not read")

    for p in paths:
        visit(Path(p), frozenset(), True)
    return files, errors


def _unreachable(path: Path, e: OSError, top: bool) -> tuple[str, str]:
    """Why a path listed (or given) cannot be reached, and what that means."""
    if e.errno == errno.ELOOP:
        return "a symbolic link loop: its links never reach a file", "link not followed"
    if e.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"a broken symbolic link (to {os.readlink(path)}, which does not exist)", "link not followed"
        if top:
            return "no such file or folder", "file skipped"
        return "gone before it was read (removed or renamed meanwhile)", "file skipped"
    return f"cannot read ({e.strerror or e})", "file skipped"


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def read_invoice_file(path: Path, overrides: dict[str, str], pdf_password: str | None = None,
                      pdf_engine: str = "pdfium", limits: Limits | None = None) -> ParsedInvoices:
    return read_invoices(path, ReadOptions(overrides, pdf_password, pdf_engine, limits or Limits()))


def read_invoice_files(paths: list[Path], overrides: dict[str, str],
                       pdf_password: str | None = None, pdf_engine: str = "pdfium",
                       limits: Limits | None = None,
                       readers: dict[Path, Reader] | None = None) -> list[ParsedInvoices]:
    """read_invoice_file of each, the files one reader reads many at a time together.
    `readers`: the reader already chosen for some of them (collect_files)."""
    return read_many_invoices(paths, ReadOptions(overrides, pdf_password, pdf_engine,
                                                 limits or Limits()), readers)


def run_audit(invoice_paths: Iterable[Path], inventory: Path, columns: Path | None = None,
              sheet: str | None = None, options: AuditOptions | None = None,
              progress: Callable[[Iterable[Path]], Iterable[Path]] | None = None,
              pdf_password: str | None = None, pdf_engine: str = "pdfium",
              workers: int | None = None, timings: dict[str, float] | None = None,
               partitions: int | None = None, limits: Limits | None = None,
               contracts: Path | None = None, orders: Path | None = None,
               payments: Path | None = None) -> AuditResult:
    """Read the inventory, the contracts, orders and payments files given, and every invoice
    file, then audit. PDFs are read by a pool of `workers` processes (default: one per core)
    when there are enough of them to gain from it; other files in this process, meanwhile
    (without a pool, by two threads; `workers=1`: one file after the other).
    `limits`: how much of one file is read (reconcile.parsers.limits; a file past them is an
    error and not read).
    `timings`, when given, receives the seconds spent reading, matching and in the rules."""
    from reconcile.parsers.inventory import set_aside

    timings = {} if timings is None else timings
    with _gc_paused():
        t0 = time.perf_counter()
        mapping = load_mapping(columns)
        chosen: dict[Path, Reader] = {}
        files, errors = collect_files(invoice_paths, chosen)
        record_paths = {"contracts": contracts, "orders": orders, "payments": payments}
        files, notes = set_aside(files, {"inventory": inventory, **record_paths})
        invoices: list[Invoice] = []
        limits = limits or Limits()
        how = dict(overrides=mapping["invoice"], pdf_password=pdf_password,
                   pdf_engine=pdf_engine, limits=limits)
        read = partial(_read_quickly, **how)
        read_many = partial(_read_quickly_many, readers=chosen, **how)
        options = options or AuditOptions()
        failed = threading.Event()
        with _FileReader(read, files, workers, chosen, read_many) as parsed_files, \
                ThreadPoolExecutor(1, thread_name_prefix="reconcile-inventory") as aside:
            # The inventory and records are read, and the match index built (Python), on a
            # thread while this one reads the invoices (Arrow, mostly without the interpreter):
            # 1M lines against 50,000 services, reading 0.3-0.7 s less. Not the other way round:
            # the lines' Arrow memory, allocated on a thread that ends, was not given back to
            # the later phases (mimalloc's heaps are per thread: the rules' peak rose 100 MiB).
            # With a pool reading PDFs meanwhile, here first, as no thread may run beside a
            # pool that a worker's death restarts (fork).
            read_known = partial(_read_known, inventory, mapping, sheet, limits, record_paths,
                                 options, failed)
            known = _done(read_known()) if parsed_files.pool else aside.submit(read_known)
            read_files, file_errors, file_notes = _take_files(
                files, parsed_files, progress, failed, BatchRowErrors(limits.batch_row_errors))
            inv, records, matcher, service_columns = known.result()  # an unusable inventory raises here
        services, inv_errors, inv_notes = inv
        errors = inv_errors + errors + records.errors + file_errors
        notes += [f"{inventory}: {n}" for n in inv_notes] + records.notes + file_notes
        notes.extend(one_bill_once(read_files, options.tolerance))
        for f in read_files:
            if not f.set_aside:
                invoices.extend(f.invoices)
            for bill in f.invoices:  # positions in the file's table: nothing in the batch's
                bill.line_ids = []  # (a million ints at 1M lines, 38 MiB)
        tables = batch_tables(read_files)
        batch = concat(tables)
        del tables, read_files, parsed_files  # the files' tables: the batch holds a copy
        release_freed_memory()  # their memory back, before the audit's
        timings["read"] = time.perf_counter() - t0
        result = audit_parsed(services, invoices, batch, options, timings, partitions,
                              records.records, matcher, service_columns)
    return with_inputs(result, errors, notes, files, inventory, inv.columns, record_paths)


def _done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _read_known(inventory: Path, mapping: dict, sheet: str | None, limits: Limits,
                record_paths: dict, options: AuditOptions, failed: threading.Event):
    """The inventory (ValueError when it gives no service), the records files, and the
    services' match index and columns (reconcile.core.service_table), built once for every
    partition, here beside the invoices' reading rather than on the audit's path; `failed`
    is set on failure."""
    from reconcile.parsers.inventory import read_inventory, require_services
    from reconcile.parsers.records import read_records

    try:
        inv = require_services(read_inventory(Path(inventory), mapping["inventory"], sheet, limits))
        records = read_records(record_paths, mapping, limits)
        matcher = Matcher(audit_services(inv.services, records.records), options)
        return inv, records, matcher, service_table(matcher.services)
    except BaseException:
        failed.set()
        raise


def _take_files(files: list[Path], parsed_files, progress, stop: threading.Event,
                row_errors: BatchRowErrors | None = None
                ) -> tuple[list[FileBills], list[InputError], list[str]]:
    """Each file's bills, as the batch keeps them (small files' lines in tables shared by up
    to READ_TOGETHER files), with the files' errors and notes, in file order; no more files
    once `stop` is set (the inventory is unusable: the audit will not run). `row_errors`:
    the batch's limit on row errors listed one by one."""
    read_files: list[FileBills] = []
    errors: list[InputError] = []
    notes: list[str] = []
    small: list[tuple[SharedFile, object]] = []  # not yet in a shared table
    for path, parsed in zip(progress(files) if progress else files, parsed_files):
        table = parsed.lines.table
        if table.num_rows < SHARED_MAX_ROWS:
            read_files.append(SharedFile(str(path), list(parsed.invoices), None, parsed.file_hash))
            small.append((read_files[-1], table))
            if len(small) == READ_TOGETHER:
                shared_files(small)
                small = []
        else:
            read_files.append(FileBills(str(path), list(parsed.invoices), table, parsed.file_hash))
        errors.extend(row_errors.take(parsed.errors) if row_errors else parsed.errors)
        notes.extend(parsed.notes)
        if stop.is_set():
            break
    shared_files(small)
    return read_files, errors, notes


def with_inputs(result: AuditResult, errors: list[InputError], notes: list[str],
                files: list[Path], inventory: Path, inventory_columns,
                record_paths: dict) -> AuditResult:
    """The audit's result with what reading said before it (the errors and notes of the
    files and inventory come first) and what was read."""
    result.errors = errors + result.errors
    result.notes = notes + result.notes
    result.files = [str(f) for f in files]
    result.inventory_file = str(inventory)
    result.inventory_columns = inventory_columns
    result.record_paths = {kind: str(path) for kind, path in record_paths.items() if path}
    return result


class _FileReader:
    """Each file's ParsedInvoices, in file order. Files whose reader gains from a process pool
    (`Reader.pooled`: PDFs) are read by one when there are enough of them; the others (CSV,
    TSV, XLSX) in this process, while the pool works. Without a pool, the others are read by
    READ_THREADS threads a read ahead (PDFs then on the caller's thread; with one worker, one
    file after the other). Each file's lines come back as an Arrow
    table, not as objects. A pool worker that dies (a damaged PDF can crash the native PDF
    library) takes the pool with it: the file at the head is read again alone, a fresh pool
    goes on with the rest, so the file that kills a reader is found, reported, and the batch
    goes on."""

    def __init__(self, read, files: list[Path], workers: int | None,
                 chosen: dict[Path, Reader] | None = None, read_many=None):
        self.read, self.files, self.read_many = read, files, read_many
        workers = workers or os.cpu_count() or 1
        chosen = chosen or {}
        pooled = [i for i, f in enumerate(files) if _pooled(f, chosen)] if workers > 1 else []
        size = sum(_size(files[i]) for i in pooled)
        # one pooled file is worth a worker when other files are read here meanwhile
        self.pooled = pooled if (len(pooled) >= 2 or len(files) > len(pooled) >= 1) and (
            size >= POOL_MIN_BYTES or len(pooled) >= POOL_MIN_PDFS) else []
        self.workers = workers if self.pooled else 0
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict = {}
        # Without a pool, the other files are read by threads (see __iter__); never beside a
        # pool, which a worker's death restarts by forking this process
        self.threads = 0 if self.pooled or workers < 2 else min(workers, READ_THREADS)
        self.here = set(pooled)  # PDFs outside a pool: read on the caller's thread (pdfium is not thread-safe)
        if self.pooled:
            self._start(0)

    def _start(self, first: int) -> None:
        todo = [i for i in self.pooled if i >= first]
        if not todo:
            self.pool, self.futures = None, {}
            return
        self.pool = ProcessPoolExecutor(min(self.workers, len(todo)))
        self.futures = {i: self.pool.submit(self.read, self.files[i]) for i in todo}

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def __iter__(self):
        if self.threads and len(self.files) > 1:
            yield from self._on_threads()
            return
        ahead: dict[int, ParsedInvoices] = {}  # small files read together, not yet given
        for i, path in enumerate(self.files):
            future = self.futures.get(i)
            if future is None:
                if i not in ahead and self.read_many is not None:
                    run = self._together(i)
                    if len(run) > 1:
                        ahead.update(zip(run, self.read_many([self.files[j] for j in run])))
                yield ahead.pop(i) if i in ahead else self.read(path)
                continue
            try:
                parsed = future.result()
            except BrokenProcessPool:
                self.pool.shutdown(cancel_futures=True)
                parsed = _read_alone(self.read, path)
                self._start(i + 1)
            yield parsed

    def _on_threads(self):
        """Each file's ParsedInvoices in file order, read by `threads` threads up to a few
        reads ahead of the caller. The readers' Arrow and NumPy work runs without the
        interpreter, so two threads overlap: four 28 MB CSV exports, 1.97 s read one after
        the other, 1.14 s on two threads, the same CPU time."""
        reads = self._reads()
        with ThreadPoolExecutor(self.threads, thread_name_prefix="reconcile-read") as threads:
            ahead: deque = deque()

            def submit() -> None:
                for files in islice(reads, 1):
                    here = len(files) == 1 and files[0] in self.here
                    ahead.append((files, None if here else threads.submit(self._read_run, files)))

            for _ in range(self.threads):  # each read holds its file's text: no more at once
                submit()
            try:
                while ahead:
                    files, future = ahead.popleft()
                    submit()
                    yield from (future.result() if future else self._read_run(files))
            finally:  # the caller stopped early (an unusable inventory): no more files read
                for _, future in ahead:
                    if future:
                        future.cancel()

    def _reads(self):
        """The files' indexes as they are read, in order: a run of small files at once, or one."""
        i = 0
        while i < len(self.files):
            run = self._together(i) if self.read_many is not None and i not in self.here else []
            run = run if len(run) > 1 else [i]
            yield run
            i = run[-1] + 1

    def _read_run(self, files: list[int]) -> list[ParsedInvoices]:
        if len(files) > 1:
            return self.read_many([self.files[j] for j in files])
        return [self.read(self.files[files[0]])]

    def _together(self, i: int) -> list[int]:
        """The small files from the i-th on, up to the next pooled or big one (or PDF, when
        threads read the others), to read at once."""
        run = []
        for j in range(i, min(i + READ_TOGETHER, len(self.files))):
            if j in self.futures or (self.threads and j in self.here) \
                    or _size(self.files[j]) >= TOGETHER_MAX_BYTES:
                break
            run.append(j)
        return run


def _pooled(path: Path, chosen: dict[Path, Reader]) -> bool:
    """Whether the file's reader gains from a process pool (a file no reader fits, or one
    gone since it was listed: no; its reader says why, as that file's error)."""
    try:
        reader = chosen.get(path) or choose_reader(path)
    except NoReader:
        return False
    return reader.pooled


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # gone since it was listed: its reader says so, as that file's error
        return 0


def _read_alone(read, path: Path):
    with ProcessPoolExecutor(1) as solo:
        try:
            return solo.submit(read, path).result()
        except BrokenProcessPool:
            return _unreadable(path, "the reader's process died on this file (a damaged file can "
                                     "crash the PDF library)")


def _unreadable(path: Path, reason: str):
    return ParsedInvoices(errors=[InputError(file=str(path), reason=reason, effect="file skipped")])


def _read_quickly(path: Path, **kwargs):
    """read_invoice_file with the cyclic collector paused (see _gc_paused), also in a worker.
    A reader's own bug on some file is that file's error, not the batch's end."""
    with _gc_paused(collect=False):
        try:
            return read_invoice_file(path, **kwargs)
        except Exception as e:  # noqa: BLE001 - whatever it is, the other files still count
            if isinstance(e, FileNotFoundError) and not os.path.lexists(path):
                return _unreadable(path, "gone before it was read (removed or renamed meanwhile)")
            return _unreadable(path, f"the reader failed on this file ({type(e).__name__}: {e}); "
                                     f"please report it with the file")


def _read_quickly_many(paths: list[Path], readers: dict[Path, Reader] | None = None,
                       **kwargs) -> list:
    """read_invoice_files with the cyclic collector paused. A reader's own bug on one of the
    files: each is read again alone, so the file it fails on is that file's error only."""
    with _gc_paused(collect=False):
        try:
            return read_invoice_files(paths, readers=readers, **kwargs)
        except Exception:  # noqa: BLE001 - which file it was is found by reading each alone
            pass
    return [_read_quickly(p, **kwargs) for p in paths]


@contextmanager
def _gc_paused(collect: bool = True):
    """A million lines are millions of objects with no reference cycles among them; the cyclic
    collector would walk them all again and again while they are built (2-4x slower). Paused
    for the audit, one collection after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
            if collect:
                gc.collect()


def audit_services(services: list[Service], records: Records) -> list[Service]:
    """The services an audit matches lines to: the inventory's, then those only a completed
    install order lists (reconcile.expected.services_from_orders)."""
    return services + services_from_orders(services, records.orders)


def audit_parsed(services: list[Service], invoices: list[Invoice], lines,
                 options: AuditOptions, timings: dict[str, float] | None = None,
                 partitions: int | None = None, records: Records = NO_RECORDS,
                 matcher: Matcher | None = None,
                 service_columns: pa.Table | None = None) -> AuditResult:
    """Match and run the rules on lines already read: a batch table (reconcile.core.lines) or
    line records (docstring examples, tests), in the order their readers gave them. A big
    batch is audited one account partition at a time (reconcile.partitions). `matcher`: the
    match index of `audit_services(services, records)`, when the caller built it already;
    `service_columns`: its services as columns (reconcile.core.service_table), likewise."""
    timings = {} if timings is None else timings
    table = Lines.of(lines).table
    n = partitions or partition_count(table.num_rows)
    if matcher is None:
        matcher = Matcher(audit_services(services, records), options)
    services = matcher.services
    if service_columns is None:
        service_columns = service_table(services)
    done = [audit_partition(services, bills, part, options, records, matcher, service_columns)
            for bills, part in split_by_account(table, invoices, n)]
    for key in ("match", "rules"):
        timings[key] = sum(d.seconds.get(key, 0.0) for d in done)
    return merge(services, done, options, records, service_columns)
