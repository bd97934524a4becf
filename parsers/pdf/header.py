"""Header and account-summary fields: `Label: value`, `Label  value`, or stacked boxes.

The label comes first in its cell (longest label wins, so "Invoice Date" is not read as
"Invoice"); its value is the rest of that cell, else the next cell, else the cell just
below it on the next line. Values are checked by kind, so "Account Summary" is no account.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from reconcile.parsers.pdf.layout import Layout
from reconcile.parsers.pdf.lines import MONEY, Line
from reconcile.parsers.columns import norm_header
from reconcile.core.values import parse_date, parse_money

MONEY_FIELDS = {"previous_balance", "payments", "adjustments", "current_charges", "amount_due"}
DATE_FIELDS = {"invoice_date", "due_date"}
_LEADER = re.compile(r"^[.\s_-]*$")  # dotted leaders between a label and its value
_MAX_LABEL_WORDS = 5
# normalised label (see norm_header) -> field, for labels the layouts don't list
_LABEL_WORDS = [(re.compile(rx), f) for rx, f in [
    (r"^[a-z]{0,12}(?:account|acct)(?:number|no|id)$", "account"),
    (r"^[a-z]{0,12}(?:invoice|bill|statement)(?:number|no|id|reference|ref)$", "invoice_number"),
    (r"^[a-z]{0,8}(?:invoice|bill|billing|statement)date$", "invoice_date"),
    (r"^(?:[a-z]{0,12}due(?:date|by|on)?|[a-z]{0,12}payby)$", "due_date"),
]]


def label_at(text: str, layout: Layout) -> tuple[str, str] | None:
    """(field, rest of the cell) when the cell starts with a known label."""
    words = text.split()
    labels = layout.label_index
    for k in range(min(_MAX_LABEL_WORDS, len(words)), 0, -1):
        key = norm_header(" ".join(words[:k]))
        f = labels.get(key) or _label_by_words(key)
        if f:
            return f, " ".join(words[k:]).lstrip(":#-. ").strip()
    return None


def _label_by_words(key: str) -> str | None:
    """Labels no list has, by their words: 'Customer Acct No', 'Statement Date'."""
    for pattern, f in _LABEL_WORDS:
        if pattern.match(key):
            return f
    return None


def line_fields(line: Line, below: Line | None, layout: Layout) -> dict[str, object]:
    """Header fields printed on this line, already parsed (dates, Decimal)."""
    found: dict[str, object] = {}
    for f, rxs in layout.patterns.items():
        for rx in rxs:
            m = rx.search(line.text)
            if m:
                v = typed(f, m.group(1).strip(), layout)
                if v is not None:
                    found.setdefault(f, v)
    cells = [c for c in line.cells if not _LEADER.match(c.text)]
    for i, c in enumerate(cells):
        hit = label_at(c.text, layout)
        if hit is None:
            continue
        f, rest = hit
        candidates = [rest] if rest else []
        if i + 1 < len(cells) and label_at(cells[i + 1].text, layout) is None:
            candidates.append(cells[i + 1].text)
        if below is not None:
            candidates.extend(b.text for b in below.cells if b.x0 < c.x1 and b.x1 > c.x0)
        for value in candidates:
            v = typed(f, value, layout)
            if v is not None:
                found.setdefault(f, v)
                break
    return found


def typed(f: str, value: str, layout: Layout) -> object | None:
    """The value as its field's kind, or None when it isn't one (a label seen in passing)."""
    if f in MONEY_FIELDS:
        if not MONEY.match(value):
            return None
        return parse_money(value)
    if f in DATE_FIELDS:
        return read_date(value, layout)
    if f in ("account", "invoice_number"):
        value = value.split()[0] if len(value.split()) > 1 and f == "invoice_number" else value
        return value if any(ch.isdigit() for ch in value) and len(value) <= 40 else None
    return value or None


def read_date(text: str, layout: Layout) -> date | None:
    for fmt in layout.date_formats:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    try:
        return parse_date(text)
    except ValueError:
        return None


def money_sum(*values: Decimal | None) -> Decimal:
    return sum((v for v in values if v is not None), Decimal(0))
