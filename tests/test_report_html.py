"""The HTML report, read as text: the figures, explanations and safety a finance manager relies on.

The findings and lines tables travel as a JSON block the page's script draws; `page_data` reads
it back and `evidence_of` decodes a finding's evidence tokens as the script does."""

from __future__ import annotations

import html
import json
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from reconcile.core.lines import LINE_SCHEMA, MONEY, Lines
from reconcile.core.models import Category, Finding, InvoiceLine, Service, Severity
from reconcile.core.result import AuditResult, Match
from reconcile.reports import html as report
from reconcile.reports.html import render_html, write_html

GENERATED = datetime(2025, 4, 1, 9, 30)
XSS = "<script>alert(1)</script>"  # same text the report_audit_result fixture plants
DATA_BLOCK = re.compile(r'<script type="application/json" id="report-data">(.*?)</script>', re.S)


def page_data(page: str) -> dict:
    blocks = DATA_BLOCK.findall(page)
    assert len(blocks) == 1
    return json.loads(blocks[0])


def findings_of(data: dict) -> list[dict]:
    """The findings as the page lists them, their texts looked up."""
    F, S = data["findings"], data["s"]
    return [{"id": F["id"][r], "explanation": F["explanation"][r],
             **{name: S[F[name][r]] for name in report.FINDING_FIELDS}}
            for r in range(len(F["id"]))]


def evidence_of(data: dict, row: int):
    """A finding's evidence decoded from its tokens, as report.js does: texts, dicts, lists of
    row dicts (grids), lists, and {"more": n} after a trimmed list."""
    F, S = data["findings"], data["s"]
    tokens, at = F["tokens"], [F["evidence"][row]]

    def take() -> int:
        at[0] += 1
        return tokens[at[0] - 1]

    def count() -> int:
        return report.COUNT - take()

    def text() -> str:
        k = take()
        return S[k] if k != report.JOIN else S[take()] + S[take()]

    def node():
        kind = tokens[at[0]]
        if kind >= 0 or kind == report.JOIN:
            return text()
        take()
        if kind == report.KV:
            return {S[k]: node() for k in F["shapes"][count()]}
        if kind == report.GRID:
            columns = [S[c] for c in F["shapes"][count()]]
            n, more = count(), count()
            rows = [{c: text() for c in columns} for _ in range(n)]
            return rows + ([{"more": more}] if more else [])
        n, more = count(), count()
        return [node() for _ in range(n)] + ([{"more": more}] if more else [])

    return node()


def lines_of(data: dict) -> list[dict]:
    L, S = data["lines"], data["s"]
    return [{**{name: S[L[name][r]] for name in report.LINE_REFS},
             "row": L["row"][r], "page": L["page"][r], "inferred": L["inferred"][r]} for r in range(L["n"])]


def test_summary_figures_are_formatted_as_money(report_audit_result):
    page = render_html(report_audit_result, generated_at=GENERATED)
    assert "Telecom bill audit" in page
    assert "Generated 2025-04-01 09:30" in page
    assert 'id="total-billed">$2,507.50<' in page  # 1,234.50 + 800 + 450 + 35 - 12
    assert 'id="total-at-issue">$269.50<' in page  # overcharges 234.50 + 35, not the unverified 450
    assert "$2,484.50" in page  # billed on account 1001, from by_account()
    assert "-$12.00" in [ln["amount"] for ln in lines_of(page_data(page))]  # sign before the dollar


def test_every_explanation_and_input_problem_appears(report_audit_result):
    page = render_html(report_audit_result)
    shown = {f["id"]: f["explanation"] for f in findings_of(page_data(page))}
    assert shown == {f.id: f.explanation for f in report_audit_result.findings}
    for text in ("verizon_march.pdf", "page 3", "table has no amount column", "page skipped"):
        assert text in page
    assert "<details id=\"notes\">" in page and "read as monthly_rate" in page


def test_findings_are_largest_first_with_every_column(report_audit_result):
    rows = findings_of(page_data(render_html(report_audit_result)))
    # fixture order is 234.50, 450.00, 35.00; the report lists 450.00, 234.50, 35.00
    assert [r["at_issue"] for r in rows] == ["$450.00", "$234.50", "$35.00"]
    rate = rows[1]
    assert rate["rule"] == "rate_mismatch" and rate["severity"] == "medium"
    assert (rate["carrier"], rate["account"], rate["invoice"], rate["date"]) == ("Acme", "1001", "INV-1", "2025-03-01")
    assert (rate["service"], rate["matched"], rate["start"], rate["end"]) == (
        "CKT-100", "CKT-100", "2025-03-01", "2025-03-31")
    assert (rate["billed"], rate["expected"]) == ("$1,234.50", "$1,000.00")


