"""The customer's records beyond the inventory: contracts, orders and payments, each an
optional CSV or XLSX file (`--contracts`, `--orders`, `--payments`).

One reader for the three kinds; each kind is a table of fields (aliases in parsers/columns.py,
how each value is read in `KINDS` below). The header is found as the inventory's is: the row
naming the most fields, on the first sheet that has one (a sheet named after the kind,
"Contracts", first). A row that cannot be read is one error naming the file, the row and
why, and the rest is used; a file that cannot be read at all is one error, and the audit goes
on without it: that kind then does not count as given, so the rules that need it say they
were not checked instead of reading "no contracts" as "nothing contracted".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Callable

from reconcile.core.models import Contract, InputError, Order, Payment
from reconcile.core.records import KINDS as RECORD_KINDS
from reconcile.core.records import Records
from reconcile.core.row_errors import listed_row_errors
from reconcile.core.values import COMMA, decimal_convention, parse_date
from reconcile.parsers.columns import (CONTRACT_FIELDS, ORDER_FIELDS, PAYMENT_FIELDS,
                                       map_columns, missing_column_reason, norm_header)
from reconcile.parsers.limits import (DEFAULT_LIMITS, LimitExceeded, Limits, check_file_size,
                                      check_zip)
from reconcile.parsers.record_values import (ACTIONS, AFTER_TERM, STATUSES, choice, days,
                                             end_date, money, percent, text, yes_no)
from reconcile.parsers.tabular import (BadRow, TableError, cell_text, header_scorer,
                                       looks_like_workbook, open_table, peek)


@dataclass(frozen=True)
class Kind:
    """What one kind of file holds and how its rows become records."""

    name: str  # "contracts": the option, the --columns section, Records' field
    fields: dict[str, list[str]]  # field -> header aliases
    values: dict[str, Callable]  # field -> how a cell is read (ValueError: why not)
    columns: tuple[tuple[str, ...], ...]  # the file needs a column for one field of each group
    needed: tuple[str, ...]  # a row without a value for these is skipped
    build: Callable[[dict], object]  # the row's values -> its record (ValueError: why not)
    decimals: tuple[str, ...] = ()  # numbers written with the file's decimal mark


def _contract(v: dict) -> Contract:
    if not v["service_id"] and not v["product"]:
        raise ValueError("neither a service ID nor a product: the row prices nothing")
    start, end = v["term_start"], v["term_end"]
    if start and end and end < start:
        raise ValueError(f"term ends ({end}) before it starts ({start})")
    return Contract(**{**v, "nrc_waived": bool(v["nrc_waived"])})


def _order(v: dict) -> Order:
    # no status written: an order with a completion date was completed, else it is pending
    status = v["status"] or ("completed" if v["completed_date"] else "pending")
    return Order(**{**v, "status": status})


def _payment(v: dict) -> Payment:
    # the money paid; a ledger's sign ("-495.00" in a payables export) is its own convention
    return Payment(source=v["source"], row=v["row"], account=v["account"], date=v["payment_date"],
                   amount=abs(v["amount"]), reference=v["reference"],
                   invoice_number=v["invoice_number"])


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("contracts", CONTRACT_FIELDS, {
        "carrier": text, "account": text, "service_id": text, "product": text,
        "monthly_rate": money, "one_time_rate": money,
        "discount_pct": percent(Decimal(1)), "term_start": parse_date, "term_end": end_date,
        "after_term": choice(AFTER_TERM), "mtm_rate_pct": percent(Decimal(10)),
        "dispute_window_days": days, "late_fee_pct": percent(Decimal("0.1")),
        "nrc_waived": yes_no, "notice_days": days},
        columns=(("carrier",), ("service_id", "product")), needed=("carrier",), build=_contract,
        decimals=("monthly_rate", "one_time_rate", "discount_pct", "mtm_rate_pct",
                  "late_fee_pct")),
    Kind("orders", ORDER_FIELDS, {
        "order_id": text, "carrier": text, "account": text, "service_id": text,
        "action": choice(ACTIONS), "status": choice(STATUSES), "order_date": parse_date,
        "due_date": parse_date, "foc_date": parse_date, "completed_date": parse_date,
        "quoted_nrc": money, "new_rate": money, "description": text},
        columns=(("service_id",), ("action",)), needed=("service_id", "action"), build=_order,
        decimals=("quoted_nrc", "new_rate")),
    Kind("payments", PAYMENT_FIELDS, {
        "account": text, "payment_date": parse_date, "amount": money, "reference": text,
        "invoice_number": text},
        columns=(("account",), ("payment_date",), ("amount",)),
        needed=("account", "payment_date", "amount"), build=_payment, decimals=("amount",)),
)}
assert tuple(KINDS) == RECORD_KINDS


@dataclass
class RecordFile:
    """What reading one file gave: its records (none when it could not be read: `read`)."""

    kind: str
    path: str
    records: list = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field -> the header it was read from
    read: bool = False  # False: the file as a whole could not be read (it is not given)


def read_record_file(kind: str, path: Path, overrides: dict[str, str] | None = None,
                     sheet: str | None = None, limits: Limits = DEFAULT_LIMITS) -> RecordFile:
    """One contracts, orders or payments file (`kind`): records, errors naming file and row,
    notes on how it was read. A file past one of `limits`, or whose rows break off, is not
    read (one error)."""
    out = RecordFile(kind, str(path))
    try:
        return _read(out, path, overrides, sheet, limits)
    except (TableError, LimitExceeded) as e:  # found while reading the rows
        return _unreadable(out, str(e))


def _unreadable(out: RecordFile, reason: str) -> RecordFile:
    out.records, out.read = [], False
    out.errors.append(InputError(file=out.path, reason=f"{out.kind}: {reason}",
                                 effect="file skipped"))
    return out


def _read(out: RecordFile, path: Path, overrides: dict[str, str] | None, sheet: str | None,
          limits: Limits) -> RecordFile:
    spec, src, kind = KINDS[out.kind], out.path, out.kind
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
        if head.startswith(b"%PDF") or head.startswith(b"\xd0\xcf\x11\xe0"):
            return _unreadable(out, f"a PDF or an old Excel (.xls) file: give the {kind} as CSV "
                                    f"or XLSX")
        workbook = looks_like_workbook(head, path)
        scorer = header_scorer(spec.fields, set((overrides or {}).values()))
        named = None if sheet or not workbook else _sheet_named(path, kind, limits)
        try:
            table = open_table(path, scorer, sheet=sheet or named, workbook=workbook,
                               limits=limits)
        except TableError:
            if named is None:
                raise
            table = open_table(path, scorer, workbook=workbook, limits=limits)  # no header there
    except TableError as e:
        hint = "" if str(e) == "file is empty" else (
            f"; name its columns in --columns MAPPING.yaml under '{kind}:'")
        return _unreadable(out, f"{e}{hint}")
    except OSError as e:
        return _unreadable(out, f"cannot open ({e.strerror or e})")
    out.notes.extend(f"{src}: {n}" for n in table.notes)
    cmap = map_columns(table.headers, spec.fields, overrides)
    for group in spec.columns:
        if not any(name in cmap.positions for name in group):
            return _unreadable(out, missing_column_reason(cmap, spec.fields, group[0], kind))
    for header, cols in cmap.duplicates:
        out.errors.append(InputError(file=src, row=table.header_row, reason=(
            f"columns {[c + 1 for c in cols]} are all named {header!r}; using column "
            f"{cols[0] + 1}"), effect="value ignored"))
    out.read = True
    out.columns = {name: table.headers[i] for name, i in cmap.positions.items()}
    parsers = _parsers(spec, cmap.positions, table, out)
    for row_no, cells in table.rows:
        if cells.__class__ is BadRow:
            out.errors.append(InputError(file=src, row=row_no, reason=f"{kind}: {cells.reason}"))
            continue
        if not any(cell_text(c) for c in cells):
            continue
        try:
            out.records.append(_record(spec, parsers, cmap.positions, cells, src, row_no))
        except ValueError as e:
            out.errors.append(InputError(file=src, row=row_no, reason=f"{kind}: {e}"))
    if not out.records and not out.errors:
        out.notes.append(f"{src}: no {kind} rows under the header at row {table.header_row}")
    return out


def _parsers(spec: Kind, positions: dict[str, int], table, out: RecordFile) -> dict:
    """The kind's value parsers, its numbers read with the file's decimal mark (decided once,
    from the numbers of its first rows: `1.234,50` in one file, `1,234.50` in another)."""
    cols = [positions[n] for n in spec.decimals if n in positions]
    head, table.rows = peek(table.rows, 2000)
    decimal = decimal_convention((c[i] for _, c in head for i in cols if i < len(c)),
                                 table.delimiter)
    if decimal == COMMA:
        out.notes.append(f"{out.path}: numbers are written with a decimal comma (1.234,50 is "
                         f"1234.50), as its values show")
    return {name: partial(parse, decimal=decimal) if name in spec.decimals else parse
            for name, parse in spec.values.items()}


def _record(spec: Kind, parsers: dict, positions: dict[str, int], cells: list, src: str,
            row_no: int):
    """The row's record, or ValueError naming every value that could not be read."""
    values: dict = {"source": src, "row": row_no}
    problems = []
    for name, parse in parsers.items():
        i = positions.get(name)
        try:
            values[name] = parse(cells[i] if i is not None and i < len(cells) else None)
        except ValueError as e:
            problems.append(f"{name}: {e}")
            values[name] = None
    problems += [f"{name} is blank" for name in spec.needed
                 if values[name] in (None, "") and not any(p.startswith(name + ":")
                                                          for p in problems)]
    if problems:
        raise ValueError("; ".join(problems))
    return spec.build(values)


