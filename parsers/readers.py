"""Invoice readers register themselves; each file goes to the reader its content and name fit.

    @register_reader("edi811", suffixes=(".x12", ".811"), sniff=lambda head, path: ...)
    def read_811(path: Path, options: ReadOptions) -> ParsedInvoices: ...

A reader appends its lines to a `FileLines` (reconcile.parsers.line_columns) and hands them
over as one Arrow table (`ParsedInvoices.lines`), with no object per line. A format that is
slow to read for its size (PDF) registers with `pooled=True`: a batch of such files is read by
a process pool (reconcile.audit); the others are read in the audit's own process.

Every module of this package is imported once to find the readers, so a new format (EDI X12
811, TELUS' preamble reports) is one module dropped into parsers/ plus its test.

Choosing a reader (`choose_reader`): the readers whose sniff recognises the file's first bytes
are candidates; a specific sniff (a magic number, a format's envelope) beats a broad one (any
text), and among equals the reader that claims the file's suffix wins, then the first
registered. So a `.csv` that is really a workbook or a PDF, a `.pdf` that is text and a file
with no suffix are each read by the right reader. A broad sniff counts only for a file named
like one of our kinds or not named at all: a `.json` or `.md` is no invoice for being text.
A reader without a sniff takes the files named with its suffixes.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from reconcile.core.lines import Lines
from reconcile.core.models import InputError, Invoice
from reconcile.core.row_errors import listed_row_errors
from reconcile.parsers.limits import LimitExceeded, Limits, check_file_size

SNIFF_BYTES = 8192


@dataclass(frozen=True)
class ReadOptions:
    """What the person running the audit told every reader; each uses what it needs."""

    columns: dict[str, str] = field(default_factory=dict)  # invoice field -> header (--columns)
    password: str | None = None  # encrypted PDFs
    pdf_engine: str = "pdfium"
    limits: Limits = field(default_factory=Limits)  # how much of a file is read (--limit)


@dataclass
class ParsedInvoices:
    """What one file gave: invoices, their lines, problems, notes, and the file's content hash
    (`file_digest`), which also starts each line's key.

    `lines` is a `Lines` (reconcile.core.lines): one Arrow table, built by the reader with a
    `FileLines` (reconcile.parsers.line_columns); an invoice's `line_ids` are positions in it.
    A reader may also hand over line records (a list of InvoiceLine): they become a table here
    (and in `read_invoices` when assigned later), their `line_id`s being their positions."""

    invoices: list[Invoice] = field(default_factory=list)
    lines: Lines = field(default_factory=Lines)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    file_hash: str = ""
    # a table's rows after its header, each a line, a summary row or an error: the count of
    # rows with anything in them, and the rows that were summaries (TOTAL, subtotal, rows a
    # dialect skips), so a test can hold rows in = lines + summaries + rows reported
    rows_read: int = 0
    summary_rows: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lines = Lines.of(self.lines)


ReadFn = Callable[[Path, ReadOptions], ParsedInvoices]
ReadManyFn = Callable[[list[Path], ReadOptions], list[ParsedInvoices]]
SniffFn = Callable[[bytes, Path], bool]  # (first SNIFF_BYTES of the file, its path) -> is it mine


@dataclass(frozen=True)
class Reader:
    name: str
    read: ReadFn
    suffixes: tuple[str, ...] = ()  # lower case, with the dot
    sniff: SniffFn | None = None
    broad: bool = False  # the sniff recognises a broad kind (any text): specific sniffs first
    # reading costs much CPU per byte (PDF): a batch of such files is read by a process pool.
    # Not for table exports: pickling their lines costs about what a second process saves.
    pooled: bool = False
    # many files at once, the same results as `read` of each: a folder of small exports costs
    # less read together (one table per kind of export) than file by file
    read_many: ReadManyFn | None = None


_READERS: dict[str, Reader] = {}
_discovered = False


def register_reader(name: str, suffixes: tuple[str, ...] = (), sniff: SniffFn | None = None,
                    broad: bool = False, pooled: bool = False,
                    read_many: ReadManyFn | None = None) -> Callable[[ReadFn], ReadFn]:
    """Decorator: `read(path, options) -> ParsedInvoices` reads the files this reader is chosen
    for. It must not raise for a bad file: one InputError naming the file (and row or page).
    `read_many(paths, options)`, when given, reads several such files at once, each as `read`
    would (the same values; the files' tables may share their text columns' dictionaries)."""

    def register(read: ReadFn) -> ReadFn:
        _READERS[name] = Reader(name, read, tuple(s.lower() for s in suffixes), sniff, broad,
                                pooled, read_many)
        return read

    return register


def readers() -> list[Reader]:
    """Every registered reader, in registration order; imports this package's modules once."""
    global _discovered
    if not _discovered:
        package = importlib.import_module(__name__.rpartition(".")[0])
        for module in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)  # a module that fails to import fails loudly
        _discovered = True
    return list(_READERS.values())


