"""What the pipeline works out about lines after reading, as new columns: the parsed table is
never edited, so a line read is the line reported.

- `invoice`: the bill a line belongs to. One invoice split over several files (a carrier's
  export per section) is one bill, spelled as its first file spells the account.
- `carrier`: exports often omit it; the inventory knows which carrier bills each account.
- `period_start`/`period_end`: a recurring line with no printed period covers the cycle its
  bill starts (billed in advance), marked `period_inferred`; one with a start and no end, the
  cycle from its start (inferred too); any other line with a start and no end is that day.
- `line_id`: the line's position in the batch (run-local; `key` is the stable id).
Each is worked out once per distinct value (account, bill date, file) and spread back.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.ids import account_key
from reconcile.core.lines import distinct_rows
from reconcile.core.models import ChargeType, InputError, Invoice, Service
from reconcile.core.periods import default_period


def merge_split_invoices(invoices: list[Invoice]) -> tuple[list[Invoice], dict, list[InputError]]:
    """(bills, {(source, account, number): bill index}, problems)."""
    seen: dict[tuple, int] = {}
    merged: list[Invoice] = []
    where: dict[tuple[str, str, str], int] = {}
    errors: list[InputError] = []
    for inv in invoices:
        key = (inv.carrier, account_key(inv.account), inv.invoice_number)
        at = seen.get(key)
        if at is None:
            at = seen[key] = len(merged)
            merged.append(inv)
        else:
            first = merged[at]
            first.unreadable_rows += inv.unreadable_rows
            first.zero_rated_ids.extend(inv.zero_rated_ids)
            if inv.stated_total is not None:
                if first.stated_total is None:
                    first.stated_total, first.total_where = inv.stated_total, inv.total_where
                elif first.stated_total != inv.stated_total:
                    errors.append(InputError(
                        file=inv.source, reason=f"invoice {inv.invoice_number} states total "
                        f"{inv.stated_total} here but {first.stated_total} in {first.source}",
                        effect="value ignored"))
        where[(inv.source, inv.account, inv.invoice_number)] = at
    return merged, where, errors


def fill_carriers(invoices: list[Invoice], services: list[Service]) -> None:
    by_account: dict[str, str] = {}
    for s in services:
        if s.carrier and s.account:
            by_account.setdefault(account_key(s.account), s.carrier)
    for inv in invoices:
        if not inv.carrier:
            inv.carrier = by_account.get(account_key(inv.account), "")


def enrich(table: pa.Table, invoices: list[Invoice], services: list[Service]
           ) -> tuple[pa.Table, list[Invoice], list[InputError]]:
    """The batch table with the pipeline's columns, and the bills it holds."""
    bills, where, errors = merge_split_invoices(invoices)
    fill_carriers(bills, services)
    n = table.num_rows
    codes, keys = distinct_rows(table, ["source", "account", "invoice_number"])
    bill_of = np.array([where.get(k, -1) for k in keys], np.int64)[codes] if n else \
        np.zeros(0, np.int64)
    if n and (bill_of < 0).any():
        raise ValueError("a line belongs to no invoice its reader returned")
    out = table
    if n:
        out = _replace(out, "carrier", _carriers(table.column("carrier"), bills, bill_of))
        out = _replace(out, "account", _per_bill([b.account for b in bills], bill_of))
        start, end, inferred = _periods(table)
        out = _replace(out, "period_start", start)
        out = _replace(out, "period_end", end)
        out = _replace(out, "period_inferred", inferred)
    if "line_id" not in out.column_names:
        out = out.append_column("line_id", pa.array(np.arange(n, dtype=np.int64)))
    out = out.append_column("invoice", pa.array(bill_of.astype(np.int32)))
    return out, bills, errors


def _replace(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


def _dictionary(indices: np.ndarray, words: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)),
                                          pa.array(words, pa.string()))


def _per_bill(values: list[str], bill_of: np.ndarray) -> pa.DictionaryArray:
    words = sorted(set(values))
    at = {w: i for i, w in enumerate(words)}
    return _dictionary(np.array([at[v] for v in values], np.int64)[bill_of], words)


def _carriers(own: pa.ChunkedArray, bills: list[Invoice], bill_of: np.ndarray):
    """A line's own carrier when it names one, else its bill's."""
    own = own.combine_chunks()
    own_words = own.dictionary.to_pylist()
    own_idx = own.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    blank = np.array([w == "" for w in own_words] or [True], bool)[own_idx]
    bill_words = [b.carrier for b in bills]
    idx = np.where(blank, len(own_words) + bill_of, own_idx)
    return _dictionary(idx, own_words + bill_words)


def _periods(table: pa.Table):
    """Inferred periods for recurring lines without one, worked out per distinct bill date."""
    start = table.column("period_start").combine_chunks()
    end = table.column("period_end").combine_chunks()
    bill = table.column("invoice_date").combine_chunks()
    types = table.column("charge_type").combine_chunks()
    words = types.dictionary.to_pylist()
    recurring = pc.is_in(types.indices, pa.array(
        [i for i, w in enumerate(words) if w == ChargeType.RECURRING.value], types.indices.type))
    missing = pc.and_(pc.and_(recurring, pc.is_null(start)), pc.is_valid(bill))
    new_start = pc.if_else(missing, bill, start)
    # a recurring charge from a start, with no end printed: the cycle from its start
    open_ended = pc.or_(missing, pc.and_(pc.and_(recurring, pc.is_valid(start)), pc.is_null(end)))
    starts = pc.unique(pc.filter(new_start, open_ended))
    ends = pa.array([default_period(s)[1] for s in starts.to_pylist()], pa.date32())
    new_end = pc.if_else(open_ended, pc.take(ends, pc.index_in(new_start, starts)), end)
    new_end = pc.if_else(pc.and_(pc.is_valid(new_start), pc.is_null(new_end)), new_start, new_end)
    inferred = pc.or_(table.column("period_inferred").combine_chunks(), open_ended)
    return new_start, new_end, inferred