def test_untrusted_text_is_escaped(report_audit_result):
    page = render_html(report_audit_result)
    assert XSS not in page
    assert page.count("</script") == 2  # the data block's and the script's own end tags
    data = page_data(page)
    assert any(XSS in f["explanation"] for f in findings_of(data))
    assert evidence_of(data, 0)["note"] == XSS  # not_in_inventory, first by money at issue


@pytest.mark.parametrize("evil", ["</script><script>alert(1)</script>", "</SCRIPT >x", "<!--<script>",
                                  "a & b < c > d", "\u2028\u2029 line separators", "]]> \\u003c"])
def test_carrier_text_cannot_break_out_of_the_data_block(evil):
    line = InvoiceLine(line_id=0, source="a.csv", row=2, account=evil, invoice_number="I",
                       description=evil, amount=Decimal("1"))
    finding = Finding(rule="r", severity=Severity.LOW, explanation=evil, service_id=evil,
                      evidence={evil: evil, "lines": [{"where": f"{evil} row 3", "x": evil}]})
    page = render_html(AuditResult(lines=[line], matches=[Match(None, "none", 0.0, evil)], findings=[finding]))
    assert page.count("</script") + page.count("</SCRIPT") == 2
    assert "<!--" not in page.split('id="report-data">', 1)[1]
    data = page_data(page)
    f = findings_of(data)[0]
    assert f["explanation"] == evil and f["service"] == evil
    assert evidence_of(data, 0) == {evil: evil, "lines": [{"where": f"{evil} row 3", "x": evil}]}
    ln = lines_of(data)[0]
    assert ln["account"] == evil and ln["description"] == evil and ln["reason"] == evil


def test_report_is_self_contained(report_audit_result):
    page = render_html(report_audit_result)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.IGNORECASE)
    assert not re.search(r"<link\b|@import|url\(|https?://", page, re.IGNORECASE)
    assert "<style>" in page and "<svg" in page  # CSS and chart are inline
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page  # rows are text nodes


def test_evidence_keeps_its_tables(report_audit_result):
    data = page_data(render_html(report_audit_result))
    rate = evidence_of(data, 1)  # rate_mismatch is second by money at issue
    assert rate["inventory_row"]["inventory_row"] == "inventory.xlsx row 2"  # a dict stays a table
    assert rate["lines"] == [{"where": "acme_march.csv row 2", "amount": "1234.50"}]  # a grid
    late = evidence_of(data, 2)
    assert late == {"lines": "3", "nested": {"deep": {"list": [{"a": "1, 2"}, "x"]}}}


def test_lines_table_is_capped_with_a_plain_message(report_audit_result, monkeypatch):
    monkeypatch.setattr(report, "MAX_LINES_IN_HTML", 2)
    page = render_html(report_audit_result)
    assert ("Showing the first 2 of 5 lines; the other 3 are not shown here. "
            "All lines are in lines.csv.") in page
    assert [ln["row"] for ln in lines_of(page_data(page))] == [2, 3]


def test_no_cap_message_when_all_lines_fit(report_audit_result):
    page = render_html(report_audit_result)
    assert "All lines are in lines.csv" not in page
    lines = lines_of(page_data(page))
    assert [ln["source"] for ln in lines] == ["acme_march.csv"] * 5
    assert lines[2]["reason"] == "no inventory service; nearest: CKT-100 (61)"
    assert (lines[1]["matched"], lines[1]["method"], lines[1]["score"]) == ("CKT-200", "fuzzy", "93")
    assert (lines[0]["start"], lines[0]["end"], lines[0]["amount"]) == ("2025-03-01", "2025-03-31", "$1,234.50")
    assert lines[3]["score"] == "" and lines[3]["matched"] == ""


def test_empty_audit_renders():
    page = render_html(AuditResult())
    assert "No findings" in page and "No invoice lines were read" in page
    assert 'id="total-billed">$0.00<' in page
    assert page_data(page)["lines"]["n"] == 0


