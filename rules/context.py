"""What every rule sees: the batch as an Arrow table it queries with DuckDB, the lines already
claimed, the expected bill, and finding builders.

Rules find their candidates with one query over the whole batch (joins, filters, group-bys
run in DuckDB, column by column) and bring only those rows into Python, as line records, for
the sequential logic and the exact Decimal arithmetic that decides money at issue. Tables a
query can name: `lines` (the batch: reconcile.core.lines columns plus line_id, invoice,
service, match_method, match_score, match_reason), `services` (index, service_id, account,
carrier, monthly_rate), `plans` (service, starts, stops: reconcile.expected) and `claimed`
(line_id). `UNCLAIMED` is the condition that leaves claimed lines out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import duckdb
import numpy as np
import pyarrow as pa

from reconcile.core.ids import is_phone_key, service_key
from reconcile.core.lines import COLUMNS, decoded, line_from_row, record
from reconcile.core.models import Category, Finding, Invoice, InvoiceLine, Service, Severity
from reconcile.core.periods import describe_period
from reconcile.core.records import Records
from reconcile.core.result import AuditResult
from reconcile.core.values import money
from reconcile.expected import ExpectedBill

UNCLAIMED = "line_id NOT IN (SELECT line_id FROM claimed)"
FEW_LINES = 8  # fewer line records than this are read cell by cell (lines_at)


class ClaimsApart(RuntimeError):
    """A rule running apart (rules/__init__.py: the tiers that run beside the others) claimed
    a line or read the claims."""


class NoClaims(set):
    """`claimed` of the context of the rules running apart: they promise neither to claim a
    line nor to read the claims, which the rules beside them are still making."""

    def _refuse(self, *_args):
        raise ClaimsApart("claimed a line or read the claims, which a rule of its tier runs "
                          "beside; give it a precedence under 80 (rules/__init__.py)")

    add = update = discard = remove = __contains__ = __iter__ = __len__ = _refuse


@dataclass
class AuditContext:
    result: AuditResult
    # a line's money is at issue once: the first rule to flag it claims it, later rules skip it
    claimed: set[int] = field(default_factory=set)
    _expected: ExpectedBill | None = field(default=None, repr=False)
    _db: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)
    _tables: dict[str, pa.Table] | None = field(default=None, repr=False)  # what _db registers
    _records: dict[int, InvoiceLine] = field(default_factory=dict, repr=False)
    _ids: np.ndarray | None = field(default=None, repr=False)

    @property
    def expected(self) -> ExpectedBill:
        """What each service should be billed, and when (reconcile.expected)."""
        if self._expected is None:
            self._expected = ExpectedBill(self.result.services, self.result.records)
        return self._expected

    @property
    def records(self) -> Records:
        """Contracts, orders and payments given (reconcile.core.records)."""
        return self.result.records

    @property
    def as_of(self) -> date:
        return self.result.options.as_of

    @property
    def tolerance(self) -> Decimal:
        return self.result.options.tolerance

    # -- querying the batch ----------------------------------------------------------------
    def sql(self, query: str, **tables: pa.Table) -> list[tuple]:
        """Rows of a DuckDB query over the batch; `tables` adds small tables of the rule's own
        (e.g. values worked out once per distinct description). Decimals come back exact."""
        db = self._connection()
        if "claimed" in query:
            db.register("claimed", pa.table({"line_id": pa.array(sorted(self.claimed), pa.int64())}))
        for name, table in tables.items():
            db.register(name, table)
        try:
            return db.execute(query).fetchall()
        finally:
            for name in tables:
                db.unregister(name)

    def beside(self) -> AuditContext:
        """A context for the rules that run beside the others (rules/__init__.py): the same
        batch, query tables and expected bill; a database of its own (a DuckDB connection is
        for one thread at a time); claims it may neither make nor read (NoClaims)."""
        self._connection()  # the tables, made once for both
        return AuditContext(self.result, claimed=NoClaims(), _expected=self.expected,
                            _tables=self._tables)

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._db is None:
            if self._tables is None:
                services = self.result.services_table()
                self._tables = {
                    "lines": self.result.lines.table,
                    "services": services.select(
                        ["index", "service_id", "account", "carrier", "monthly_rate"]),
                    "plans": self.expected.table(services),
                }
            db = duckdb.connect()
            for name, table in self._tables.items():
                db.register(name, table)
            self._db = db
        return self._db

    def slices(self, lines_per_slice: int = 500_000) -> int:
        """In how many slices a query holding a row per line (a self-join, a group-by with a
        group per few lines) runs over the batch: DuckDB holds about 150 bytes per row of
        one, all at once, until the database closes."""
        rows = self.result.lines.table.num_rows
        return max(1, -(-rows // lines_per_slice))

    def release(self) -> None:
        """Close the DuckDB database: it keeps what a query allocated until it closes (a
        self-join over 1M lines left 260 MiB held through the rules after it). A rule calls
        it after a heavy query, run_rules after the last rule. The next query opens a fresh
        one over the same tables (no copy: Arrow is scanned in place; 30 ms)."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def lines_at(self, ids) -> list[InvoiceLine]:
        """Line records for these batch positions (cached: evidence asks for lines again)."""
        ids = [int(i) for i in ids]
        missing = sorted({i for i in ids if i not in self._records})
        if 0 < len(missing) < FEW_LINES:  # a cell at a time: no take over every column
            for i, at in zip(missing, self._positions(missing).to_pylist()):
                self._records[i] = record(self.result.lines.table, at, i)
        elif missing:
            table = self.result.lines.table
            rows = decoded(table.select(list(COLUMNS)).take(self._positions(missing))).to_pylist()
            for i, row in zip(missing, rows):
                self._records[i] = line_from_row(row, i)
        return [self._records[i] for i in ids]

    def _positions(self, line_ids: list[int]) -> pa.Array:
        """Rows of the table holding these line ids (a partition holds some of the batch's,
        in order)."""
        table = self.result.lines.table
        if "line_id" not in table.column_names:
            return pa.array(line_ids, pa.int64())
        if self._ids is None:
            self._ids = table.column("line_id").to_numpy()
        return pa.array(np.searchsorted(self._ids, np.array(line_ids, np.int64)))

    def credits_of(self, services: set[int]) -> dict[int, list[InvoiceLine]]:
        """Unclaimed credit lines (negative amounts) of these services, by service, in batch
        order: what disconnect rules weigh a charge against."""
        wanted = pa.table({"service": pa.array(sorted(services), pa.int32())})
        rows = self.sql(f"""
            SELECT line_id FROM lines WHERE amount < 0 AND {UNCLAIMED}
              AND service IN (SELECT service FROM wanted) ORDER BY line_id""", wanted=wanted)
        out: dict[int, list[InvoiceLine]] = {}
        for ln in self.lines_at([r[0] for r in rows]):
            out.setdefault(self.result.matches[ln.line_id].service, []).append(ln)
        return out

    def service(self, line: InvoiceLine) -> Service | None:
        return self.result.service_of(line)

    def invoice_of(self, line: InvoiceLine) -> Invoice | None:
        return self._invoices().get((line.carrier, line.account, line.invoice_number))

    def _invoices(self):
        if not hasattr(self, "_inv_index"):
            self._inv_index = {inv.key: inv for inv in self.result.invoices}
        return self._inv_index

    # -- building findings -----------------------------------------------------------------
    def line_evidence(self, ln: InvoiceLine) -> dict:
        m = self.result.matches[ln.line_id]
        return {
            "where": ln.where,
            "invoice": ln.invoice_number,
            "bill_date": ln.invoice_date.isoformat() if ln.invoice_date else "",
            "service_id": ln.service_id,
            "description": ln.description,
            "charge_type": ln.charge_type.value,
            "period": describe_period(ln.period_start, ln.period_end)
            + (" (inferred from the bill date)" if ln.period_inferred else ""),
            "amount": money(ln.amount),
            "match": f"{m.method} ({m.score:.0f}): {m.reason}",
        }

    def finding(self, rule: str, severity: Severity, lines: list[InvoiceLine], *,
                service: Service | None, billed: Decimal, expected: Decimal, at_issue: Decimal,
                explanation: str, claim: bool = True, invoice: Invoice | None = None,
                service_id: str | None = None, category: Category | None = None,
                **evidence) -> Finding:
        first = lines[0] if lines else None
        inv = invoice or (self.invoice_of(first) if first else None)
        ev: dict = {}
        if service is not None:
            ev["inventory_row"] = service.evidence()
        if lines:
            ev["lines"] = [self.line_evidence(ln) for ln in lines]
        ev.update(evidence)
        if claim:
            self.claimed.update(ln.line_id for ln in lines)
        return Finding(
            rule=rule, severity=severity, category=category,
            carrier=(inv.carrier if inv else "") or (service.carrier if service else ""),
            account=inv.account if inv else (service.account if service else ""),
            invoice_number=inv.invoice_number if inv else "",
            invoice_date=inv.invoice_date if inv else None,
            service_id=service_id if service_id is not None else (first.service_id if first else ""),
            matched_service_id=service.service_id if service else "",
            description=first.description if first else "",
            period_start=first.period_start if first else None,
            period_end=first.period_end if first else None,
            billed_amount=billed, expected_amount=expected,
            amount_at_issue=max(at_issue, Decimal(0)),
            explanation=explanation, evidence=ev, line_ids=[ln.line_id for ln in lines],
        )


def noun(service_id: str) -> str:
    """'Circuit 12.HCGS.123456..LY' or 'Phone number 212-555-1234' for sentences."""
    return ("Phone number " if is_phone_key(service_key(service_id)) else "Circuit ") + service_id


def order_evidence(order) -> dict:
    """{'order': <the order row>} when a date came from an order, else nothing."""
    return {} if order is None else {"order": order.evidence()}


def on_invoice(ln: InvoiceLine) -> str:
    return f"invoice {ln.invoice_number} (account {ln.account})"