def known_suffixes() -> list[str]:
    return sorted({s for r in readers() for s in r.suffixes})


class NoReader(Exception):
    """No registered reader fits the file; the message says why and what is supported."""


def choose_reader(path: Path) -> Reader:
    """The reader for this file (see the module's docstring), or NoReader saying why none."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as e:
        raise NoReader(f"cannot open ({e.strerror})") from None
    if not head:
        raise NoReader("the file is empty (0 bytes)")
    suffix = path.suffix.lower()
    named_like_ours = not suffix or suffix in known_suffixes()
    failed: list[str] = []  # sniffs that raised on a file named for their reader

    def fits(r: Reader) -> bool:
        if r.sniff is None:
            return suffix in r.suffixes
        if r.broad and not named_like_ours:
            return False
        try:
            return bool(r.sniff(head, path))
        except Exception as e:  # noqa: BLE001 - a reader's bug must not stop the batch
            if suffix in r.suffixes:
                failed.append(f"the {r.name} reader's sniff failed on it ({type(e).__name__}: {e})")
            return False

    fitting = [r for r in readers() if fits(r)]
    best = min(fitting, key=lambda r: (r.broad, suffix not in r.suffixes), default=None)
    if failed and (best is None or best.broad):  # not "any text" for a file its reader choked on
        raise NoReader("; ".join(failed) + "; please report it with the file")
    if best is None:
        raise NoReader(_unsupported(suffix, head))
    return best


def _unsupported(suffix: str, head: bytes) -> str:
    supported = f"the registered readers take {', '.join(known_suffixes())}"
    if not suffix:
        return (f"a file without an extension, and its content is no kind read here (it begins "
                f"{head[:12]!r}); not supported ({supported})")
    if suffix in known_suffixes():
        return (f"named {suffix} but its content is no kind read here (it begins {head[:12]!r}); "
                f"not supported ({supported})")
    return f"{suffix} invoices are not supported ({supported})"


def read_invoices(path: Path, options: ReadOptions = ReadOptions()) -> ParsedInvoices:
    """The file read by its reader; a file no reader fits is one error naming it."""
    return read_many_invoices([path], options)[0]


def read_many_invoices(paths: list[Path], options: ReadOptions = ReadOptions(),
                       known_readers: dict[Path, Reader] | None = None) -> list[ParsedInvoices]:
    """read_invoices of each file; the files one reader reads many at a time (`read_many`)
    are given to it together. `known_readers`: the reader already chosen for some of the
    files (a folder's listing chose one for each: sniffing again costs about 60 us a file)."""
    known_readers = known_readers or {}
    got: list[ParsedInvoices | None] = [None] * len(paths)
    chosen: dict[str, list[int]] = {}
    readers_of: list[Reader | None] = [None] * len(paths)
    for k, path in enumerate(paths):
        try:
            reader = readers_of[k] = known_readers.get(path) or choose_reader(path)
            check_file_size(path, options.limits)
        except (NoReader, LimitExceeded) as e:
            got[k] = ParsedInvoices(errors=[InputError(file=str(path), reason=str(e),
                                                       effect="file skipped")])
            continue
        if reader.read_many is not None and len(paths) > 1:
            chosen.setdefault(reader.name, []).append(k)
        else:
            got[k] = reader.read(path, options)
    for name, ks in chosen.items():
        for k, parsed in zip(ks, _READERS[name].read_many([paths[k] for k in ks], options)):
            got[k] = parsed
    for path, reader, parsed in zip(paths, readers_of, got):
        if reader is None:
            continue
        parsed.errors = listed_row_errors(parsed.errors, options.limits.row_errors)
        parsed.lines = Lines.of(parsed.lines)  # no cost for a table; records become one
        suffix = path.suffix.lower()
        if suffix not in reader.suffixes:
            named = f"named {suffix}" if suffix else "without an extension"
            parsed.notes.append(f"{path}: {named}, read as {reader.name} by its content")
    return got


def source_name(path: Path) -> str:
    """The file's name as its lines, invoices and errors carry it: the path, with the bytes of a
    name that is not valid UTF-8 (lone surrogates in Python) escaped as \\udcXX, so Arrow and
    the reports can hold it (the same name everywhere, so lines still meet their invoices)."""
    name = str(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
    return name


def file_digest(path: Path) -> str:
    """The file's content hash (sha256, first 16 hex): the same file anywhere, any run."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()[:16]


def line_key(digest: str, row: int, page: int | None = None, part: int | None = None) -> str:
    """A line's stable key: `<hash>:r<row>` in a table (`:c<column>` when a row gives several
    lines), `<hash>:p<page>:l<line on the page>` in a PDF."""
    key = f"{digest}:r{row}" if page is None else f"{digest}:p{page}:l{row}"
    return key if part is None else f"{key}:c{part}"
