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

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from reconcile.core.lines import plain_amount
from reconcile.core.models import Category
from reconcile.core.result import AuditResult

FINDING_COLUMNS = ["id", "rule", "category", "severity", "carrier", "account", "invoice_number", "invoice_date",
                   "service_id", "matched_service_id", "description", "period_start", "period_end",
                   "billed_amount", "expected_amount", "amount_at_issue", "explanation", "evidence",
                   "line_ids"]
INVOICE_COLUMNS = ["carrier", "account", "invoice_number", "invoice_date", "due_date", "source",
                   "pages", "lines", "lines_total", "stated_total", "total_where", "previous_balance",
                   "payments", "adjustments", "amount_due", "unreadable_rows", "self_check_failed",
                   "findings", "amount_at_issue", "copies_set_aside"]
LINE_COLUMNS = ["line_id", "line_key", "source", "row", "page", "carrier", "account", "invoice_number",
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
    from reconcile.reports.console import batch_read, unchecked

    read = batch_read(result)
    return {
        "files": read.files,
        "files_read": read.files_read,
        "invoices": len(result.invoices),
        "lines": len(result.lines),
        "services": len(result.services),
        "total_billed": _plain(result.total_billed),
        # money on lines with a service ID, and the part of it matched to an inventory service
        "billed_to_services": _plain(read.to_services),
        "matched_to_inventory": _plain(read.matched),
        "matched_share_percent": _plain(read.matched_share),
        "findings": len(result.findings),
        "amount_at_issue": _plain(result.total_at_issue),  # overcharges only
        "by_category": {c.value: {"findings": sum(1 for f in result.findings if f.category is c),
                                  "amount": _plain(result.total_of(c))} for c in Category},
        "by_rule": {r: {"findings": n, "amount_at_issue": _plain(a)}
                    for r, (n, a) in result.by_rule().items()},
        "input_errors": len(result.errors),
        # rules the inventory did not let run ("limit": what they checked instead, when partly)
        "not_checked": [{"rule": g.rule, "reason": g.reason, "limit": g.limit, "text": str(g)}
                        for g in unchecked(result)],
        "paths_relative_to": result.paths_relative_to or ".",
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
    """Every line with its match and findings, written from the batch's columns: text is
    worked out once per distinct value, the rows are never Python objects."""
    table = lines_report_table(result)
    with open(path, "wb") as fh:
        pacsv.write_csv(table, fh, pacsv.WriteOptions(quoting_style="needed"))


def lines_report_table(result: AuditResult) -> pa.Table:
    """lines.csv as an Arrow table of text columns (LINE_COLUMNS order)."""
    t = result.lines.table
    n = t.num_rows
    if "line_id" not in t.column_names:  # a hand-built result: not enriched by the pipeline
        t = t.append_column("line_id", pa.array(range(n), pa.int64()))
    services = pa.array([s.service_id for s in result.services] or [""], pa.string())
    if "match_method" in t.column_names:  # the pipeline's match columns
        svc = t.column("service")
        methods, reasons = _text(t.column("match_method")), _text(t.column("match_reason"))
        scores = _score_text(t.column("match_score"))
    else:  # a hand-built result: matches as records
        matches = list(result.matches) if len(result.matches) == n else []
        svc = pa.array([m.service for m in matches], pa.int32()) if matches else pa.nulls(n, pa.int32())
        methods = pa.array([m.method for m in matches] if matches else [""] * n, pa.string())
        scores = pa.array([f"{m.score:.1f}" for m in matches] if matches else [""] * n, pa.string())
        reasons = pa.array([m.reason for m in matches] if matches else [""] * n, pa.string())
    flagged = [""] * n
    for f in result.findings:
        for i in f.line_ids:
            if 0 <= i < n:
                flagged[i] = f"{flagged[i]} {f.id}".strip()
    columns = {
        "line_id": pc.cast(t.column("line_id"), pa.string()),
        "line_key": _text(t.column("key")),
        "source": _text(t.column("source")),
        "row": pc.cast(t.column("row"), pa.string()),
        "page": _blank(pc.cast(t.column("page"), pa.string())),
        "carrier": _text(t.column("carrier")),
        "account": _text(t.column("account")),
        "invoice_number": _text(t.column("invoice_number")),
        "invoice_date": _blank(pc.cast(t.column("invoice_date"), pa.string())),
        "service_id": _text(t.column("service_id")),
        "description": _text(t.column("description")),
        "charge_type": _text(t.column("charge_type")),
        "period_start": _blank(pc.cast(t.column("period_start"), pa.string())),
        "period_end": _blank(pc.cast(t.column("period_end"), pa.string())),
        "period_inferred": pc.if_else(t.column("period_inferred"), "yes", ""),
        "quantity": _decimal_text(t.column("quantity")),
        "unit_price": _decimal_text(t.column("unit_price")),
        "amount": _decimal_text(t.column("amount")),
        "matched_service_id": _blank(pc.take(services, svc)),
        "match_method": methods,
        "match_score": scores,
        "match_reason": reasons,
        "findings": pa.array(flagged, pa.string()),
    }
    return pa.table({name: columns[name] for name in LINE_COLUMNS})


def _score_text(col) -> pa.Array:
    """Scores as '100.0', one format per distinct score."""
    encoded = col.combine_chunks().dictionary_encode() if isinstance(col, pa.ChunkedArray) else \
        col.dictionary_encode()
    words = [f"{v:.1f}" for v in encoded.dictionary.to_pylist()]
    return _blank(pc.take(pa.array(words or [""], pa.string()), encoded.indices))


def _blank(col) -> pa.Array:
    return pc.fill_null(col, "")


def _text(col) -> pa.Array:
    """A text column as plain strings (dictionary columns decoded once per value)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if pa.types.is_dictionary(col.type):
        return _blank(pc.take(pc.fill_null(col.dictionary.cast(pa.string()), ""), col.indices))
    return _blank(col.cast(pa.string()))


def _decimal_text(col) -> pa.Array:
    """Exact decimals as the carrier wrote them: 450.00, 0.0125 (formatted per distinct value)."""
    col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    encoded = col.dictionary_encode()
    words = [_plain(plain_amount(v)) if v is not None else "" for v in encoded.dictionary.to_pylist()]
    return _blank(pc.take(pa.array(words or [""], pa.string()), encoded.indices))


def write_invoices_csv(result: AuditResult, path: Path) -> None:
    """One row per invoice: what the carrier printed, what its lines add up to, what is at issue."""
    at_issue: dict[tuple, list] = {}
    for f in result.findings:
        acc = at_issue.setdefault((f.carrier, f.account, f.invoice_number), [0, Decimal(0)])
        acc[0] += 1
        acc[1] += f.amount_at_issue
    counts = _lines_per_invoice(result)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(INVOICE_COLUMNS)
        for k, inv in enumerate(result.invoices):
            n, amount = at_issue.get(inv.key, (0, Decimal(0)))
            lines, total = counts.get(k, (0, Decimal(0)))
            values = {**inv.model_dump(), "lines": lines, "lines_total": plain_amount(total),
                      "self_check_failed": "yes" if inv.self_check_failed else "",
                      "findings": n, "amount_at_issue": amount,
                      "copies_set_aside": "; ".join(inv.copies)}
            w.writerow(["" if values[c] is None else _plain(values[c]) for c in INVOICE_COLUMNS])


def _lines_per_invoice(result: AuditResult) -> dict[int, tuple[int, Decimal]]:
    t = result.lines.table
    if "invoice" not in t.column_names or not t.num_rows:
        return {}
    sums = t.select(["invoice", "amount"]).group_by("invoice").aggregate(
        [("amount", "count"), ("amount", "sum")])
    return {r["invoice"]: (r["amount_count"], r["amount_sum"]) for r in sums.to_pylist()}


def _num(v):
    return "" if v is None else str(v)


def write_errors_json(result: AuditResult, path: Path) -> None:
    data = [e.model_dump(exclude_none=True) for e in result.errors]
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
