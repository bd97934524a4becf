"""A bill is one bill, whatever files it came from.

Folders arrive as users have them: a re-downloaded export (`x.tsv` and `x (1).tsv`), the
same bill as CSV and as PDF, an account-summary export beside the per-line detail export.
Audited as they are, every charge would be counted twice (false duplicates, false total
mismatches, money at issue above what was billed). So, before the audit:

1. Files with identical content (same hash) are read once; the copies are set aside.
2. Carrier names are one spelling per carrier ("MERIDIAN FIBER" is "Meridian Fiber").
3. A bill is its account and invoice number (and bill date, and carrier when both files name
   one: the same name, or the same first word, since a PDF prints the legal name and a portal
   its brand). When several files give the same bill, they are either copies (the lines add up to
   the same money, or mostly the same charges) or parts of one bill split over files (an
   export per section). Of copies, the most detailed (most lines) is audited and the others
   are set aside with a note saying how they compare; parts are audited together.

Each kept bill lists the files set aside as its copies (`Invoice.copies`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.codes import first_seen
from reconcile.core.ids import account_key, service_key
from reconcile.core.lines import concat, own_dictionaries, plain_amount
from reconcile.core.models import Invoice
from reconcile.core.values import money

COPY_OVERLAP = 0.5  # share of the smaller file's charges found in the other: a copy


@dataclass
class FileBills:
    """What one file gave, as the batch sees it. What one_bill_once asks of the file's lines
    goes through the methods below: a file whose lines stay elsewhere (on a Dask worker,
    reconcile.distributed) answers from their digest and records what was chosen, and the
    worker applies it (`apply_choices`)."""

    path: str
    invoices: list[Invoice]
    table: pa.Table | None
    file_hash: str = ""
    set_aside: bool = False

    def lines(self) -> pa.Table:
        return self.table

    def stats(self) -> dict[tuple[str, str], tuple[int, Decimal]]:
        return bill_stats(self.lines())

    def charges(self, inv: Invoice) -> Counter:
        return bill_charges(self.lines(), inv.account, inv.invoice_number)

    def drop(self, inv: Invoice) -> None:
        self.table = apply_choices(self.lines(), [(inv.account, inv.invoice_number)], None)

    def carrier_words(self) -> list[str] | None:
        """The carrier names its lines use, in the order they first appear (a file read with
        others may share their dictionaries: reconcile.parsers.readers)."""
        return used_words(self.lines(), "carrier")

    def set_carrier_words(self, words: list[str]) -> None:
        self.table = apply_choices(own_dictionaries(self.lines()), [], words)


@dataclass
class SharedFile(FileBills):
    """A small file whose lines are rows [start, start + rows) of a table it shares with the
    files read beside it (`shared`): 12,920 small files' own tables cost about 26 KiB each
    beyond their lines. `table` is None until something of the file changes (a bill set
    aside, carrier names respelled): then it is the file's own."""

    shared: pa.Table | None = None
    start: int = 0
    rows: int = 0

    def lines(self) -> pa.Table:
        return self.table if self.table is not None else self.shared.slice(self.start, self.rows)


def shared_files(files: list[tuple[FileBills, pa.Table]]) -> None:
    """The small files' tables as one, each SharedFile given its rows of it."""
    shared = concat(t for _f, t in files)
    start = 0
    for f, t in files:
        f.shared, f.start, f.rows = shared, start, t.num_rows
        start += t.num_rows


def batch_tables(files: list[FileBills]) -> list[pa.Table]:
    """The lines of the files not set aside, in file order: a run of unchanged files sharing
    a table is one slice of it."""
    out: list[pa.Table] = []
    run: list[SharedFile] = []

    def close() -> None:
        if run:
            out.append(run[0].shared.slice(run[0].start, run[-1].start + run[-1].rows
                                           - run[0].start))
            run.clear()

    for f in files:
        if f.set_aside:
            continue
        if isinstance(f, SharedFile) and f.table is None and (
                not run or (run[-1].shared is f.shared and run[-1].start + run[-1].rows == f.start)):
            run.append(f)
            continue
        close()
        if isinstance(f, SharedFile) and f.table is None:
            run.append(f)
        else:
            out.append(f.table)
    close()
    return out


def used_words(table: pa.Table, name: str) -> list[str] | None:
    """The values a dictionary column uses, in the order they first appear (its dictionary,
    when the table is one file's)."""
    col = table.column(name).combine_chunks() if table.num_rows else None
    if col is None or not pa.types.is_dictionary(col.type):
        return None
    codes = col.indices.to_numpy(zero_copy_only=False)
    return col.dictionary.take(first_seen(codes)).to_pylist()


def bill_stats(table: pa.Table) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """(lines, total) of each (account, invoice number) of a file's lines."""
    if not table.num_rows:
        return {}
    one = _one_bill(table)
    if one is not None:  # most files hold one bill: a sum, not a group-by (0.4 ms a file)
        amount = table.column("amount")
        return {one: (pc.count(amount).as_py(), plain_amount(pc.sum(amount).as_py()))}
    return grouped_stats(table)


