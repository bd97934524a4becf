"""Invoice lines as columns: one Arrow table per file and per batch, no Python object per line.

Readers append values to a `LineBuilder` (plain lists, one per column; repeated text kept
once) and hand over an Arrow table with `LINE_SCHEMA`. The pipeline concatenates the files'
tables, adds what it works out (carrier, inferred periods, matches) as new columns, and the
rules query the result with DuckDB. Money is exact: decimal128 with `MONEY_SCALE` places,
never float. A line as a record (`InvoiceLine`) is still there for the few rows a person
reads: a finding's evidence, a docstring example, a test.
"""

from __future__ import annotations

from functools import lru_cache

from datetime import date
from decimal import Decimal
from typing import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute below

from reconcile.core.codes import first_seen, sorted_inverse
from reconcile.core.models import ChargeType, InvoiceLine

MONEY_SCALE = 6  # places kept for amounts, quantities and unit prices (usage rates go to 4-5)
MONEY_PRECISION = 38
MONEY = pa.decimal128(MONEY_PRECISION, MONEY_SCALE)
# the largest amount a line may carry: far beyond any bill, far inside what decimal128 and
# Decimal's default 28-digit context add up without overflow over millions of lines
MAX_AMOUNT = Decimal(10) ** 15
_TEXT = pa.dictionary(pa.int32(), pa.string())

LINE_SCHEMA = pa.schema([
    ("key", pa.string()),  # stable across runs: file content hash + row, or page and line
    ("source", _TEXT),  # the file, as given
    ("row", pa.int32()),  # 1-based physical row (tables) or printed line on its page (PDF)
    ("page", pa.int32()),  # PDF page, null for tables
    ("carrier", _TEXT),
    ("account", _TEXT),
    ("invoice_number", _TEXT),
    ("invoice_date", pa.date32()),
    ("service_id", _TEXT),  # as billed; "" for account-level charges
    ("description", _TEXT),
    ("charge_type", _TEXT),  # ChargeType values
    ("period_start", pa.date32()),
    ("period_end", pa.date32()),
    ("period_inferred", pa.bool_()),  # the period was derived from the bill date
    ("quantity", MONEY),
    ("unit_price", MONEY),
    ("amount", MONEY),
    ("section", _TEXT),  # PDF section heading or export category, for evidence
])
COLUMNS = tuple(LINE_SCHEMA.names)


def money_ok(value: Decimal) -> str | None:
    """Why an amount cannot be a line's money, or None when it can."""
    if not value.is_finite():
        return f"{value} is not an amount"
    if abs(value) >= MAX_AMOUNT:
        return f"{value} is beyond the largest amount read ({MAX_AMOUNT:,})"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MONEY_SCALE:
        if value != value.quantize(Decimal(1).scaleb(-MONEY_SCALE)):
            return f"{value} has more than {MONEY_SCALE} decimal places"
    return None


class LineBuilder:
    """Collects lines column by column while a reader walks its file."""

    def __init__(self):
        self.columns: dict[str, list] = {name: [] for name in COLUMNS}
        self._intern: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.columns["amount"])

    def text(self, value: str) -> str:
        # the same account or description repeats on thousands of rows: keep one copy
        return self._intern.setdefault(value, value)

    def add(self, *, key: str, source: str, row: int, account: str, invoice_number: str,
            amount: Decimal, page: int | None = None, carrier: str = "",
            invoice_date: date | None = None, service_id: str = "", description: str = "",
            charge_type: ChargeType = ChargeType.OTHER, period_start: date | None = None,
            period_end: date | None = None, period_inferred: bool = False,
            quantity: Decimal | None = None, unit_price: Decimal | None = None,
            section: str = "") -> int:
        """Append one line; returns its position in this builder."""
        c, t = self.columns, self.text
        c["key"].append(key)
        c["source"].append(t(source))
        c["row"].append(row)
        c["page"].append(page)
        c["carrier"].append(t(carrier))
        c["account"].append(t(account))
        c["invoice_number"].append(t(invoice_number))
        c["invoice_date"].append(invoice_date)
        c["service_id"].append(t(service_id))
        c["description"].append(t(description))
        c["charge_type"].append(charge_type.value)
        c["period_start"].append(period_start)
        c["period_end"].append(period_end)
        c["period_inferred"].append(period_inferred)
        c["quantity"].append(quantity)
        c["unit_price"].append(unit_price)
        c["amount"].append(amount)
        c["section"].append(t(section))
        return len(c["amount"]) - 1

    def table(self) -> pa.Table:
        return pa.table({name: _array(name, values) for name, values in self.columns.items()},
                        schema=LINE_SCHEMA)


