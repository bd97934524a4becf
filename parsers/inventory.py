"""The provisioning inventory agents keep (CSV or Excel): one row per circuit, line or trunk.

Blank install dates and a contract end of `MTM` are normal data. A row whose service ID is
blank (in every service-ID column: circuits and phone lines may have one each) is reported
and skipped; a value that can't be read is reported and left blank so the
rest of the row is still used.

An inventory that gives no service at all (a wrong sheet, an ID column the aliases miss, a
PDF or an invoice export given as the inventory, an empty file) is no inventory: auditing
against it would call every billed line unknown. `Inventory.problem` then says why and how
to fix it, and `require_services` refuses it (the command's usage error, exit 2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Iterable

from reconcile.parsers.columns import (INVENTORY_FIELDS, INVENTORY_REQUIRED, INVOICE_FIELDS,
                                       _alias_index, closest_alias, map_columns, norm_header)
from reconcile.parsers.limits import DEFAULT_LIMITS, LimitExceeded, Limits
from reconcile.parsers.tabular import (BadRow, TableError, cell_text, header_scorer, open_table,
                                       peek)
from reconcile.core.models import InputError, Service
from reconcile.core.row_errors import listed_row_errors
from reconcile.core.values import COMMA, decimal_convention, parse_date, parse_money

_OPEN_ENDED = {"MTM", "M2M", "MONTHTOMONTH", "NONE", "NA", "N/A", "EVERGREEN", "AUTORENEW"}
# columns only a bill has: an inventory that names none of its own but these is an invoice export
_BILL_ONLY = ("invoice_number", "amount", "invoice_date", "period", "period_start", "charge_type",
              "invoice_total", "due_date")
_CIRCUIT_ONLY = ("monthly_rate", "install_date", "disconnect_date", "contract_end")


class InventoryUnusable(ValueError):
    """The inventory gives no service: there is nothing to audit against (a usage error)."""


@dataclass
class Inventory:
    """What reading the inventory gave. Unpacks as (services, errors, notes)."""

    services: list[Service]
    errors: list[InputError]
    notes: list[str]
    columns: dict[str, str] = field(default_factory=dict)  # field -> the header it was read from
    problem: str = ""  # when no service was read: why, and how to fix it

    def __iter__(self):
        return iter((self.services, self.errors, self.notes))


def require_services(inventory: Inventory) -> Inventory:
    """The inventory, or InventoryUnusable saying why it gave no service and how to fix it."""
    if inventory.services:
        return inventory
    raise InventoryUnusable(inventory.problem or "; ".join(e.reason for e in inventory.errors)
                            or "the inventory gave no service")


def set_aside(files: list[Path], inputs: Iterable[Path | None] | dict[str, Path | None]
              ) -> tuple[list[Path], list[str]]:
    """`files` (the invoice files) less the other inputs (the inventory, the contracts, orders
    and payments: kind -> path, or paths of the inventory), found by path or, for a copy, by
    content: an inventory kept in the invoice folder is not a bill. Returns the files kept and
    a note for each one set aside."""
    pairs = inputs.items() if isinstance(inputs, dict) else (("inventory", p) for p in inputs)
    given = [(kind, Path(p)) for kind, p in pairs if p is not None and Path(p).is_file()]
    by_path = {p.resolve(): kind for kind, p in given}
    by_content: dict[tuple[int, str], str] = {}
    for kind, p in given:
        by_content.setdefault((p.stat().st_size, _sha256(p)), kind)
    sizes = {size for size, _ in by_content}
    kept, notes = [], []
    for f in files:
        try:
            kind = by_path.get(f.resolve())
            if kind is None and f.stat().st_size in sizes:
                kind = by_content.get((f.stat().st_size, _sha256(f)))
        except OSError:  # gone or unreadable since it was listed: its reader reports it
            kind = None
        if kind:
            what = "the inventory" if kind == "inventory" else f"the {kind} file"
            notes.append(f"{f}: given as {what}, not read as an invoice")
        else:
            kept.append(f)
    return kept, notes


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_inventory(path: Path, overrides: dict[str, str] | None = None,
                   sheet: str | None = None, limits: Limits = DEFAULT_LIMITS) -> Inventory:
    """Services, problems (file/row/reason), and notes on how the file was read. An inventory
    past one of `limits`, or whose rows break off, gives no service (the reason says why)."""
    try:
        inventory = _read_inventory(path, overrides, sheet, limits)
        inventory.errors = listed_row_errors(inventory.errors, limits.row_errors)
        return inventory
    except (TableError, LimitExceeded) as e:  # found while reading the rows
        src = str(path)
        return Inventory([], [InputError(file=src, reason=f"inventory: {e}", effect="file skipped")],
                         [], problem=f"{src}: {e}")


def _read_inventory(path: Path, overrides: dict[str, str] | None, sheet: str | None,
                    limits: Limits) -> Inventory:
    src = str(path)

    def unusable(problem: str, notes=()) -> Inventory:
        return Inventory([], [InputError(file=src, reason=f"inventory: {problem}",
                                         effect="file skipped")], list(notes),
                         problem=f"{src}: {problem}")

    kind = _binary_kind(path)
    if kind:
        return unusable(kind)
    try:
        table = open_table(path, _inventory_scorer(overrides), sheet=sheet, limits=limits)
    except TableError as e:
        return unusable(_table_problem(e, sheet))
    except LimitExceeded as e:
        return unusable(str(e))
    except OSError as e:
        return unusable(f"cannot open ({e.strerror})")
    where = f"sheet {table.sheet!r}: " if table.sheet else ""
    seen = ", ".join(repr(h) for h in table.headers if h) or "none"
    invoice_cols = _invoice_columns(table.headers)
    if invoice_cols:
        return unusable(
            f"{where}this looks like an invoice export, not an inventory (it has the bill columns "
            f"{', '.join(map(repr, invoice_cols))} and no rate or date of a circuit). Give it with "
            f"the invoice paths, and give --inventory the list of circuits and numbers you keep "
            f"(one row each).", table.notes)
    cmap = map_columns(table.headers, INVENTORY_FIELDS, overrides)
    if cmap.missing(INVENTORY_REQUIRED):
        return unusable(f"{where}no column holds the service IDs (circuit IDs or phone numbers); "
                        f"headers seen: {seen}. Name the column in a mapping file and pass it "
                        f"with --columns MAPPING.yaml:\n\n{_mapping_hint(table.headers)}",
                        table.notes)
    errors: list[InputError] = []
    for header, cols in cmap.duplicates:
        errors.append(InputError(file=src, row=table.header_row,
                                 reason=f"columns {[c + 1 for c in cols]} are all named {header!r}; "
                                        f"using column {cols[0] + 1}", effect="value ignored"))
    pos = cmap.positions
    other_ids = _other_id_columns(table.headers, pos["service_id"])
    used = set(pos.values())
    extra_cols = [(i, h) for i, h in enumerate(table.headers) if i not in used and h]
    services: list[Service] = []
    head, rows = peek(table.rows, 2000)
    i = pos.get("monthly_rate")
    decimal = decimal_convention((c[i] for _, c in head if i is not None and i < len(c)),
                                 table.delimiter)
    money = partial(parse_money, decimal=decimal)
    if decimal == COMMA:
        table.notes.append("rates are written with a decimal comma (1.234,50 is 1234.50), as its "
                           "values show")
    money, date_of = _once_per_text(money), _once_per_text(parse_date)
    at = {name: pos.get(name) for name in ("service_id", "account", "carrier", "description",
                                           "location", "monthly_rate", "install_date",
                                           "disconnect_date", "contract_end")}
    for row_no, cells in rows:
        if cells.__class__ is BadRow:
            errors.append(InputError(file=src, row=row_no, reason=cells.reason))
            continue
        if _blank(cells):
            continue
        width = len(cells)

        def get(name, cells=cells, width=width):
            i = at[name]
            return cells[i] if i is not None and i < width else None

        sid = cell_text(get("service_id")) or next(
            (t for i in other_ids if i < width and (t := cell_text(cells[i]))), "")
        if not sid:
            errors.append(InputError(file=src, row=row_no, reason="service ID is blank"))
            continue
        values: dict = {}
        for name, parse in (("monthly_rate", money), ("install_date", date_of),
                            ("disconnect_date", date_of)):
            try:
                values[name] = parse(get(name))
            except ValueError as e:
                errors.append(InputError(file=src, row=row_no, reason=f"{name}: {e}",
                                         effect="value ignored"))
        end_raw = get("contract_end")
        end_text = cell_text(end_raw)
        try:
            values["contract_end"] = date_of(end_raw)
        except ValueError as e:
            values["contract_end"] = None
            if end_text.upper().replace("-", "").replace(" ", "") not in _OPEN_ENDED:
                errors.append(InputError(file=src, row=row_no, reason=f"contract_end: {e}",
                                         effect="value ignored"))
        services.append(Service(
            index=len(services), source=src, row=row_no, service_id=sid,
            account=cell_text(get("account")), carrier=cell_text(get("carrier")),
            description=cell_text(get("description")), location=cell_text(get("location")),
            contract_end_text="" if values["contract_end"] else end_text,
            extra={h: t for i, h in extra_cols if i < width and (t := cell_text(cells[i]))},
            **values,
        ))
    columns = {name: table.headers[i] for name, i in pos.items()}
    inventory = Inventory(services, errors, table.notes, columns)
    if not services:
        id_header = table.headers[pos["service_id"]]
        blank = [e.row for e in errors if e.reason == "service ID is blank"]
        if blank:
            inventory.problem = (
                f"{src}: {where}the service ID column {id_header!r} is blank on every row "
                f"({len(blank)} rows); headers seen: {seen}. If the IDs are in another column, "
                f"name it in a mapping file passed with --columns MAPPING.yaml:\n\n"
                f"{_mapping_hint(table.headers, avoid=id_header)}")
        else:
            inventory.problem = (f"{src}: {where}the header ({seen}) is at row {table.header_row} "
                                 f"but no service row follows it")
            errors.append(InputError(file=src, reason="inventory has a header but no service rows",
                                     effect="file skipped"))
    return inventory


def _blank(cells) -> bool:
    try:
        return not "".join(cells).strip()  # a CSV row: all text
    except TypeError:  # a workbook row: numbers, dates, empty cells
        return not any(cell_text(c) for c in cells)


def _once_per_text(parse):
    """`parse` remembering what it gave for each text cell: an inventory repeats its rates and
    dates on thousands of rows. A value it refuses is refused again each time (and reported)."""
    seen: dict[str, object] = {}

    def once(cell):
        if cell.__class__ is not str:
            return parse(cell)
        got = seen.get(cell, seen)
        if got is seen:
            got = seen[cell] = parse(cell)
        return got

    return once


def _inventory_scorer(overrides: dict[str, str] | None):
    """Header rows are scored by the fields they name; naming the service ID counts twice, so
    a one-column inventory headed 'Circuit ID' is read (the ID is the one column it needs)."""
    base = header_scorer(INVENTORY_FIELDS, set((overrides or {}).values()))
    idx = _alias_index(INVENTORY_FIELDS)
    ids = {norm_header(h) for name, h in (overrides or {}).items() if name == "service_id"}

    def score(cells) -> int:
        normed = [norm_header(c) for c in cells]
        names_id = any(idx.get(n, ("",))[0] == "service_id" or n in ids for n in normed if n)
        return base(cells) + names_id

    return score


def _binary_kind(path: Path) -> str:
    """Why a file that is no table cannot be the inventory, from its first bytes ('' if it may be)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return ""
    if head.startswith(b"%PDF"):
        return ("this is a PDF, not an inventory: --inventory takes the circuit inventory as CSV "
                "or XLSX (one row per circuit or number). A PDF bill goes with the invoice paths.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return ("this is an old Excel workbook (.xls) or another Office file: save it as .xlsx "
                "or CSV and give that as --inventory.")
    return ""


