"""The audit one account partition at a time.

Every rule is account-local (a bill, its lines, the services of its account), so a batch
splits by account into partitions audited independently against the shared services, and
the findings merge at the end: memory and time grow with the largest partition, not the
batch, and partitions can run anywhere (a Dask cluster: reconcile/distributed.py).

    parts = split_by_account(table, invoices, n)
    done = [audit_partition(services, bills, part, options) for bills, part in parts]
    result = merge(services, done, options)
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.ids import account_key
from reconcile.core.lines import Lines
from reconcile.core.models import Finding, InputError, Invoice, Service
from reconcile.core.records import NO_RECORDS, Records
from reconcile.core.result import AuditOptions, AuditResult, Match
from reconcile.enrich import enrich
from reconcile.matching import Matcher, MatchColumns

# Lines per partition when the batch is split locally: big enough that per-query overheads
# vanish, small enough that the rules' joins stay a fraction of memory.
PARTITION_LINES = 2_000_000


@dataclass
class PartitionResult:
    table: pa.Table  # enriched lines of the partition, with their batch line_id
    invoices: list[Invoice]
    matches: MatchColumns  # index-aligned with `table`
    findings: list[Finding]
    errors: list[InputError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def partition_count(lines: int) -> int:
    return max(1, -(-lines // PARTITION_LINES))


def partition_of_account(account: str, n: int) -> int:
    """Stable across processes and machines (no Python hash seed)."""
    return zlib.crc32(account_key(account).encode()) % n


def with_line_ids(table: pa.Table) -> pa.Table:
    if "line_id" in table.column_names:
        return table
    return table.append_column("line_id", pa.array(np.arange(table.num_rows, dtype=np.int64)))


def number_bills(invoices: list[Invoice], first: int = 0) -> None:
    """Each bill's place in the batch, so partitions merge back in reading order."""
    for k, inv in enumerate(invoices):
        if inv.seq is None:
            inv.seq = first + k


def split_by_account(table: pa.Table, invoices: list[Invoice], n: int
                     ) -> list[tuple[list[Invoice], pa.Table]]:
    """(invoices, lines) of each partition; lines keep their batch line_id."""
    table = with_line_ids(table)
    number_bills(invoices)
    if n <= 1:
        return [(invoices, table)]
    accounts = table.column("account").combine_chunks()
    if pa.types.is_dictionary(accounts.type):
        words = accounts.dictionary.to_pylist()
        codes = accounts.indices.to_numpy(zero_copy_only=False)
    else:
        uniq = pc.unique(accounts)
        words = uniq.to_pylist()
        codes = pc.index_in(accounts, uniq).to_numpy(zero_copy_only=False)
    part_of_word = np.array([partition_of_account(w or "", n) for w in words] or [0], np.int64)
    part = part_of_word[codes]
    out = []
    for p in range(n):
        rows = np.flatnonzero(part == p)
        bills = [inv for inv in invoices if partition_of_account(inv.account, n) == p]
        out.append((bills, table.take(pa.array(rows))))
    return out


def audit_partition(services: list[Service], invoices: list[Invoice], table: pa.Table,
                    options: AuditOptions, records: Records = NO_RECORDS,
                    matcher: Matcher | None = None,
                    service_columns: pa.Table | None = None) -> PartitionResult:
    """Enrich, match and run the rules on one partition (a pure function of its arguments,
    so it can run in another process or on another machine). `matcher` and
    `service_columns`: the index of `services` and their columns, when the caller built them
    (once for all partitions)."""
    t0 = time.perf_counter()
    table, bills, problems = enrich(with_line_ids(table), invoices, services)
    matches = (matcher or Matcher(services, options)).match_table(table)
    for name, values in matches.arrays().items():
        table = table.append_column(name, values)
    t1 = time.perf_counter()
    local = AuditResult(invoices=bills, lines=Lines(table), services=services, options=options,
                        matches=_local_matches(matches, table), records=records,
                        service_columns=service_columns)
    only = None if services else {"invoice-total-mismatch"}
    # imported here, when the rules are due: the CLI imports them (with DuckDB) beside the
    # reading (reconcile.cli._import_beside) rather than before it starts
    from reconcile.rules import run_rules
    from reconcile.rules.context import AuditContext

    findings = run_rules(AuditContext(local), only)
    return PartitionResult(table=table, invoices=bills, matches=matches,
                           findings=findings, errors=problems,
                           seconds={"match": t1 - t0, "rules": time.perf_counter() - t1})


