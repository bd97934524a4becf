"""The HTML report, read as text: the figures, explanations and safety a finance manager relies on."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from decimal import Decimal

from reconcile.core.models import Category, Finding, InvoiceLine, Severity
from reconcile.core.result import AuditResult, Match
from reconcile.reports import html as report
from reconcile.reports.html import evidence_tree, render_html, write_html

GENERATED = datetime(2025, 4, 1, 9, 30)
XSS = "<script>alert(1)</script>"  # same text the report_audit_result fixture plants


def _lines_table(page: str) -> str:
    return page.split('id="lines"', 1)[1].split("</table>", 1)[0]


def test_summary_figures_are_formatted_as_money(report_audit_result):
    page = render_html(report_audit_result, generated_at=GENERATED)
    assert "Telecom bill audit" in page
    assert "Generated 2025-04-01 09:30" in page
    assert 'id="total-billed">$2,507.50<' in page  # 1,234.50 + 800 + 450 + 35 - 12
    assert 'id="total-at-issue">$269.50<' in page  # overcharges 234.50 + 35, not the unverified 450
    assert "$2,484.50" in page  # billed on account 1001, from by_account()
    assert "-$12.00" in page  # credits read as negatives, sign before the dollar


def test_every_explanation_and_input_problem_appears(report_audit_result):
    page = render_html(report_audit_result)
    for f in report_audit_result.findings:
        assert html.escape(f.explanation, quote=False) in page
    for text in ("verizon_march.pdf", "page 3", "table has no amount column", "page skipped"):
        assert text in page
    assert "<details id=\"notes\">" in page and "read as monthly_rate" in page


def test_findings_are_largest_first_with_raw_numbers_for_sorting(report_audit_result):
    page = render_html(report_audit_result)
    positions = [page.index(f"finding-{f.id}") for f in report_audit_result.findings]
    # fixture order is 234.50, 450.00, 35.00; the report shows 450.00, 234.50, 35.00
    assert positions[1] < positions[0] < positions[2]
    assert 'data-sort="234.50"' in page and 'data-sort="1234.50"' in page


def test_untrusted_text_is_escaped(report_audit_result):
    page = render_html(report_audit_result)
    assert XSS not in page
    assert html.escape(XSS, quote=False) in page  # in the explanation and in the evidence
    assert page.count(html.escape(XSS, quote=False)) >= 2


def test_report_is_self_contained(report_audit_result):
    page = render_html(report_audit_result)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<link\b|@import|url\(", page, re.IGNORECASE)
    assert "<style>" in page and "<svg" in page  # CSS and chart are inline


def test_evidence_is_shown_as_tables(report_audit_result):
    page = render_html(report_audit_result)
    assert "inventory.xlsx row 2" in page  # the inventory_row dict
    assert '<table class="grid">' in page  # the "lines" list of dicts
    assert ">deep<" in page  # nested dicts are walked


def test_lines_table_is_capped_with_a_plain_message(report_audit_result, monkeypatch):
    monkeypatch.setattr(report, "MAX_LINES_IN_HTML", 2)
    page = render_html(report_audit_result)
    assert "Showing the first 2 of 5 lines; all lines are in lines.csv." in page
    assert _lines_table(page).count("acme_march.csv row") == 2


def test_no_cap_message_when_all_lines_fit(report_audit_result):
    page = render_html(report_audit_result)
    assert "all lines are in lines.csv" not in page
    assert _lines_table(page).count("acme_march.csv row") == 5
    assert "no inventory service; nearest: CKT-100 (61)" in page


def test_empty_audit_renders():
    page = render_html(AuditResult())
    assert "No findings" in page and "No invoice lines were read" in page
    assert 'id="total-billed">$0.00<' in page


def test_negative_zero_is_not_shown_as_dollar_minus_zero():
    ln = InvoiceLine(line_id=0, source="a.csv", row=2, account="1", invoice_number="I", amount=Decimal("-0.001"))
    f = Finding(rule="r", severity=Severity.LOW, explanation="x", billed_amount=Decimal("-0.001"))
    page = render_html(AuditResult(lines=[ln], matches=[Match(None, "none", 0.0, "")], findings=[f]))
    assert "$-0.00" not in page and "-$0.00" not in page


def test_write_html_writes_utf8_file(report_audit_result, tmp_path):
    out = tmp_path / "out" / "report.html"
    write_html(report_audit_result, out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_evidence_tree_handles_odd_values():
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    odd = {1: {"a", "b"}, "when": date(2025, 3, 1), "amt": Decimal("1E+2"), "deep": deep,
           "mixed": [{"a": 1}, [1, 2], None], "long": list(range(500))}
    tree = evidence_tree(odd)
    assert tree.kind == "kv"
    values = dict(tree.pairs)
    assert values["amt"].text == "100" and values["when"].text == "2025-03-01"
    assert values["long"].text.endswith("… 400 more")
    render_html(AuditResult(findings=[Finding(rule="r", severity=Severity.LOW, explanation="x", evidence=odd)]))


# --- the rule glossary (rules.html) -----------------------------------------------------------


def test_each_findings_rule_links_to_its_glossary_entry(report_audit_result):
    page = render_html(report_audit_result)
    for f in report_audit_result.findings:
        assert page.count(f'href="rules.html#{f.rule}"') == 2  # summary table and findings table
    assert 'href="rules.html" id="glossary-link"' in page


def test_glossary_shows_every_rule_with_its_examples_as_tables():
    from markupsafe import escape

    from reconcile.reports.glossary import render_glossary
    from reconcile.rules import RULES

    page = render_glossary()
    for rule in RULES:
        section = page.split(f'<section id="{rule.id}">', 1)[1].split("</section>", 1)[0]
        assert escape(rule.label) in section and f"<code class=\"muted\">{rule.id}</code>" in section
        assert escape(rule.summary[1:]) in section
        assert escape(rule.money_at_issue[1:]) in section
        for ex in rule.examples:
            assert escape(ex.name) in section, ex.title
        assert section.count('<table class="grid">') >= 2 * len(rule.examples)  # records, findings
    assert page.count(">Not a finding</span>") == sum(not ex.is_finding for r in RULES for ex in r.examples)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<link\b|<script|@import|url\(", page, re.IGNORECASE)


def test_glossary_escapes_what_it_shows():
    from types import ModuleType

    from reconcile.reports.glossary import render_glossary
    from reconcile.rules import Rule
    from reconcile.rules.examples import parse_examples

    examples = parse_examples(f"""
Example: {XSS}::

    invoice | 1 | account A | billed 2025-01-01
    line | - | tax | - | 1.00 | {XSS}
    expect | r | - | 1 | 1.00
""")
    rule = Rule(id="r", module=ModuleType("r"), severity=Severity.LOW, category=Category.RISK,
                precedence=1,
                summary=XSS, money_at_issue=XSS, examples=examples)
    page = render_glossary((rule,))
    assert XSS not in page and page.count(html.escape(XSS, quote=False)) >= 4