def _table_problem(e: TableError, sheet: str | None) -> str:
    """A TableError as a person fixes it: the sheets and first rows seen, the option to use."""
    text = str(e)
    names = ", ".join(repr(n) for n in e.sheets)
    if text == "file is empty":
        return "the file is empty: there is no inventory to audit against."
    if sheet is not None and sheet not in e.sheets and e.sheets:
        return (f"no sheet named {sheet!r}; its sheets are {names}. Name one with --sheet, or "
                f"leave --sheet out to read the first sheet with a recognised header.")
    if text.startswith("not a readable Excel workbook"):
        return f"{text}: open it in Excel and save it again as .xlsx, or as CSV."
    if not e.first_rows and not e.sheets:
        return text
    seen = "; ".join(
        (f"sheet {name!r}: " if name else "") + (", ".join(repr(c) for c in row[:12]) or "empty")
        for name, row in e.first_rows.items())
    first = next((row for row in e.first_rows.values() if row), [])
    msg = ("no row names a service ID column (first rows seen: " + (seen or "none") + ")")
    if e.sheets:
        msg += f"; the workbook's sheets are {names}"
        msg += (" (--sheet NAME reads another)" if sheet is None else
                " (name another with --sheet, or leave --sheet out to read the first sheet with a "
                "recognised header)")
    return (msg + ". If the headers are there under other names, name the service ID column "
            "(and any other) in a mapping file passed with --columns MAPPING.yaml:\n\n"
            + _mapping_hint(first))


