"""The HTML report a finance manager reads: one self-contained file, summary first.

Everything the template shows is prepared here as plain text (money formatted, dates as
ISO) so the template stays layout only. Jinja autoescapes every value: carrier files and
inventories are untrusted text.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import jinja2
from pydantic import BaseModel

from reconcile.core.models import Finding, InvoiceLine
from reconcile.core.result import AuditResult
from reconcile.core.values import CENT, money

GLOSSARY_FILE = "rules.html"  # the rule glossary beside the report (reports/glossary.py)
MAX_LINES_IN_HTML = 5_000  # beyond this the page gets slow; lines.csv has them all
MAX_ERRORS_IN_HTML = 1_000
LINES_OPEN_UP_TO = 200  # bigger line tables start collapsed so printing stays short
_EVIDENCE_DEPTH = 6  # nesting deeper than this is shown as text
_EVIDENCE_ITEMS = 100  # list items shown per list in the evidence

_TEMPLATES = pathlib.Path(__file__).parent / "templates"
JINJA = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,  # select_autoescape would miss the .html.j2 suffix
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_html(result: AuditResult, *, generated_at: datetime | None = None) -> str:
    """The whole report as one HTML document (inline CSS and JS, no network)."""
    generated_at = generated_at or datetime.now().astimezone()
    findings = sorted(result.findings, key=lambda f: -f.amount_at_issue)  # stable for ties
    by_rule = result.by_rule()
    accounts = result.by_account()
    shown_lines = result.lines[:MAX_LINES_IN_HTML]
    return JINJA.get_template("report.html.j2").render(
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        tolerance=_money(result.options.tolerance),
        threshold=f"{result.options.match_threshold:g}",
        result=result,
        total_billed=_money(result.total_billed),
        total_at_issue=_money(result.total_at_issue),
        rules=[
            {"rule": rule, "count": n, "at_issue": _money(amt)}
            for rule, (n, amt) in sorted(by_rule.items(), key=lambda kv: -kv[1][1])
        ],
        chart=_bar_chart(by_rule),
        accounts=[
            {"carrier": c, "account": a, "count": n, "at_issue": _money(amt), "billed": _money(billed)}
            for (c, a), (n, amt, billed) in sorted(accounts.items(), key=lambda kv: -kv[1][1])
        ],
        account_choices=sorted({_account_label(f.carrier, f.account) for f in findings}),
        findings=[_finding_row(f) for f in findings],
        errors=result.errors[:MAX_ERRORS_IN_HTML],
        max_errors=MAX_ERRORS_IN_HTML,
        lines=[_line_row(result, i, ln) for i, ln in enumerate(shown_lines)],
        lines_open=len(result.lines) <= LINES_OPEN_UP_TO,
        max_lines=MAX_LINES_IN_HTML,
        glossary=GLOSSARY_FILE,
    )


def write_html(result: AuditResult, path: pathlib.Path, *, generated_at: datetime | None = None) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, generated_at=generated_at), encoding="utf-8")


def _money(v: Decimal | None) -> str:
    if v is not None and v.quantize(CENT) == 0:
        v = abs(v)  # -0.001 would otherwise read "$-0.00"
    return money(v)


def _account_label(carrier: str, account: str) -> str:
    return f"{carrier} {account}".strip()


def _period(start: date | None, end: date | None) -> tuple[str, str] | None:
    """(start, end) as ISO text; the template keeps each date on one line."""
    if not start and not end:
        return None
    return (start.isoformat() if start else "?", end.isoformat() if end else "?")


def _finding_row(f: Finding) -> dict:
    return {
        "f": f,
        "severity": f.severity.value,
        "date": f.invoice_date.isoformat() if f.invoice_date else "",
        "period": _period(f.period_start, f.period_end),
        "account_label": _account_label(f.carrier, f.account),
        "billed": _money(f.billed_amount),
        "expected": _money(f.expected_amount),
        "at_issue": _money(f.amount_at_issue),
        "evidence": evidence_tree(f.evidence),
    }


def _line_row(result: AuditResult, i: int, ln: InvoiceLine) -> dict:
    m = result.matches[i] if i < len(result.matches) else None
    svc = _service_id(result, m.service) if m else ""
    reason = m.reason if m else "not matched"
    if m and m.candidates:
        near = ", ".join(f"{_service_id(result, idx)} ({score:.0f})" for idx, score in m.candidates)
        reason = f"{reason}; nearest: {near}" if reason else f"nearest: {near}"
    return {
        "ln": ln,
        "charge_type": getattr(ln.charge_type, "value", ln.charge_type),
        "period": _period(ln.period_start, ln.period_end),
        "amount": _money(ln.amount),
        "service": svc,
        "method": m.method if m else "",
        "score": f"{m.score:.0f}" if m and (m.score or m.method in ("exact", "fuzzy")) else "",
        "reason": reason,
    }


def _service_id(result: AuditResult, index: int | None) -> str:
    if index is None or not 0 <= index < len(result.services):
        return ""
    return result.services[index].service_id


# --- chart ----------------------------------------------------------------------------------


def _bar_chart(by_rule: dict[str, tuple[int, Decimal]]) -> dict | None:
    """Geometry for an inline-SVG horizontal bar chart of money at issue by rule."""
    rows = sorted(by_rule.items(), key=lambda kv: -kv[1][1])
    top = max((amt for _, (_, amt) in rows), default=Decimal("0"))
    if top <= 0:
        return None
    label_w, bar_area, value_w, row_h = 200, 300, 140, 26
    bars = []
    for i, (rule, (n, amt)) in enumerate(rows):
        width = (max(amt, Decimal("0")) / top * bar_area).quantize(Decimal("0.1"))
        label = rule if len(rule) <= 30 else rule[:29] + "…"
        bars.append({"y": i * row_h, "width": str(width), "value_x": str(label_w + width + 6),
                     "label": label, "rule": rule, "value": f"{_money(amt)} ({n})"})
    return {"bars": bars, "width": label_w + bar_area + value_w, "height": len(rows) * row_h + 4,
            "label_x": label_w - 8, "bar_x": label_w}


# --- evidence -------------------------------------------------------------------------------


@dataclass
class EvidenceNode:
    """A piece of evidence ready to show: text, key/value table, grid (list of flat dicts) or list."""

    kind: str  # "text" | "kv" | "grid" | "list"
    text: str = ""
    pairs: list[tuple[str, EvidenceNode]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[EvidenceNode] = field(default_factory=list)
    more: int = 0  # items left out of a long list


def evidence_tree(value: object, depth: int = 0) -> EvidenceNode:
    """Turn whatever a rule put in `evidence` into nodes; never raises on odd values."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if depth >= _EVIDENCE_DEPTH:
        return EvidenceNode("text", text=_scalar_text(value))
    if isinstance(value, dict):
        return EvidenceNode("kv", pairs=[(str(k), evidence_tree(v, depth + 1)) for k, v in value.items()])
    if isinstance(value, (list, tuple, set, frozenset)):
        items = list(value) if not isinstance(value, (set, frozenset)) else sorted(value, key=str)
        shown, more = items[:_EVIDENCE_ITEMS], max(0, len(items) - _EVIDENCE_ITEMS)
        if shown and all(isinstance(x, dict) and all(_is_scalar(v) for v in x.values()) for x in shown):
            flat = [{str(k): v for k, v in x.items()} for x in shown]
            columns = list(dict.fromkeys(k for x in flat for k in x))
            rows = [[_scalar_text(x.get(c)) for c in columns] for x in flat]
            return EvidenceNode("grid", columns=columns, rows=rows, more=more)
        if all(_is_scalar(x) for x in shown):
            return EvidenceNode("text", text=", ".join(_scalar_text(x) for x in shown)
                                + (f", … {more} more" if more else ""))
        return EvidenceNode("list", items=[evidence_tree(x, depth + 1) for x in shown], more=more)
    return EvidenceNode("text", text=_scalar_text(value))


def _is_scalar(v: object) -> bool:
    return not isinstance(v, (dict, list, tuple, set, frozenset, BaseModel))


def _scalar_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return f"{v:f}"  # exact, never scientific notation
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
