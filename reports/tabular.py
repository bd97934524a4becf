"""Findings, lines and errors as CSV and JSON for scripts.

Money is written as exact decimal strings ("450.00"), never floats, so a script summing
findings.json gets the cents right; dates are ISO.
"""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from reconcile.core.result import AuditResult

FINDING_COLUMNS = ["id", "rule", "severity", "carrier", "account", "invoice_number", "invoice_date",
                   "service_id", "matched_service_id", "description", "period_start", "period_end",
                   "billed_amount", "expected_amount", "amount_at_issue", "explanation", "evidence",
                   "line_ids"]
INVOICE_COLUMNS = ["carrier", "account", "invoice_number", "invoice_date", "due_date", "source",
                   "pages", "lines", "lines_total", "stated_total", "total_where", "previous_balance",
                   "payments", "adjustments", "amount_due", "unreadable_rows", "self_check_failed",
                   "findings", "amount_at_issue"]
LINE_COLUMNS = ["line_id", "source", "row", "page", "carrier", "account", "invoice_number",
                "invoice_date", "service_id", "description", "charge_type", "period_start",
                "period_end", "period_inferred", "quantity", "unit_price", "amount",
                "matched_service_id", "match_method", "match_score", "match_reason", "findings"]


def _plain(v):
    if isinstance(v, Decimal):
        return f"{v:.2f}" if v == v.quantize(Decimal("0.01")) else str(v)
    if isinstance(v, date):
        return v.isoformat()
    if hasattr(v, "value"):
        return v.value
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


def finding_record(f) -> dict:
    d = {k: _plain(getattr(f, k)) for k in FINDING_COLUMNS if k != "evidence"}
    d["evidence"] = _plain(f.evidence)
    return d


def summary_record(result: AuditResult) -> dict:
    return {
        "files": len(result.files),
        "invoices": len(result.invoices),
        "lines": len(result.lines),
        "services": len(result.services),
        "total_billed": _plain(result.total_billed),
        "findings": len(result.findings),
        "amount_at_issue": _plain(result.total_at_issue),
        "by_rule": {r: {"findings": n, "amount_at_issue": _plain(a)}
                    for r, (n, a) in result.by_rule().items()},
        "input_errors": len(result.errors),
    }


def write_findings_json(result: AuditResult, path: Path) -> None:
    data = {"summary": summary_record(result),
            "findings": [finding_record(f) for f in result.findings]}
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_findings_csv(result: AuditResult, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(FINDING_COLUMNS)
        for f in result.findings:
            rec = finding_record(f)
            rec["evidence"] = json.dumps(rec["evidence"], ensure_ascii=False)
            rec["line_ids"] = " ".join(map(str, rec["line_ids"]))
            w.writerow([rec[c] if rec[c] is not None else "" for c in FINDING_COLUMNS])


def write_lines_csv(result: AuditResult, path: Path) -> None:
    flagged: dict[int, list[str]] = {}
    for f in result.findings:
        for i in f.line_ids:
            flagged.setdefault(i, []).append(f.id)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(LINE_COLUMNS)
        services = result.services
        for ln, m in zip(result.lines, result.matches):
            w.writerow([
                ln.line_id, ln.source, ln.row, "" if ln.page is None else ln.page, ln.carrier,
                ln.account, ln.invoice_number, ln.invoice_date or "", ln.service_id, ln.description,
                ln.charge_type.value, ln.period_start or "", ln.period_end or "",
                "yes" if ln.period_inferred else "", _num(ln.quantity), _num(ln.unit_price),
                _plain(ln.amount), services[m.service].service_id if m.service is not None else "",
                m.method, f"{m.score:.1f}", m.reason, " ".join(flagged.get(ln.line_id, ())),
            ])


def write_invoices_csv(result: AuditResult, path: Path) -> None:
    """One row per invoice: what the carrier printed, what its lines add up to, what is at issue."""
    at_issue: dict[tuple, list] = {}
    for f in result.findings:
        acc = at_issue.setdefault((f.carrier, f.account, f.invoice_number), [0, Decimal(0)])
        acc[0] += 1
        acc[1] += f.amount_at_issue
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(INVOICE_COLUMNS)
        for inv in result.invoices:
            n, amount = at_issue.get(inv.key, (0, Decimal(0)))
            total = sum((result.lines[i].amount for i in inv.line_ids), Decimal(0))
            values = {**inv.model_dump(), "lines": len(inv.line_ids), "lines_total": total,
                      "self_check_failed": "yes" if inv.self_check_failed else "",
                      "findings": n, "amount_at_issue": amount}
            w.writerow(["" if values[c] is None else _plain(values[c]) for c in INVOICE_COLUMNS])


def _num(v):
    return "" if v is None else str(v)


def write_errors_json(result: AuditResult, path: Path) -> None:
    data = [e.model_dump(exclude_none=True) for e in result.errors]
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