def _array(name: str, values: list) -> pa.Array:
    kind = LINE_SCHEMA.field(name).type
    if kind == MONEY:
        return _money_array(values)
    if pa.types.is_dictionary(kind):
        return pa.array(values, pa.string()).dictionary_encode().cast(kind)
    return pa.array(values, kind)


def _money_array(values: list) -> pa.Array:
    """Decimals to decimal128 through their distinct values: a column has few distinct
    amounts, and converting each Decimal is the slow part."""
    index: dict = {}
    positions = [index.setdefault(v, len(index)) if v is not None else None for v in values]
    distinct = pa.array([v for v in index], MONEY)
    return distinct.take(pa.array(positions, pa.int32()))


@lru_cache(maxsize=1)  # tables are immutable: one serves every file with no lines
def empty_table() -> pa.Table:
    return LINE_SCHEMA.empty_table()


def concat(tables: Iterable[pa.Table]) -> pa.Table:
    """One batch from the files' tables; dictionaries unified so joins see one string set."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return empty_table()
    return pa.concat_tables(tables).unify_dictionaries().combine_chunks()


def own_dictionaries(table: pa.Table) -> pa.Table:
    """A slice of several files' lines with each text column's dictionary as one file's
    would be: the values it uses, in the order they first appear (as the readers build them).
    The dictionaries' values must be distinct (as readers and `concat` make them)."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_dictionary(field.type):  # its values are distinct: codes say which
            column = column.combine_chunks()
            codes = column.indices.to_numpy(zero_copy_only=False)
            used = first_seen(codes)
            remap = np.zeros(len(column.dictionary), np.int32)
            remap[used] = np.arange(len(used), dtype=np.int32)
            column = pa.DictionaryArray.from_arrays(remap[codes], column.dictionary.take(used))
        columns.append(column)
    return pa.table(columns, schema=table.schema)


def from_lines(lines: Iterable[InvoiceLine]) -> pa.Table:
    """A table from line records (docstring examples, tests, small hand-built batches)."""
    b = LineBuilder()
    for ln in lines:
        b.add(key=ln.key or f"{ln.source}:{ln.row}", source=ln.source, row=ln.row, page=ln.page,
              carrier=ln.carrier, account=ln.account, invoice_number=ln.invoice_number,
              invoice_date=ln.invoice_date, service_id=ln.service_id,
              description=ln.description, charge_type=ln.charge_type,
              period_start=ln.period_start, period_end=ln.period_end,
              period_inferred=ln.period_inferred, quantity=ln.quantity,
              unit_price=ln.unit_price, amount=ln.amount, section=ln.section)
    return b.table()


def plain_amount(value: Decimal | None) -> Decimal | None:
    """A column's decimal as the reader had it: 450.000000 -> 450.00, 0.012500 -> 0.0125."""
    if value is None:
        return None
    cents = value.quantize(Decimal("0.01"))
    return cents if cents == value else value.normalize()


DECODED_MIN_ROWS = 32


def decoded(table: pa.Table) -> pa.Table:
    """`table` with each dictionary column cast to a plain column of its values, for
    `to_pylist`: Arrow makes a Python value of a dictionary cell in about 2 us, of a plain
    one in 0.3 (the rows of a rule's candidates, of a report's sheet). A table of fewer than
    DECODED_MIN_ROWS rows is given back as it is: there the casts cost more than they save.

    >>> t = pa.table({"a": pa.array(["x", None] * 20).dictionary_encode(), "n": range(40)})
    >>> decoded(t).schema.field("a").type, decoded(t).to_pylist() == t.to_pylist()
    (DataType(string), True)
    """
    if table.num_rows < DECODED_MIN_ROWS or not any(pa.types.is_dictionary(f.type)
                                                    for f in table.schema):
        return table
    return pa.table([plain_column(c) for c in table.columns], names=table.column_names)


def plain_column(column):
    """A column (or array) of dictionary type as a plain one of its values; others as given."""
    if pa.types.is_dictionary(column.type):
        return column.cast(column.type.value_type)
    return column


