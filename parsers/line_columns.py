"""A file's lines as columns while its reader walks it; the reader's end of reconcile.core.lines.

    lines = FileLines(src, file_hash)
    lines.add(invoice, row, service_id, description, charge_type, amount, start, end,
              quantity, unit_price)       # -> the line's position in the file (in line_ids)
    out.lines = lines.done()              # a Lines: one Arrow table with LINE_SCHEMA

No object per line: what a bill shares (carrier, account, invoice number, bill date) is kept
once per bill, every other column keeps each distinct value once and a small code per line,
and the table is built from those distinct values at the end (a million lines of a batch have
a few thousand distinct amounts, dates and descriptions). The key column is made from the
file's hash and the rows in Arrow (`<hash>:r<row>`, `:c<column>` when a row gives several
lines, `<hash>:p<page>:l<line>` in a PDF: reconcile.parsers.readers.line_key).

Values are pooled by equality, so the reader should hand over values it has already checked:
money that `reconcile.core.lines.money_ok` accepts (decimal128 holds it), dates as `date`.
"""

from __future__ import annotations

from array import array
from datetime import date
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.codes import first_seen
from reconcile.core.lines import LINE_SCHEMA, MONEY, Lines, empty_table
from reconcile.core.models import ChargeType, Invoice

_TEXT = LINE_SCHEMA.field("account").type


class _Pool(dict):
    """A column's distinct values -> their code, in the order they first came."""

    def __init__(self):
        super().__init__()
        self.values: list = []

    def __missing__(self, value) -> int:
        code = self[value] = len(self.values)
        self.values.append(value)
        return code


