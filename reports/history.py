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
from decimal import Decimal

import numpy as np
import pyarrow as pa

from reconcile.core.models import Finding
from reconcile.core.result import AuditResult
from reconcile.expected import ExpectedBill
from reconcile.reports.explain import should_cost

MAX_HISTORY_SERVICES = 2_000


def finding_services(result: AuditResult, findings: list[Finding]) -> list[int]:
    """Each finding's inventory service index (of its first matched line, else of its
    matched service ID), -1 for none."""
    service = _service_column(result)
    at = _positions(result.lines.table)
    by_id: dict[str, int] = {s.service_id: s.index for s in reversed(result.services)}
    out = []
    for f in findings:
        idx = -1
        for i in f.line_ids:
            p = at(i)
            if p is not None and service[p] >= 0:
                idx = int(service[p])
                break
        if idx < 0 and f.matched_service_id:
            idx = by_id.get(f.matched_service_id, -1)
        out.append(idx)
    return out


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


def history_data(result: AuditResult, wanted: list[int]) -> dict:
    """{"months": ["2024-01", ...], "services": [...]} for report.html (money as "450.00")."""
    months = sorted({_month(inv.invoice_date) for inv in result.invoices if inv.invoice_date})
    month_at = {m: k for k, m in enumerate(months)}
    if not wanted or not months:
        return {"months": months, "services": []}
    t = result.lines.table
    service = _service_column(result)
    keep = np.flatnonzero(np.isin(service, np.array(wanted, np.int64)))
    cols = ["carrier", "account", "invoice_date", "service_id", "charge_type", "period_start",
            "period_end", "quantity", "amount"]
    rows = t.select(cols).take(pa.array(keep)).to_pylist()
    flagged: dict[tuple[int, str], list[str]] = {}  # (service, bill month) -> finding ids
    flagged_months: dict[int, set[str]] = {}
    wanted_set = set(wanted)
    for f, svc in zip(result.findings, finding_services(result, result.findings)):
        if svc in wanted_set and f.invoice_date:
            flagged.setdefault((svc, _month(f.invoice_date)), []).append(f.id)
            flagged_months.setdefault(svc, set()).add(_month(f.invoice_date))
    bill_months: dict[tuple[str, str], set[str]] = {}
    for inv in result.invoices:
        if inv.invoice_date:
            bill_months.setdefault((inv.carrier, inv.account), set()).add(_month(inv.invoice_date))
    per: dict[int, dict] = {}
    for r, svc in zip(rows, service[keep].tolist()):
        h = per.setdefault(svc, {"accounts": set(), "months": {}})
        h["accounts"].add((r["carrier"], r["account"]))
        if not r["invoice_date"]:
            continue
        m = h["months"].setdefault(_month(r["invoice_date"]), {"billed": Decimal(0), "periods": {}})
        m["billed"] += r["amount"]
        if r["charge_type"] == "recurring" and r["period_start"] and r["period_end"]:
            m["periods"].setdefault((r["period_start"], r["period_end"]), r)
    expected = ExpectedBill(result.services, result.records)
    services = {s.index: s for s in result.services}
    out = []
    for idx in wanted:
        h = per.get(idx, {"accounts": set(), "months": {}})
        svc = services.get(idx)
        if svc is None:
            continue
        span = set(h["months"]) | flagged_months.get(idx, set())
        for acct in h["accounts"]:
            span |= bill_months.get(acct, set())
        plan = expected.plan(idx)
        row = {"index": idx, "id": svc.service_id,
               "about": ", ".join(p for p in (svc.description, svc.location,
                                               svc.account and f"account {svc.account}") if p),
               "m": [], "billed": [], "expected": [], "diff": [], "findings": []}
        for month in sorted(span):
            got = h["months"].get(month)
            billed = got["billed"] if got else Decimal(0)
            exp = _expected_in(month, got, svc, expected, idx, plan)
            row["m"].append(month_at[month])
            row["billed"].append(_text(billed))
            row["expected"].append("" if exp is None else _text(exp))
            row["diff"].append("" if exp is None else _text(billed - exp))
            row["findings"].append(sorted(set(flagged.get((idx, month), ()))))
        out.append(row)
    return {"months": months, "services": out}


def _expected_in(month: str, got: dict | None, svc, expected: ExpectedBill, idx: int, plan):
    """What the month's bill should have charged the service for recurring charges."""
    if got and got["periods"]:
        total = Decimal(0)
        for r in got["periods"].values():
            _, amount = should_cost(r, "recurring", r["amount"], svc, expected, idx)
            if amount is None:
                return None
            total += amount
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


def _positions(t: pa.Table):
    if "line_id" not in t.column_names:
        return lambda i: i if 0 <= i < t.num_rows else None
    ids = t.column("line_id").to_numpy()

    def at(i: int):
        p = int(np.searchsorted(ids, i))
        return p if p < len(ids) and ids[p] == i else None
    return at


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _text(v: Decimal) -> str:
    q = v.quantize(Decimal("0.01"))
    return f"{abs(q) if q == 0 else q}"
