"""rules.html: what each rule finds and what it does not, from the rules' own docstrings (the
same text as the README's rule table), with each docstring example drawn as small tables.
The report links each finding's rule here."""

from __future__ import annotations

import pathlib

from reconcile.reports.html import JINJA
from reconcile.rules import RULES, Rule
from reconcile.rules.examples import Example

# what the records of each kind are, as a heading over their table, in the order shown
TABLES = {"service": "Inventory", "contract": "Contracts", "order": "Orders",
          "payment": "Payments", "invoice": "Invoices", "line": "Invoice lines"}


def render_glossary(rules: tuple[Rule, ...] = RULES) -> str:
    """The whole glossary as one self-contained HTML document."""
    return JINJA.get_template("rules.html.j2").render(rules=[_rule(r) for r in rules])


def write_glossary(path: pathlib.Path, rules: tuple[Rule, ...] = RULES) -> None:
    pathlib.Path(path).write_text(render_glossary(rules), encoding="utf-8")


def _rule(r: Rule) -> dict:
    return {"id": r.id, "label": r.label, "severity": r.severity.value,
            "summary": _sentence(r.summary), "money": _sentence(r.money_at_issue),
            "examples": [_example(ex) for ex in r.examples]}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _example(ex: Example) -> dict:
    tables: dict[str, dict] = {}
    invoice = ""
    for rec in ex.records:
        fields = dict(rec.fields)
        if rec.kind == "invoice":
            invoice = fields["invoice"]
        elif rec.kind == "line":
            fields = {"invoice": invoice, **fields}  # which bill the line is on
        table = tables.setdefault(rec.kind, {"columns": [], "rows": []})
        table["columns"] += [k for k in fields if k not in table["columns"]]
        table["rows"].append(fields)
    shown = [{"title": TABLES[kind], "columns": tables[kind]["columns"],
              "rows": [[_cell(row.get(c)) for c in tables[kind]["columns"]]
                       for row in tables[kind]["rows"]]}
             for kind in TABLES if kind in tables]
    expected = [[x.rule, x.service_id or "–", x.invoice_number or "–", f"{x.at_issue:.2f}"]
                for x in ex.expected]
    return {"name": ex.name, "is_finding": ex.is_finding, "tables": shown, "expected": expected}


def _cell(value: str | None) -> str:
    if value is None:
        return ""
    return value or "yes"  # a key written alone is a yes/no flag