def _text(values: list[str], indices: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(indices, pa.array(values, pa.string())).cast(_TEXT)


_FIELDS = ("row", "bill", "page", "service_id", "description", "charge_type", "period_start",
           "period_end", "quantity", "unit_price", "amount", "section", "part")
_AT = {name: i for i, name in enumerate(_FIELDS)}


class FileLines:
    """Lines of one file, column by column (see the module's docstring)."""

    def __init__(self, source: str, file_hash: str):
        self.source, self.file_hash = source, file_hash
        self._bills = _Pool()  # (id(invoice), bill date) -> code
        self._bill_fields: list[tuple[str, str, str, date | None]] = []
        self._keep: list[Invoice] = []  # the invoices whose id() is in _bills stay alive
        self._texts, self._types, self._dates, self._money = _Pool(), _Pool(), _Pool(), _Pool()
        self._pages, self._parts = _Pool(), _Pool()
        self._codes = array("i")  # a line's row and codes, _FIELDS in order, line after line
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def add(self, invoice: Invoice, row: int, service_id: str, description: str,
            charge_type: ChargeType, amount: Decimal, start: date | None = None,
            end: date | None = None, quantity: Decimal | None = None,
            unit_price: Decimal | None = None, page: int | None = None, part: int | None = None,
            section: str = "") -> int:
        """Append one line of `invoice` (its position joins invoice.line_ids); returns it."""
        bill = self._bills.get((id(invoice), invoice.invoice_date))
        if bill is None:  # the bill as it stands now: a date found on a later row is theirs
            bill = self._bills[(id(invoice), invoice.invoice_date)]
            self._bill_fields.append((invoice.carrier, invoice.account, invoice.invoice_number,
                                      invoice.invoice_date))
            self._keep.append(invoice)
        texts, dates, money = self._texts, self._dates, self._money
        self._codes.extend((row, bill, self._pages[page], texts[service_id], texts[description],
                            self._types[charge_type], dates[start], dates[end], money[quantity],
                            money[unit_price], money[amount], texts[section], self._parts[part]))
        position = self._n
        self._n += 1
        invoice.line_ids.append(position)
        return position

    def amount(self, i: int) -> Decimal:
        """The amount of line `i` (a table's self-check reads it back)."""
        return self._money.values[self._codes[i * len(_FIELDS) + _AT["amount"]]]

    def row(self, i: int) -> int:
        return self._codes[i * len(_FIELDS)]

    def done(self) -> Lines:
        return Lines(self.table())

    def table(self) -> pa.Table:
        n = self._n
        if not n:
            return empty_table()
        grid = np.frombuffer(self._codes, dtype=np.int32).reshape(n, len(_FIELDS))

        def codes(name: str) -> pa.Array:
            return pa.array(np.ascontiguousarray(grid[:, _AT[name]]))

        rows = codes("row")
        pages = pa.array(self._pages.values, pa.int32()).take(codes("page"))
        bills = grid[:, _AT["bill"]]
        bill_cols = list(zip(*self._bill_fields))
        dates = pa.array(self._dates.values, pa.date32())
        money = pa.array(self._money.values, MONEY)
        columns = {
            "key": self._keys(rows, pages, codes("part")),
            "source": _text([self.source], pa.array(np.zeros(n, np.int32))),
            "row": rows,
            "page": pages,
            "carrier": _by_bill(bill_cols[0], bills),
            "account": _by_bill(bill_cols[1], bills),
            "invoice_number": _by_bill(bill_cols[2], bills),
            "invoice_date": pa.array(bill_cols[3], pa.date32()).take(codes("bill")),
            # one text pool for three columns: each column's dictionary holds its own values
            "service_id": _own_dictionary(self._texts.values, grid[:, _AT["service_id"]]),
            "description": _own_dictionary(self._texts.values, grid[:, _AT["description"]]),
            "charge_type": _text([ChargeType(t).value for t in self._types.values],
                                 codes("charge_type")),
            "period_start": dates.take(codes("period_start")),
            "period_end": dates.take(codes("period_end")),
            "period_inferred": pa.array(np.zeros(n, np.bool_)),
            "quantity": money.take(codes("quantity")),
            "unit_price": money.take(codes("unit_price")),
            "amount": money.take(codes("amount")),
            "section": _own_dictionary(self._texts.values, grid[:, _AT["section"]]),
        }
        return pa.table(columns, schema=LINE_SCHEMA)

    def _keys(self, rows: pa.Array, pages: pa.Array, parts: pa.Array) -> pa.Array:
        """<hash>:r<row>[:c<part>] for tables, <hash>:p<page>:l<line> for PDF pages."""
        row_text = pc.cast(rows, pa.string())
        keys = pc.binary_join_element_wise(_text_scalar(f"{self.file_hash}:r"), row_text, _NO_TEXT)
        if pages.null_count < len(pages):
            paged = pc.binary_join_element_wise(_text_scalar(f"{self.file_hash}:p"),
                                                pc.cast(pages, pa.string()), _text_scalar(":l"),
                                                row_text, _NO_TEXT)
            keys = pc.if_else(pc.is_valid(pages), paged, keys)
        if self._parts.values != [None]:
            part = pa.array(self._parts.values, pa.int32()).take(parts)
            keys = pc.if_else(pc.is_valid(part), pc.binary_join_element_wise(
                keys, _text_scalar(":c"), pc.cast(part, pa.string()), _NO_TEXT), keys)
        return keys


def _text_scalar(text: str) -> pa.Scalar:
    # typed: a bare str makes pyarrow infer its type, trying (and failing) to import pandas
    # and dateutil on every call, 0.1 ms each: more than joining a bill's keys
    return pa.scalar(text, pa.string())


_NO_TEXT = _text_scalar("")


def _by_bill(values: tuple, bills: np.ndarray) -> pa.DictionaryArray:
    """A column every bill holds one value of, spread over the bill's lines."""
    pool = _Pool()
    per_bill = np.array([pool[v] for v in values], np.int32)
    return _text(pool.values, pa.array(per_bill[bills]))


def _own_dictionary(pool_values: list[str], codes: np.ndarray) -> pa.DictionaryArray:
    """Codes into a shared pool -> a dictionary column of the values this column uses, in the
    order they first appear in it (as dictionary_encode of the column's values would give)."""
    order = first_seen(codes)
    remap = np.empty(len(pool_values), np.int32)
    remap[order] = np.arange(len(order), dtype=np.int32)
    return _text([pool_values[i] for i in order.tolist()], pa.array(remap[codes]))