def column_values(column) -> list:
    """`column.to_pylist()`, each distinct value made Python once and the rows looking it up:
    10x faster on a batch's columns, which hold few distinct amounts, dates and texts.

    >>> from decimal import Decimal
    >>> column_values(pa.chunked_array([pa.array([Decimal("1.50"), None, Decimal("1.50")])]))
    [Decimal('1.50'), None, Decimal('1.50')]
    """
    col = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if pa.types.is_dictionary(col.type) and len(col.dictionary) > len(col):
        col = col.cast(col.type.value_type)  # a few rows of a big dictionary: only their words
    if not pa.types.is_dictionary(col.type):
        col = pa.compute.dictionary_encode(col)
    values = col.dictionary.to_pylist() + [None]  # index -1: null
    return [values[i] for i in col.indices.fill_null(-1).to_numpy(zero_copy_only=False).tolist()]


def record(table: pa.Table, i: int, line_id: int | None = None) -> InvoiceLine:
    """Row `i` as a line record, for evidence a person reads."""
    row = {name: table.column(name)[i].as_py() for name in COLUMNS}
    for name in ("quantity", "unit_price", "amount"):
        row[name] = plain_amount(row[name])
    row["charge_type"] = ChargeType(row["charge_type"])
    row["line_id"] = i if line_id is None else line_id
    return InvoiceLine(**row)


class Lines:
    """A batch's lines: the Arrow table the engine works on, and, for the few places a person
    reads lines one by one (evidence, tests, small batches), records on demand."""

    def __init__(self, table: pa.Table | None = None):
        self.table = empty_table() if table is None else table

    @classmethod
    def of(cls, lines) -> Lines:
        if isinstance(lines, Lines):
            return lines
        if isinstance(lines, pa.Table):
            return cls(lines)
        return cls(from_lines(lines))

    def __len__(self) -> int:
        return self.table.num_rows

    def __getitem__(self, i):
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            rows = decoded(self.table.select(list(COLUMNS)).slice(start, max(0, stop - start))).to_pylist()
            return [line_from_row(r, start + k) for k, r in enumerate(rows)][::step]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return record(self.table, i)

    def __iter__(self):
        position = 0
        for batch in decoded(self.table.select(list(COLUMNS))).to_batches(65536):
            for row in batch.to_pylist():
                yield line_from_row(row, position)
                position += 1

    def __eq__(self, other) -> bool:
        if isinstance(other, Lines):
            return self.table.equals(other.table)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    def column(self, name: str) -> list:
        return plain_column(self.table.column(name)).to_pylist()


def line_from_row(row: dict, i: int) -> InvoiceLine:
    for name in ("quantity", "unit_price", "amount"):
        row[name] = plain_amount(row[name])
    row["charge_type"] = ChargeType(row["charge_type"])
    row["line_id"] = i
    return InvoiceLine(**row)


def distinct_rows(table: pa.Table, columns: list[str]):
    """(codes, keys): for each row the number of its distinct combination of `columns`, and
    each combination's values, so per-distinct work is done once and spread back with
    `codes`. Dictionary columns are grouped by their indices, without touching the text."""
    import numpy as np

    parts, values = [], []
    for name in columns:
        col = table.column(name).combine_chunks() if table.num_rows else table.column(name)
        if isinstance(col, pa.ChunkedArray):
            col = col.combine_chunks()
        if pa.types.is_dictionary(col.type):
            idx = col.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
            parts.append(idx + 1)
            values.append([None] + col.dictionary.to_pylist())
        else:
            uniq = col.unique()
            idx = pa.compute.index_in(col, uniq).fill_null(-1).to_numpy(zero_copy_only=False)
            parts.append(idx.astype(np.int64) + 1)
            values.append([None] + uniq.to_pylist())
    if not parts:
        return np.zeros(table.num_rows, np.int64), [()]
    size = 1
    for v in values:
        size *= len(v)
    if size >= 2 ** 62:  # too many combinations for one integer code: group the columns as rows
        uniq_rows, inverse = np.unique(np.stack(parts, axis=1), axis=0, return_inverse=True)
        keys = [tuple(values[j][r] for j, r in enumerate(row)) for row in uniq_rows.tolist()]
        return inverse.reshape(-1), keys
    code = np.zeros(table.num_rows, np.int64)
    for p, v in zip(parts, values):
        code = code * len(v) + p
    uniq, inverse = sorted_inverse(code)
    keys = []
    for c in uniq.tolist():
        key = []
        for v in reversed(values):
            c, r = divmod(c, len(v))
            key.append(v[r])
        keys.append(tuple(reversed(key)))
    return inverse, keys
