"""The HTML report in a real browser (headless Chromium): visible figures, paging, filter, sort,
evidence, and carrier text that stays text."""

from __future__ import annotations

import os
import re
import shutil
from decimal import Decimal

import pytest

from reconcile.core.models import Finding, InvoiceLine, Service, Severity
from reconcile.core.result import AuditResult, Match
from reconcile.reports.html import write_html

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


def _unavailable(reason: str) -> None:
    # CI must run this test; locally a missing browser is only a skip
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium_browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install playwright)")
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        _unavailable("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        yield browser
        browser.close()


def _open(browser, result, tmp_path):
    out = tmp_path / "report.html"
    write_html(result, out)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog opened: {d.message}"), d.dismiss()))
    page.on("request", lambda r: r.url.startswith(("file:", "data:")) or problems.append(f"network: {r.url}"))
    page.goto(out.as_uri())
    return page, problems


@pytest.fixture
def report_page(chromium_browser, report_audit_result, tmp_path):
    page, problems = _open(chromium_browser, report_audit_result, tmp_path)
    yield page
    page.close()
    assert problems == []  # no JS errors, no injected alert, no network


def _at_issue_column(page) -> list[str]:
    return page.locator("#findings tbody.finding tr.main td.at-issue").all_inner_texts()


def test_summary_total_and_explanations_are_visible(report_page):
    from playwright.sync_api import expect

    expect(report_page.get_by_role("heading", name="Telecom bill audit")).to_be_visible()
    expect(report_page.locator("#total-billed")).to_have_text("$2,507.50")
    expect(report_page.locator("#total-at-issue")).to_have_text("$269.50")  # overcharges: 234.50 + 35
    expect(report_page.get_by_text("CKT-999 is billed but is not in the inventory.")).to_be_visible()


def test_filter_box_hides_non_matching_findings(report_page):
    from playwright.sync_api import expect

    rate_row = report_page.locator("#findings tr.main", has_text="contracted rate")
    missing_row = report_page.locator("#findings tr.main", has_text="not in the inventory")
    expect(rate_row).to_be_visible()
    report_page.locator("#finding-filter").fill("ckt-999")
    expect(rate_row).to_be_hidden()
    expect(missing_row).to_be_visible()
    expect(report_page.locator("#shown-count")).to_have_text("Showing 1 of 3 findings")
    report_page.locator("#finding-filter").fill("")
    expect(rate_row).to_be_visible()
    report_page.locator("#rule-filter").select_option("late_fee")
    expect(report_page.locator("#findings tr.main:visible")).to_have_count(1)


def test_clicking_at_issue_header_resorts(report_page):
    assert _at_issue_column(report_page) == ["$450.00", "$234.50", "$35.00"]  # largest first by default
    header = report_page.locator("#findings thead th", has_text="At issue")
    header.click()
    assert _at_issue_column(report_page) == ["$35.00", "$234.50", "$450.00"]
    header.click()
    assert _at_issue_column(report_page) == ["$450.00", "$234.50", "$35.00"]


def test_clicking_a_finding_shows_its_evidence(report_page):
    from playwright.sync_api import expect

    evidence = report_page.get_by_text("inventory.xlsx row 2")
    expect(evidence).to_be_hidden()
    report_page.locator("#findings tr.main", has_text="contracted rate").click()
    expect(evidence).to_be_visible()


def test_a_findings_rule_opens_its_glossary_entry(chromium_browser, tmp_path):
    from playwright.sync_api import expect

    from reconcile.audit import audit_parsed
    from reconcile.core.result import AuditOptions
    from reconcile.reports.outputs import write_all
    from reconcile.rules import RULES

    rule = RULES[0]
    given = next(ex for ex in rule.examples if ex.is_finding).inputs()
    write_all(audit_parsed(given.services, given.invoices, given.lines, AuditOptions()), tmp_path)
    page = chromium_browser.new_page()
    page.goto((tmp_path / "report.html").as_uri())
    page.locator("#findings tr.main a", has_text=rule.id).click()
    expect(page).to_have_url((tmp_path / "rules.html").as_uri() + f"#{rule.id}")
    expect(page.get_by_role("heading", name=rule.label)).to_be_in_viewport()
    page.close()


# --- a result with pages of findings and lines ------------------------------------------------

IMG = "<img src=x onerror=alert(1)>"
END = "</script><script>alert(2)</script>"


@pytest.fixture(scope="module")
def paged_result():
    """250 findings (three pages of 100) in no particular order of money, two of them carrying
    markup in their explanation; 450 lines (five pages, the table starts collapsed)."""
    lines = [InvoiceLine(line_id=i, source=f"bill{i % 3}.csv", row=i + 2, account=f"A{i % 9}",
                         invoice_number=f"INV-{i % 9}", service_id=f"CKT-{i:03d}", description="Port",
                         amount=Decimal(100 + i)) for i in range(450)]
    matches = [Match(0, "exact", 100.0, "identical ID") if i % 10 else Match(None, "none", 0.0, "no inventory service")
               for i in range(450)]
    findings = []
    for k in range(250):
        explanation = IMG if k == 201 else END if k == 202 else f"Finding number {k} on account A{k % 9}."
        findings.append(Finding(
            rule=("unknown-service", "duplicate-charge")[k % 2], severity=Severity.HIGH, carrier="Acme",
            account=f"A{k % 9}", invoice_number=f"INV-{k % 9}", service_id=f"CKT-{k:03d}",
            amount_at_issue=Decimal(k * 37 % 250) + Decimal("0.25"), explanation=explanation,
            evidence={"lines": [{"where": f"bill{j % 3}.csv row {j + 2}", "amount": f"${j}.00"} for j in range(60)],
                      "note": IMG},
            line_ids=[k]))
    return AuditResult(lines=lines, matches=matches, services=[Service(index=0, source="inv.csv", row=2,
                                                                       service_id="CKT-000")], findings=findings)


@pytest.fixture
def paged_page(chromium_browser, paged_result, tmp_path):
    page, problems = _open(chromium_browser, paged_result, tmp_path)
    yield page
    page.close()
    assert problems == []  # no JS errors, no injected alert, no network


def _explanations(page) -> list[str]:
    return page.locator("#findings tbody.finding td.explain").all_inner_texts()


def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


def test_next_page_shows_other_findings(paged_page):
    from playwright.sync_api import expect

    first = _explanations(paged_page)
    assert len(first) == 100
    expect(paged_page.locator("#shown-count")).to_have_text("Showing 250 of 250 findings")
    paged_page.locator('#findings-section .pager >> nth=0 >> button[data-go="next"]').click()
    second = _explanations(paged_page)
    assert len(second) == 100 and not set(first) & set(second)
    expect(paged_page.locator("#findings-section .page-no").first).to_have_value("2")
    paged_page.locator('#findings-section .pager >> nth=1 >> button[data-go="last"]').click()
    third = _explanations(paged_page)
    assert len(third) == 50 and not set(third) & (set(first) | set(second))
    expect(paged_page.locator('#findings-section button[data-go="next"]').first).to_be_disabled()


def test_sorting_by_money_at_issue_orders_every_finding(paged_page, paged_result):
    everything = sorted(f.amount_at_issue for f in paged_result.findings)
    assert [_money(t) for t in _at_issue_column(paged_page)] == everything[::-1][:100]  # largest first
    paged_page.locator("#findings thead th", has_text="At issue").click()  # now smallest first
    seen = [_money(t) for t in _at_issue_column(paged_page)]
    for _ in range(2):
        paged_page.locator('#findings-section button[data-go="next"]').first.click()
        seen += [_money(t) for t in _at_issue_column(paged_page)]
    assert seen == everything  # the three pages, in order, are all findings sorted


def test_filter_narrows_across_pages(paged_page, paged_result):
    from playwright.sync_api import expect

    wanted = {f.explanation for f in paged_result.findings if "account A4." in f.explanation}
    paged_page.locator("#finding-filter").fill("account a4.")
    expect(paged_page.locator("#shown-count")).to_have_text(f"Showing {len(wanted)} of 250 findings")
    assert set(_explanations(paged_page)) == wanted  # from all three pages, on one
    paged_page.locator("#rule-filter").select_option("duplicate-charge")
    odd = {f.explanation for f in paged_result.findings if f.explanation in wanted and f.rule == "duplicate-charge"}
    expect(paged_page.locator("#shown-count")).to_have_text(f"Showing {len(odd)} of 250 findings")
    assert set(_explanations(paged_page)) == odd


def test_clicking_a_finding_on_a_later_page_shows_its_evidence(paged_page):
    from playwright.sync_api import expect

    paged_page.locator('#findings-section button[data-go="last"]').first.click()
    finding = paged_page.locator("#findings tbody.finding").nth(3)
    evidence = finding.locator("tr.evidence")
    expect(evidence).to_be_hidden()
    finding.locator("td.explain").click()
    expect(evidence).to_be_visible()
    expect(evidence.locator("table.grid tbody tr")).to_have_count(20)
    expect(evidence).to_contain_text("… 40 more not shown")
    expect(evidence).to_contain_text("bill2.csv row 4")
    expect(evidence.locator("table.kv td", has_text="onerror")).to_have_text(IMG)  # evidence as text


def test_markup_in_carrier_text_stays_text(paged_page):
    from playwright.sync_api import expect

    for evil in (IMG, END):
        paged_page.locator("#finding-filter").fill(evil)
        expect(paged_page.locator("#shown-count")).to_have_text("Showing 1 of 250 findings")
        expect(paged_page.locator("#findings td.explain")).to_have_text(evil)
        paged_page.locator("#findings tr.main").click()
    assert paged_page.locator("#findings img, #findings script, body > img").count() == 0
    # the page's fixture then asserts that no dialog opened and no script failed


def test_lines_table_pages_filters_and_links_to_findings(paged_page):
    from playwright.sync_api import expect

    rows = paged_page.locator("#lines tbody tr")
    paged_page.locator("#lines-details summary").click()  # 450 lines: collapsed at first
    expect(rows).to_have_count(100)
    expect(rows.first.locator("td").first).to_have_text("bill0.csv row 2")
    paged_page.locator('#lines-section button[data-go="next"]').first.click()
    expect(rows.first.locator("td").first).to_have_text("bill1.csv row 102")
    paged_page.locator("#method-filter").select_option("none")
    expect(paged_page.locator("#lines-count")).to_have_text("Showing 45 of 450 lines")
    paged_page.locator("#line-filter").fill("ckt-440")
    expect(rows).to_have_count(1)
    link = rows.first.locator("td").last.locator("a")
    expect(link).to_have_count(0)  # no finding is about line 440
    paged_page.locator("#line-filter").fill("ckt-230")
    rows.first.locator("td").last.locator("a").click()  # finding 230 is about line 230
    finding = paged_page.locator("#findings tbody.finding.open")
    expect(finding).to_have_count(1)
    expect(finding.locator("td.explain")).to_have_text("Finding number 230 on account A5.")
    expect(finding.locator("tr.evidence")).to_be_visible()


def test_history_of_a_service_is_one_click_from_its_finding_and_bills_are_linked(
        chromium_browser, report_audit_result, tmp_path):
    from playwright.sync_api import expect

    from reconcile.reports.outputs import write_all

    write_all(report_audit_result, tmp_path / "out")
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog opened: {d.message}"), d.dismiss()))
    page.goto((tmp_path / "out" / "report.html").as_uri())
    history = page.locator("#history-section")
    expect(history).to_be_hidden()
    row = page.locator("#findings tr.main", has_text="contracted rate")
    row.locator("a.hist-link").click()
    expect(history).to_be_visible()
    expect(page.locator("#history-title")).to_have_text("CKT-100")
    month = history.locator("tbody tr", has_text="2025-03")
    expect(month).to_have_count(1)
    expect(month.locator("td")).to_have_text(["2025-03", "$1,234.50", "$1,000.00", "$234.50", re.compile("RAT-|rat_")])
    month.locator("a").click()  # the month's finding, opened
    expect(page.locator("#findings tbody.open")).to_have_count(1)
    row.locator("a.bill-link").click()
    expect(page.get_by_role("heading", name="Invoice INV-1")).to_be_visible()
    expect(page.locator("tr.line")).to_have_count(3)
    expect(page.locator("#arithmetic")).to_contain_text("$2,484.50")
    late = tmp_path / "out" / "bills" / "INV-2.html"
    page.goto(late.as_uri())
    expect(page.get_by_text("Late fee charged <script>alert(1)</script>").first).to_be_visible()
    page.close()
    assert problems == []