def _sheet_named(path: Path, kind: str, limits: Limits) -> str | None:
    """The workbook's sheet named after the kind ('Contracts', 'Order'), so one workbook can
    hold the inventory and the records on sheets of their own; None when there is none."""
    import openpyxl

    check_file_size(path, limits)
    check_zip(path, limits)  # before openpyxl inflates anything
    try:
        with open(path, "rb") as fh:
            wb = openpyxl.load_workbook(fh, read_only=True)
            names = wb.sheetnames
            wb.close()
    except Exception:  # noqa: BLE001 - not readable as a workbook: open_table says why
        return None
    wanted = {kind, kind.rstrip("s")}
    return next((n for n in names if norm_header(n) in wanted), None)


@dataclass
class RecordsRead:
    """The three files read: the records for the audit, errors and notes for the reports."""

    records: Records
    errors: list[InputError]
    notes: list[str]


def read_records(paths: dict[str, Path | None], mapping: dict[str, dict[str, str]] | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> RecordsRead:
    """Every file given (kind -> path, None when not given). A kind counts as given when its
    file could be read, even with no rows or some bad ones."""
    mapping = mapping or {}
    got: dict[str, list] = {k: [] for k in KINDS}
    errors: list[InputError] = []
    notes: list[str] = []
    files: list[tuple[str, str]] = []
    unreadable: set[str] = set()
    for kind, path in paths.items():
        if path is None:
            continue
        try:
            f = read_record_file(kind, Path(path), mapping.get(kind), limits=limits)
        except Exception as e:  # noqa: BLE001 - a reader's bug on one file: not the batch's end
            f = RecordFile(kind, str(path), errors=[InputError(
                file=str(path), effect="file skipped", reason=(
                    f"{kind}: the reader failed on this file ({type(e).__name__}: {e}); please "
                    f"report it with the file"))])
        errors += listed_row_errors(f.errors, limits.row_errors)
        notes += f.notes
        if f.read:
            got[kind] = f.records
            files.append((kind, f.path))
        else:
            unreadable.add(kind)
    given = frozenset(kind for kind, _ in files)
    return RecordsRead(Records(tuple(got["contracts"]), tuple(got["orders"]),
                               tuple(got["payments"]), given, tuple(files),
                               frozenset(unreadable)), errors, notes)