def _one_bill(table: pa.Table) -> tuple[str, str] | None:
    """The (account, invoice number) of every line, when they all have the same."""
    key = []
    for name in ("account", "invoice_number"):
        col = table.column(name)
        if col.num_chunks != 1 or not pa.types.is_dictionary(col.type):
            return None
        codes = col.chunk(0).indices.to_numpy(zero_copy_only=False)
        if codes.min() != codes.max():
            return None
        key.append(col.chunk(0).dictionary[int(codes[0])].as_py())
    return key[0], key[1]


def grouped_stats(table: pa.Table) -> dict[tuple[str, str], tuple[int, Decimal]]:
    """bill_stats by a group-by, whatever the table."""
    got = table.select(["account", "invoice_number", "amount"]).group_by(
        ["account", "invoice_number"]).aggregate([("amount", "count"), ("amount", "sum")])
    return {(r["account"], r["invoice_number"]): (r["amount_count"], plain_amount(r["amount_sum"]))
            for r in got.to_pylist()}


def bill_charges(table: pa.Table, account: str, number: str) -> Counter:
    """A bill's charges as (service key, amount), to tell a copy of it from another bill."""
    rows = table.filter(_bill_rows(table, account, number)).select(
        ["service_id", "amount"]).to_pylist()
    return Counter((service_key(r["service_id"] or ""), plain_amount(r["amount"])) for r in rows)


def carrier_words(table: pa.Table) -> list[str] | None:
    """The carrier names a file's lines use (its dictionary), None when not a dictionary."""
    col = table.column("carrier").combine_chunks() if table.num_rows else None
    if col is None or not pa.types.is_dictionary(col.type):
        return None
    return col.dictionary.to_pylist()


def apply_choices(table: pa.Table, dropped: list[tuple[str, str]],
                  carriers: list[str] | None) -> pa.Table:
    """A file's lines without the bills set aside (account, number) and with its carrier
    names respelled (`carriers`: the new dictionary, in the old one's order)."""
    for account, number in dropped:
        if table.num_rows:
            table = table.filter(pc.invert(_bill_rows(table, account, number)))
    if carriers is not None and table.num_rows:
        col = table.column("carrier").combine_chunks()
        table = table.set_column(
            table.schema.get_field_index("carrier"), "carrier",
            pa.DictionaryArray.from_arrays(col.indices, pa.array(carriers, pa.string())))
    return table


def _bill_rows(table: pa.Table, account: str, number: str) -> pa.Array:
    return pc.and_(pc.equal(table.column("account").cast(pa.string()), account),
                   pc.equal(table.column("invoice_number").cast(pa.string()), number))


@dataclass
class _Source:
    file: FileBills
    invoice: Invoice
    lines: int
    total: Decimal
    charges: Counter | None = field(default=None)


