"""A service's months, billed beside expected: "how long has this been going on".

For each bill month of the service's account: what the bill charged the service (every line:
recurring, one-time, usage, credits), what it should have charged for its recurring lines (the
expected bill, once per distinct period: a period billed twice is expected once), and the
findings on those lines. A month the account was billed but the service was not, while it
should have been in service, expects the month's rate: a gap shows as billed $0.

report.html carries the history of at most `MAX_HISTORY_SERVICES` services: those with
findings (most money at issue first), then those of the lines the page shows.
"""

from __future__ import annotations

from datetime import date
from itertools import chain
from decimal import Decimal
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.lines import column_values
from reconcile.core.models import Finding
from reconcile.core.result import AuditResult
from reconcile.expected import ExpectedBill
from reconcile.reports.explain import recurring_cost

MAX_HISTORY_SERVICES = 2_000


def finding_services(result: AuditResult, findings: list[Finding]) -> list[int]:
    """Each finding's inventory service index (of its first matched line, else of its
    matched service ID), -1 for none."""
    service = _service_column(result)
    counts = np.fromiter((len(f.line_ids) for f in findings), np.int64, len(findings))
    ids = np.fromiter(chain.from_iterable(f.line_ids for f in findings), np.int64, int(counts.sum()))
    at, found = _positions(result.lines.table, ids)
    svc = np.where(found, service[at], -1) if len(service) else np.full(len(ids), -1, np.int64)
    owner = np.repeat(np.arange(len(findings)), counts)[svc >= 0]
    first = np.full(len(findings), -1, np.int64)
    first[owner[::-1]] = svc[svc >= 0][::-1]  # written last to first: each finding's first stays
    by_id: dict[str, int] = {s.service_id: s.index for s in reversed(result.services)}
    return [idx if idx >= 0 else by_id.get(f.matched_service_id, -1) if f.matched_service_id else -1
            for f, idx in zip(findings, first.tolist())]


def history_services(of_findings: list[int], shown: list[int]) -> list[int]:
    """Service indices whose history the report carries, in order of importance: those of
    the findings (given most money at issue first), then those of the lines shown."""
    out: dict[int, None] = {}
    for idx in (*of_findings, *shown):
        if idx >= 0:
            out[idx] = None
            if len(out) >= MAX_HISTORY_SERVICES:
                break
    return list(out)


def history_data(result: AuditResult, wanted: list[int],
                 of_findings: list[int] | None = None) -> dict:
    """{"months": ["2024-01", ...], "services": [...]} for report.html (money as "450.00").
    `of_findings`: finding_services of result.findings, when the caller has it."""
    months = sorted({_month(inv.invoice_date) for inv in result.invoices if inv.invoice_date})
    month_at = {m: k for k, m in enumerate(months)}
    if not wanted or not months:
        return {"months": months, "services": []}
    billed, periods, accounts = _billed_months(result, wanted)
    billed_in: dict[int, set[str]] = {}  # the months each service was billed in
    for svc, month in billed:
        billed_in.setdefault(svc, set()).add(month)
    flagged: dict[tuple[int, str], list[str]] = {}  # (service, bill month) -> finding ids
    flagged_months: dict[int, set[str]] = {}
    wanted_set = set(wanted)
    if of_findings is None:
        of_findings = finding_services(result, result.findings)
    for f, svc in zip(result.findings, of_findings):
        if svc in wanted_set and f.invoice_date:
            flagged.setdefault((svc, _month(f.invoice_date)), []).append(f.id)
            flagged_months.setdefault(svc, set()).add(_month(f.invoice_date))
    bill_months: dict[tuple[str, str], set[str]] = {}
    for inv in result.invoices:
        if inv.invoice_date:
            bill_months.setdefault((inv.carrier, inv.account), set()).add(_month(inv.invoice_date))
    expected = ExpectedBill(result.services, result.records)
    services = {s.index: s for s in result.services}
    out = []
    for idx in wanted:
        svc = services.get(idx)
        if svc is None:
            continue
        span = billed_in.get(idx, set()) | flagged_months.get(idx, set())
        for acct in accounts.get(idx, ()):
            span |= bill_months.get(acct, set())
        plan = expected.plan(idx)
        row = {"index": idx, "id": svc.service_id,
               "about": ", ".join(p for p in (svc.description, svc.location,
                                               svc.account and f"account {svc.account}") if p),
               "m": [], "billed": [], "expected": [], "diff": [], "findings": []}
        for month in sorted(span):
            got = billed.get((idx, month))
            amount = got if got is not None else Decimal(0)
            exp = _expected_in(month, periods.get((idx, month)), expected, idx, plan)
            row["m"].append(month_at[month])
            row["billed"].append(_text(amount))
            row["expected"].append("" if exp is None else _text(exp))
            row["diff"].append("" if exp is None else _text(amount - exp))
            row["findings"].append(sorted(set(flagged.get((idx, month), ()))))
        out.append(row)
    return {"months": months, "services": out}