def test_negative_zero_is_not_shown_as_dollar_minus_zero():
    ln = InvoiceLine(line_id=0, source="a.csv", row=2, account="1", invoice_number="I", amount=Decimal("-0.001"))
    f = Finding(rule="r", severity=Severity.LOW, explanation="x", billed_amount=Decimal("-0.001"))
    page = render_html(AuditResult(lines=[ln], matches=[Match(None, "none", 0.0, "")], findings=[f]))
    assert "$-0.00" not in page and "-$0.00" not in page


def test_write_html_writes_utf8_file(report_audit_result, tmp_path):
    out = tmp_path / "out" / "report.html"
    write_html(report_audit_result, out)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_evidence_handles_odd_values():
    deep: dict = {}
    node = deep
    for _ in range(20):
        node["x"] = {}
        node = node["x"]
    odd = {1: {"a", "b"}, "when": date(2025, 3, 1), "amt": Decimal("1E+2"), "deep": deep,
           "mixed": [{"a": 1}, [1, 2], None], "long": list(range(500)), "empty": {}, "none": [],
           "text": "y" * 5000, "ragged": [{"a": 1}, {"b": 2}]}
    page = render_html(AuditResult(findings=[Finding(rule="r", severity=Severity.LOW, explanation="x",
                                                     evidence=odd)]))
    ev = evidence_of(page_data(page), 0)
    assert ev["1"] == "a, b" and ev["amt"] == "100" and ev["when"] == "2025-03-01"
    assert ev["long"].endswith("19, … 480 more")
    assert ev["mixed"] == [{"a": "1"}, "1, 2", ""]
    assert ev["empty"] == {} and ev["none"] == ""
    assert ev["text"] == "y" * report.EVIDENCE_CHARS + "… 4,500 more characters"
    assert ev["ragged"] == [{"a": "1", "b": ""}, {"a": "", "b": "2"}]
    inner = ev["deep"]
    for _ in range(report.EVIDENCE_DEPTH - 1):
        inner = inner["x"]
    assert isinstance(inner, str)  # deeper than EVIDENCE_DEPTH: shown as text


def test_lines_are_read_from_the_table_not_as_records(report_audit_result, monkeypatch):
    def refuse(*_):
        raise AssertionError("report.html must read the lines' columns, not build line records")

    monkeypatch.setattr(Lines, "__iter__", refuse)
    monkeypatch.setattr(Lines, "__getitem__", refuse)
    assert len(lines_of(page_data(render_html(report_audit_result)))) == 5


# --- a large result: bounds -----------------------------------------------------------------


def large_result(n_lines: int, n_findings: int) -> AuditResult:
    """A batch table with the pipeline's columns, built with pyarrow, and findings whose
    evidence lists 60 lines each."""
    rng = np.random.default_rng(3)
    services = [Service(index=k, source="inventory.xlsx", row=k + 2, service_id=f"CKT-{k:05d}", account=f"A{k % 50}")
                for k in range(500)]
    svc = rng.integers(0, len(services), n_lines)
    method = rng.choice(3, n_lines, p=[0.9, 0.05, 0.05])

    def text(indices, values):
        return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, np.int32)), pa.array(values, pa.string()))

    month = date(2025, 3, 1)
    table = pa.table({
        "key": pa.array([f"k{i}" for i in range(n_lines)]),
        "source": text(svc % 7, [f"/audits/acme/bill{k}.csv" for k in range(7)]),
        "row": pa.array(np.arange(n_lines, dtype=np.int32) + 2), "page": pa.nulls(n_lines, pa.int32()),
        "carrier": text(np.zeros(n_lines), ["Acme"]), "account": text(svc % 50, [f"A{k}" for k in range(50)]),
        "invoice_number": text(svc % 50, [f"INV-{k}" for k in range(50)]),
        "invoice_date": pa.array([month] * n_lines, pa.date32()),
        "service_id": text(svc, [s.service_id for s in services]), "description": text(np.zeros(n_lines), ["Port"]),
        "charge_type": text(np.zeros(n_lines), ["recurring"]),
        "period_start": pa.array([month] * n_lines, pa.date32()),
        "period_end": pa.array([month + timedelta(days=30)] * n_lines, pa.date32()),
        "period_inferred": pa.array(np.zeros(n_lines, bool)), "quantity": pa.nulls(n_lines, MONEY),
        "unit_price": pa.nulls(n_lines, MONEY),
        "amount": pa.array([Decimal("12.50"), Decimal("-3.00")], MONEY).take(pa.array(svc % 2)),
        "section": text(np.zeros(n_lines), [""]),
    }, schema=LINE_SCHEMA)
    table = table.append_column("line_id", pa.array(np.arange(n_lines, dtype=np.int64)))
    table = table.append_column("service", pa.array(svc.astype(np.int32), mask=method > 0))
    table = table.append_column("match_method", text(method, ["exact", "none", "account-level"]))
    table = table.append_column("match_score", pa.array(np.where(method == 0, 100.0, 0.0), pa.float32()))
    table = table.append_column("match_reason", text(method, ["identical ID", "no inventory service", "account"]))
    findings = []
    for k in range(n_findings):
        first = k * 7 % n_lines
        lines = [{"where": f"/audits/acme/bill{j % 7}.csv row {first + j + 2}", "invoice": f"INV-{j % 50}",
                  "amount": "$12.50"} for j in range(60)]
        findings.append(Finding(
            rule="unknown-service", severity=Severity.HIGH, carrier="Acme", account=f"A{k % 50}",
            invoice_number=f"INV-{k % 50}", service_id=f"X-{k}", amount_at_issue=Decimal(k) / 4,
            explanation=f"X-{k} was billed but is not in the inventory.",
            evidence={"lines": lines, "inventory": services[k % 500].evidence()},
            line_ids=list(range(first, first + 60))))
    return AuditResult(lines=table, services=services, findings=findings)