def carrier_key(name: str) -> str:
    """Carrier names compared blind to case, spaces and punctuation."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def one_bill_once(files: list[FileBills], tolerance: Decimal = Decimal("0.01")) -> list[str]:
    """Sets aside identical files and bill copies in place (tables filtered, invoices
    dropped); returns the notes that say what was set aside and why."""
    notes: list[str] = []
    seen: dict[str, str] = {}
    for f in files:
        if f.file_hash and f.file_hash in seen:
            f.set_aside = True
            notes.append(f"{f.path}: the same file as {seen[f.file_hash]} (identical content): "
                         f"read once, this copy set aside")
            for inv in _kept_invoices(files, seen[f.file_hash]):
                inv.copies.append(f"{f.path} (identical file)")
        elif f.file_hash:
            seen[f.file_hash] = f.path
    live = [f for f in files if not f.set_aside]
    _one_spelling_per_carrier(live)
    for group in _bills(live):
        if len({id(s.file) for s in group}) > 1:
            notes.extend(_choose(group, tolerance))
    return notes


def _kept_invoices(files: list[FileBills], path: str) -> list[Invoice]:
    return next((f.invoices for f in files if f.path == path and not f.set_aside), [])


def same_carrier(a: str, b: str) -> bool:
    """One carrier under two names as bills print them: the same name blind to case and
    punctuation, or the same first word ("Northwind Telecom" on the PDF, "Northwind
    Communications" in the portal export)."""
    if carrier_key(a) == carrier_key(b):
        return True
    first = [re.findall(r"[0-9a-z&]+", n.casefold())[:1] for n in (a, b)]
    return bool(first[0]) and first[0] == first[1] and len(first[0][0]) >= 3


def _one_spelling_per_carrier(files: list[FileBills]) -> None:
    first: dict[str, str] = {}
    for f in files:
        for inv in f.invoices:
            if inv.carrier:
                inv.carrier = first.setdefault(carrier_key(inv.carrier), inv.carrier)
    for f in files:
        words = f.carrier_words()
        if words is None:
            continue
        fixed = [first.setdefault(carrier_key(w), w) if w else w for w in words]
        if fixed != words:
            f.set_carrier_words(fixed)


def _bills(files: list[FileBills]) -> list[list[_Source]]:
    """Sources of each bill, grouped by account and invoice number, kept apart when both
    name a different carrier or bill date."""
    stats = {id(f): f.stats() for f in files}
    groups: dict[tuple, list[list[_Source]]] = {}
    for f in files:
        for inv in f.invoices:
            n, total = stats[id(f)].get((inv.account, inv.invoice_number), (0, Decimal(0)))
            src = _Source(f, inv, n, total)
            buckets = groups.setdefault((account_key(inv.account), inv.invoice_number), [])
            for bucket in buckets:
                other = bucket[0].invoice
                if _same_bill(inv, other):
                    bucket.append(src)
                    break
            else:
                buckets.append([src])
    return [b for buckets in groups.values() for b in buckets]


def _same_bill(a: Invoice, b: Invoice) -> bool:
    if a.carrier and b.carrier and not same_carrier(a.carrier, b.carrier):
        return False
    return not (a.invoice_date and b.invoice_date and a.invoice_date != b.invoice_date)


_LEVELS = {"account": 0, "line": 1, "detail": 2}


def _choose(group: list[_Source], tol: Decimal) -> list[str]:
    """Sources coarser than the bill's finest (an account summary beside the detail) are set
    aside and compared; among the finest, clusters of copies: each cluster's most detailed
    source is audited, the rest set aside. Clusters that are not copies are parts."""
    notes = _coarser_set_aside(group, tol)
    group = [s for s in group if not s.file.set_aside and s.invoice in s.file.invoices]
    clusters: list[list[_Source]] = []
    for src in group:
        for cluster in clusters:
            if any(_copies(src, other, tol) for other in cluster):
                cluster.append(src)
                break
        else:
            clusters.append([src])
    for cluster in clusters:
        if len(cluster) < 2:
            continue
        keep = max(cluster, key=lambda s: s.lines)  # first of the most detailed
        for src in cluster:
            if src is keep:
                continue
            _set_aside(src)
            _carry_summary(keep.invoice, src.invoice)
            same = abs(src.total - keep.total) <= tol and src.lines == keep.lines
            how = (f"the same {money(keep.total)} in {keep.lines} line(s)" if same else
                   f"{money(src.total)} in {src.lines} line(s) there, {money(keep.total)} in "
                   f"{keep.lines} line(s) in the file audited")
            keep.invoice.copies.append(f"{src.file.path} ({how})")
            notes.append(f"{src.file.path}: invoice {src.invoice.invoice_number} (account "
                         f"{src.invoice.account}) is also in {keep.file.path}: {how}; the more "
                         f"detailed {keep.file.path} is audited, this copy set aside")
    return notes


def _coarser_set_aside(group: list[_Source], tol: Decimal) -> list[str]:
    finest = max(_LEVELS.get(s.invoice.level, 2) for s in group)
    fine = [s for s in group if _LEVELS.get(s.invoice.level, 2) == finest]
    if len(fine) == len(group):
        return []
    fine_total = sum((s.total for s in fine), Decimal(0))
    keep = max(fine, key=lambda s: s.lines)
    notes = []
    for src in group:
        if src in fine:
            continue
        _set_aside(src)
        # its account summary (balance, payments, due) is the bill's; its total is only compared
        _carry_summary(keep.invoice, src.invoice, total=False)
        diff = src.total - fine_total
        agree = "agree" if abs(diff) <= tol else (
            f"differ by {money(abs(diff))} ({money(src.total)} there, {money(fine_total)} in the "
            f"detail; the detail is audited)")
        keep.invoice.copies.append(f"{src.file.path} ({src.invoice.level} summary; totals {agree})")
        notes.append(f"{src.file.path}: invoice {src.invoice.invoice_number} (account "
                     f"{src.invoice.account}) is a {src.invoice.level}-level summary of the bill "
                     f"whose detail is in {keep.file.path}: not added to it; totals {agree}")
    return notes


def _copies(a: _Source, b: _Source, tol: Decimal) -> bool:
    if a.file is b.file:
        return False
    if a.lines and b.lines and abs(a.total - b.total) <= tol:
        return True  # the same money: a copy, or a summary of the same bill
    smaller = min(a.lines, b.lines)
    if not smaller:
        return False
    common = sum((_charges(a) & _charges(b)).values())
    return common >= COPY_OVERLAP * smaller


def _charges(src: _Source) -> Counter:
    if src.charges is None:
        src.charges = src.file.charges(src.invoice)
    return src.charges


def _set_aside(src: _Source) -> None:
    f, inv = src.file, src.invoice
    f.invoices = [i for i in f.invoices if i is not inv]
    f.drop(inv)


def _carry_summary(keep: Invoice, copy: Invoice, total: bool = True) -> None:
    """What the audited source does not print, the copy may (a PDF's account summary)."""
    keep.zero_rated_ids.extend(i for i in copy.zero_rated_ids if i not in keep.zero_rated_ids)
    names = ("previous_balance", "payments", "adjustments", "current_charges", "amount_due",
             "due_date", "invoice_date")
    for name in (("stated_total",) if total else ()) + names:
        if getattr(keep, name) is None and getattr(copy, name) is not None:
            setattr(keep, name, getattr(copy, name))
            if name == "stated_total":
                keep.total_where = f"{copy.source}: {copy.total_where}"
