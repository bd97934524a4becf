"""What one audit run produced: the input as read, the matches, the findings, the problems."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.lines import Lines
from reconcile.core.models import Category, Finding, InputError, Invoice, InvoiceLine, Service
from reconcile.core.records import Records
from reconcile.core.service_table import service_table


@dataclass(slots=True)
class Match:
    """How one invoice line was tied to the inventory (or why it wasn't)."""

    service: int | None  # Service.index, None when unmatched or account-level
    method: str  # "exact" | "fuzzy" | "account-level" | "none"
    score: float  # 0-100; 100 for exact
    reason: str  # one phrase a person reads, e.g. "same circuit ID after normalising"
    candidates: tuple = ()  # for unmatched lines: ((service index, score), ...) nearest three


@dataclass
class AuditOptions:
    tolerance: Decimal = Decimal("0.01")  # money differences at or below this are not findings
    match_threshold: float = 90.0  # fuzzy score (0-100) needed to accept a match
    match_margin: float = 3.0  # the best fuzzy candidate must beat the next by this much
    # the date the audit speaks from: deadlines, "ends within 90 days" (default: today)
    as_of: date = field(default_factory=date.today)
    months: int = 18  # the answer covers the bills of this many months up to as_of
    dispute_window_days: int = 60  # days after a bill's date to dispute it, unless a contract says
    all_disputes: bool = False  # dispute packets for expired deadlines too (marked)


@dataclass
class AuditResult:
    invoices: list[Invoice] = field(default_factory=list)
    lines: Lines = field(default_factory=Lines)  # the batch table, enriched (reconcile.enrich)
    matches: list[Match] = field(default_factory=list)  # index-aligned with `lines`
    services: list[Service] = field(default_factory=list)
    records: Records = field(default_factory=Records)  # contracts, orders, payments given
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # invoice files looked at
    inventory_file: str = ""
    inventory_columns: dict[str, str] = field(default_factory=dict)  # field -> header read
    # the contracts, orders and payments files given, read or not (kind -> path; those read
    # are also in records.files): not invoice files, whatever became of them
    record_paths: dict[str, str] = field(default_factory=dict)
    paths_relative_to: str = ""  # the folder the messages' file paths are relative to, if not "."
    options: AuditOptions = field(default_factory=AuditOptions)
    # `services` as columns (reconcile.core.service_table), built once: see services_table
    service_columns: pa.Table | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.lines = Lines.of(self.lines)  # hand-built results may pass line records

    def services_table(self) -> pa.Table:
        """`services` as columns: the table the audit built with them (the rules' and the
        reports' one), else built here once."""
        if self.service_columns is None or self.service_columns.num_rows != len(self.services):
            self.service_columns = service_table(self.services)
        return self.service_columns

    @property
    def total_billed(self) -> Decimal:
        return _decimal_sum(self.lines.table.column("amount")) if len(self.lines) else Decimal("0")

    @property
    def total_at_issue(self) -> Decimal:
        """The headline: overcharges only (money the carrier owes back)."""
        return self.total_of(Category.OVERCHARGE)

    @property
    def total_unverified(self) -> Decimal:
        """Billed for services the inventory does not list: questions, not yet overcharges."""
        return self.total_of(Category.UNVERIFIED)

    def total_of(self, category: Category) -> Decimal:
        return sum((f.amount_at_issue for f in self.findings if f.category is category),
                   Decimal("0"))

    def by_rule(self) -> dict[str, tuple[int, Decimal]]:
        """rule -> (number of findings, money at issue), in rule order of appearance."""
        acc: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
        for f in self.findings:
            acc[f.rule][0] += 1
            acc[f.rule][1] += f.amount_at_issue
        return {k: (v[0], v[1]) for k, v in acc.items()}

    def by_account(self) -> dict[tuple[str, str], tuple[int, Decimal, Decimal]]:
        """(carrier, account) -> (findings, money at issue, total billed)."""
        billed: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        if len(self.lines):
            sums = self.lines.table.select(["carrier", "account", "amount"]).group_by(
                ["carrier", "account"]).aggregate([("amount", "sum")])
            for row in sums.to_pylist():
                billed[(row["carrier"], row["account"])] += row["amount_sum"]
        acc: dict[tuple[str, str], list] = defaultdict(lambda: [0, Decimal("0")])
        for f in self.findings:
            acc[(f.carrier, f.account)][0] += 1
            if f.category is Category.OVERCHARGE:
                acc[(f.carrier, f.account)][1] += f.amount_at_issue
        keys = sorted(set(billed) | set(acc))
        return {k: (acc[k][0] if k in acc else 0, acc[k][1] if k in acc else Decimal("0"),
                    billed.get(k, Decimal("0"))) for k in keys}

    def service_of(self, line: InvoiceLine) -> Service | None:
        m = self.matches[line.line_id]
        return self.services[m.service] if m.service is not None else None


def _decimal_sum(column) -> Decimal:
    total = pc.sum(column).as_py()
    return Decimal("0") if total is None else total