def _mapping_hint(headers: list[str], avoid: str = "") -> str:
    """The --columns lines to write: the header most like a service ID alias, when there is one."""
    candidates = [h for h in headers if h and h != avoid]
    near = closest_alias(candidates, INVENTORY_FIELDS, "service_id") if candidates else None
    header = near[0] if near and near[2] >= 70 else "<the header of your circuit ID column>"
    quoted = header.replace("\\", "\\\\").replace('"', '\\"')
    return f'  inventory:\n    service_id: "{quoted}"'


def _invoice_columns(headers: list[str]) -> list[str]:
    """The bill columns of a header that names an invoice number and an amount and none of a
    circuit's own columns: an invoice export given as the inventory ([] when it is not)."""
    invoice = map_columns(headers, INVOICE_FIELDS)
    inventory = map_columns(headers, INVENTORY_FIELDS)
    if "invoice_number" not in invoice.positions or "amount" not in invoice.positions:
        return []
    shared = set(invoice.positions.values())  # 'Rate', 'Start Date': a bill's column too
    if any(inventory.positions[n] not in shared for n in _CIRCUIT_ONLY if n in inventory.positions):
        return []
    return [headers[invoice.positions[n]] for n in _BILL_ONLY if n in invoice.positions]


def _other_id_columns(headers: list[str], chosen: int) -> list[int]:
    """Further service-ID columns, best alias first: an inventory listing circuits under
    'Circuit ID' and lines under 'TN' leaves one of them blank on every row."""
    idx = _alias_index(INVENTORY_FIELDS)
    ranked = [(idx[n][1], i) for i, n in enumerate(norm_header(h) for h in headers)
              if i != chosen and idx.get(n, ("", 0))[0] == "service_id"]
    return [i for _, i in sorted(ranked)]