def _billed_months(result: AuditResult, wanted: list[int]):
    """For the wanted services, from their lines, as columns: what each bill month billed
    ({(service, month): amount}), its recurring periods, each once, in line order
    ({(service, month): [(start, end, quantity, amount)]}), and the (carrier, account) pairs
    billing each service."""
    service = _service_column(result)
    keep = np.flatnonzero(np.isin(service, np.array(wanted, np.int64)))
    t = result.lines.table.select(["carrier", "account", "invoice_date", "charge_type",
                                   "period_start", "period_end", "quantity", "amount"])
    t = t.take(pa.array(keep))
    t = t.append_column("svc", pa.array(service[keep], pa.int64()))
    t = t.append_column("month", pc.strftime(t.column("invoice_date"), format="%Y-%m"))
    t = t.append_column("at", pa.array(np.arange(len(keep), dtype=np.int64)))
    owners = t.group_by(["svc", "carrier", "account"], use_threads=False).aggregate([])
    accounts: dict[int, set[tuple[str, str]]] = {}
    for svc, carrier, account in zip(*(owners.column(c).to_pylist()
                                        for c in ("svc", "carrier", "account"))):
        accounts.setdefault(svc, set()).add((carrier, account))
    dated = t.filter(pc.is_valid(t.column("month")))
    sums = dated.group_by(["svc", "month"]).aggregate([("amount", "sum")])
    billed = {(svc, month): amount for svc, month, amount in
              zip(*(sums.column(c).to_pylist() for c in ("svc", "month", "amount_sum")))}
    recurring = dated.filter(pc.and_(
        pc.equal(dated.column("charge_type").cast(pa.string()), "recurring"),
        pc.and_(pc.is_valid(dated.column("period_start")), pc.is_valid(dated.column("period_end")))))
    firsts = recurring.group_by(["svc", "month", "period_start", "period_end"], use_threads=False) \
        .aggregate([("at", "min")])
    rows = recurring.filter(pc.is_in(recurring.column("at"), firsts.column("at_min")))
    periods: dict[tuple[int, str], list[tuple]] = {}
    for svc, month, *period in zip(*(column_values(rows.column(c)) for c in (
            "svc", "month", "period_start", "period_end", "quantity", "amount"))):
        periods.setdefault((svc, month), []).append(tuple(period))
    return billed, periods, accounts


def _expected_in(month: str, periods: list[tuple] | None, expected: ExpectedBill, idx: int, plan):
    """What the month's bill should have charged the service for recurring charges."""
    if periods:
        total = Decimal(0)
        for start, end, quantity, amount in periods:
            got = recurring_cost(start, end, quantity, amount, expected, idx)
            if got is None:
                return None
            total += got[0]
        return total
    first = date(int(month[:4]), int(month[5:]), 1)
    term = plan.term_on(first)
    if term is None:
        return None
    return term.monthly_rate if plan.active_on(first) else Decimal(0)


def _service_column(result: AuditResult) -> np.ndarray:
    """Each line's inventory service index, -1 for none."""
    t = result.lines.table
    if "service" in t.column_names:
        col = t.column("service").combine_chunks()
        return col.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    matches = result.matches if len(result.matches) == t.num_rows else []
    return np.array([m.service if m and m.service is not None else -1 for m in matches]
                    or [-1] * t.num_rows, np.int64)


def _positions(t: pa.Table, line_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `t` holding these batch line ids (clipped into the table) and which are there."""
    n = t.num_rows
    if "line_id" not in t.column_names:
        found = (line_ids >= 0) & (line_ids < n)
        return np.clip(line_ids, 0, max(n - 1, 0)), found
    ids = t.column("line_id").to_numpy()
    at = np.minimum(np.searchsorted(ids, line_ids), max(n - 1, 0))
    return at, (ids[at] == line_ids) if n else np.zeros(len(line_ids), bool)


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


@lru_cache(maxsize=8192)  # a batch has few distinct amounts
def _text(v: Decimal) -> str:
    q = v.quantize(Decimal("0.01"))
    return f"{abs(q) if q == 0 else q}"