def _local_matches(matches: MatchColumns, table: pa.Table):
    """Rules look matches up by a line's batch line_id; a partition holds some of them."""
    return ByLineId([(table.column("line_id").to_numpy(), matches)])


class ByLineId:
    """Matches looked up by batch line_id over pieces (partitions) that each hold some lines,
    in order, with their MatchColumns."""

    def __init__(self, pieces: list[tuple[np.ndarray, MatchColumns]]):
        self.pieces = [(ids, m) for ids, m in pieces if len(ids)]
        self.firsts = np.array([ids[0] for ids, _ in self.pieces], np.int64)
        self.whole = len(self.pieces) == 1 and self.pieces[0][0][0] == 0 and \
            self.pieces[0][0][-1] == len(self.pieces[0][0]) - 1

    def __getitem__(self, line_id: int) -> Match:
        if self.whole:
            return self.pieces[0][1][line_id]
        for ids, matches in self.pieces:
            at = int(np.searchsorted(ids, line_id))
            if at < len(ids) and ids[at] == line_id:
                return matches[at]
        raise IndexError(line_id)

    def __len__(self) -> int:
        return sum(len(ids) for ids, _ in self.pieces)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def merge(services: list[Service], parts: list[PartitionResult], options: AuditOptions,
          records: Records = NO_RECORDS, service_columns: pa.Table | None = None) -> AuditResult:
    """One result from the partitions: lines back in batch order, bills renumbered.
    `service_columns`: the services' columns, when the caller built them."""
    tables, invoices, findings, errors, pieces = [], [], [], [], []
    # bills back in reading order; each partition's invoice column renumbered to match
    order = sorted(((b.seq if b.seq is not None else 1 << 62, p, k)
                    for p, part in enumerate(parts) for k, b in enumerate(part.invoices)))
    new_index = [np.zeros(len(part.invoices), np.int32) for part in parts]
    for at, (_, p, k) in enumerate(order):
        new_index[p][k] = at
        invoices.append(parts[p].invoices[k])
    for part, renumber in zip(parts, new_index):
        t = part.table
        if t.num_rows:
            idx = t.schema.get_field_index("invoice")
            local = t.column("invoice").to_numpy()
            t = t.set_column(idx, "invoice", pa.array(renumber[local]))
        tables.append(t)
        findings.extend(part.findings)
        errors.extend(part.errors)
        pieces.append((part.table.column("line_id").to_numpy(), part.matches))
    tables = [t for t in tables if t.num_rows] or tables[:1]
    if len(tables) == 1:
        table = tables[0]
    else:
        table = pa.concat_tables(tables, promote_options="permissive").unify_dictionaries()
        table = table.take(pc.sort_indices(table.column("line_id"))).combine_chunks()
    matches = ByLineId(pieces)
    result = AuditResult(invoices=invoices, lines=Lines(table), services=services,
                         options=options, matches=matches, findings=findings, errors=errors,
                         records=records, service_columns=service_columns)
    if not services:
        result.notes.append("no inventory services were read: only invoice totals were checked")
    result.findings.sort(key=lambda f: (-f.amount_at_issue, f.rule, f.account, f.invoice_number,
                                        f.service_id))
    _number_repeats(result.findings)
    return result


def _number_repeats(findings) -> None:
    """The same problem twice on one bill (a row repeated three times) gets ids -2, -3."""
    seen: dict[str, int] = {}
    for f in findings:
        n = seen[f.id] = seen.get(f.id, 0) + 1
        if n > 1:
            f.id = f"{f.id}-{n}"