def test_a_large_result_is_bounded():
    result = large_result(30_000, 3_000)
    page = render_html(result)
    size = len(page.encode("utf-8"))
    # 20,000 lines at ~40 bytes and 3,000 findings at ~1 KB (20 of their 60 evidence lines)
    assert size < 4_000_000, f"{size:,} bytes"
    data = page_data(page)
    assert data["lines"]["n"] == report.MAX_LINES_IN_HTML == 20_000
    assert ("Showing the first 20,000 of 30,000 lines; the other 10,000 are not shown here. "
            "All lines are in lines.csv.") in page
    rows = findings_of(data)
    assert {r["id"] for r in rows} == {f.id for f in result.findings}  # every finding is there
    assert all(f.id in page for f in result.findings)
    assert [r["at_issue"] for r in rows[:2]] == ["$749.75", "$749.50"]  # largest first
    assert page.count('"/audits/acme/bill0.csv"') == 1 and "bill0.csv row" not in page  # a file is named once
    ev = evidence_of(data, 0)
    assert len(ev["lines"]) == report.EVIDENCE_ITEMS + 1 and ev["lines"][-1] == {"more": 40}
    assert ev["lines"][0] == {"where": "/audits/acme/bill0.csv row 20995", "invoice": "INV-0",
                              "amount": "$12.50"}
    lines = lines_of(data)
    assert lines[19_999]["row"] == 20_001
    flagged = [ln["findings"] for ln in lines if ln["findings"]]
    assert flagged and all(re.fullmatch(r"UNK-\w+( UNK-\w+)*", ids) for ids in flagged)


# --- the rule glossary (rules.html) -----------------------------------------------------------


def test_each_findings_rule_links_to_its_glossary_entry(report_audit_result):
    page = render_html(report_audit_result)
    for f in report_audit_result.findings:
        assert page.count(f'href="rules.html#{f.rule}"') == 1  # summary table (findings: drawn by the script)
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


def test_the_report_says_which_rules_the_inventory_did_not_let_run(tmp_path):
    from reconcile.audit import run_audit
    from reconcile.reports.html import render_html

    bills = tmp_path / "bills"
    bills.mkdir()
    (bills / "b.csv").write_text("Account Number,Invoice Number,Invoice Date,Circuit ID,Amount\n"
                                 "8310,INV-1,2025-04-01,12.HCGS.123456..LY,450.00\n")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,Account\n12.HCGS.123456..LY,8310\n")  # no rate, no dates
    page = render_html(run_audit([bills], inventory, workers=1))
    assert 'id="not-checked"' in page
    assert "rate-above-contract" in page.split('id="not-checked"')[1].split("</ul>")[0]
