"""`reconcile explain`: every line of a bill in plain words, from a past run's folder alone.

A generated scenario (fixtures/scenario.py) is audited and its reports written; then the
scenario's files are deleted, and each bill carrying a planted error is explained from the
run folder: every charge the generator put on the bill is listed once, the lines add up to
what the bill states (or the explanation says by how much they don't), and each planted error
sits on its line with its finding's sentence.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

from fixtures.scenario import generate
from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.core.ids import service_key
from reconcile.core.models import Category, ChargeType, Finding, Invoice, InvoiceLine, Service, Severity
from reconcile.core.result import AuditResult, Match
from reconcile.reports.bill_page import BILLS_DIR, page_names, write_bill_pages
from reconcile.reports.explain import ASK, RIGHT, WRONG, explain_bill, verdict_sentence
from reconcile.reports.outputs import write_all
from reconcile.reports.run_folder import load_bill

# rules whose findings are about lines (the rest are about a bill as a whole)
LINE_RULES = {"rate-above-contract", "out-of-term-rate", "billed-after-disconnect",
              "billed-before-install", "missing-disconnect-credit", "duplicate-charge",
              "unknown-service"}
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    """(scenario, run folder): audited and written, then the scenario's files deleted."""
    src = tmp_path_factory.mktemp("scenario")
    scenario = generate(src, 2024)
    run = tmp_path_factory.mktemp("run") / "reconcile-report"
    write_all(run_audit(scenario.invoice_files, src / "inventory.xlsx"), run)
    shutil.rmtree(src)  # explain reads the run's folder alone
    return scenario, run


def _explain(run, number, account=None):
    t = load_bill(run, number, account)
    return explain_bill(t.bill, t.lines, t.findings, t.services, t.expected)


def test_planted_bills_list_every_line_once_and_add_up(scenario_run):
    scenario, run = scenario_run
    planted = {t.invoice_number for t in scenario.truth}
    for inv in (i for i in scenario.invoices if i.number in planted):
        ex = _explain(run, inv.number)
        lines = ex.lines
        assert len({ln.line_id for ln in lines}) == len(lines) == len(inv.charges), inv.number
        assert Counter(ln.amount for ln in lines) == Counter(c.amount for c in inv.charges)
        assert ex.arithmetic.lines_total == inv.line_total
        if inv.stated_total is not None and inv.stated_total != inv.line_total:
            gap = inv.stated_total - inv.line_total
            assert ex.arithmetic.difference == gap
            assert any(f"${abs(gap):,.2f}" in s for s in ex.arithmetic.sentences), ex.arithmetic.sentences
        elif inv.stated_total is not None:
            assert "the lines add up" in " ".join(ex.arithmetic.sentences)


def test_each_planted_error_sits_on_its_line_with_its_finding(scenario_run):
    scenario, run = scenario_run
    for truth in scenario.truth:
        ex = _explain(run, truth.invoice_number)
        amount = Decimal(truth.amount_at_issue)
        if truth.rule in LINE_RULES:
            on = [(ln, f) for ln in ex.lines for f in ln.findings
                  if f.rule == truth.rule and f.amount_at_issue == amount
                  and service_key(ln.service_id if truth.rule == "unknown-service" else ln.inventory_id)
                  == service_key(truth.service_id)]
            assert on, f"{truth.rule} {truth.service_id} not on a line of {truth.invoice_number}"
            ln, f = on[0]
            assert f.explanation in verdict_sentence(ln)
            assert ln.verdict == (ASK if truth.rule == "unknown-service" else WRONG)
        else:  # a service missing from the bill, a stated total: the bill as a whole
            assert any(f.rule == truth.rule and f.amount_at_issue == amount for f in ex.bill_findings)


def test_the_command_prints_each_line_once_with_its_finding(scenario_run):
    scenario, run = scenario_run
    truth = next(t for t in scenario.truth if t.rule == "billed-after-disconnect")
    inv = next(i for i in scenario.invoices if i.number == truth.invoice_number)
    got = CliRunner().invoke(main, ["explain", inv.number, "--run", str(run)])
    assert got.exit_code == 0, got.output
    numbered = re.findall(r"^ +(\d+)\. ", got.output, re.MULTILINE)
    assert numbered == [str(k) for k in range(1, len(inv.charges) + 1)]
    ex = _explain(run, inv.number)
    for ln in ex.lines:
        for f in ln.findings:
            assert got.output.count(f.explanation) == 1
    assert "[WRONG]" in got.output and "THE BILL'S ARITHMETIC" in got.output


def test_a_correct_line_is_said_right_with_its_price(scenario_run):
    scenario, run = scenario_run
    inv = next(i for i in scenario.invoices if i.number not in {t.invoice_number for t in scenario.truth})
    ex = _explain(run, inv.number)
    right = [ln for ln in ex.lines if ln.verdict == RIGHT]
    assert right and all(ln.expected == ln.amount and "a month" in ln.should_cost for ln in right)
    assert not any(ln.verdict == WRONG for ln in ex.lines)


def test_an_unknown_number_is_one_message_naming_the_nearest(scenario_run):
    scenario, run = scenario_run
    number = scenario.invoices[0].number
    got = CliRunner().invoke(main, ["explain", number + "9", "--run", str(run)])
    assert got.exit_code == 2
    assert f"no invoice {number}9 in this run" in got.output
    assert re.search(rf"nearest (\S+, )*{re.escape(number)}(,|$)", got.output.strip())
    assert len(got.output.strip().splitlines()) == 1
    missing = CliRunner().invoke(main, ["explain", number, "--run", str(run.parent / "nothing")])
    assert missing.exit_code == 2 and "--run" in missing.output


def test_the_page_written_later_is_the_page_written_with_the_reports(scenario_run):
    scenario, run = scenario_run
    inv = next(i for i in scenario.invoices if i.number in {t.invoice_number for t in scenario.truth})
    page = next((run / BILLS_DIR).glob(f"{inv.number}.html"))
    before = page.read_text(encoding="utf-8")
    page.unlink()
    got = CliRunner().invoke(main, ["explain", inv.number, "--run", str(run), "--html"])
    assert got.exit_code == 0, got.output
    assert page.read_text(encoding="utf-8") == before  # from the folder alone, the same page


# -- hand-built bills: the same number on two accounts, hostile text ---------------------------

def _two_bills_result() -> AuditResult:
    d = date(2025, 3, 1)
    common = dict(source="x.csv", carrier="Acme", invoice_date=d, period_start=d,
                  period_end=date(2025, 3, 31), charge_type=ChargeType.RECURRING)
    lines = [
        InvoiceLine(line_id=0, row=2, account="1001", invoice_number="../INV 7", service_id="CKT-1",
                    description=XSS, amount=Decimal("120.00"), **common),
        InvoiceLine(line_id=1, row=3, account="1001", invoice_number="../INV 7", service_id="ZZZ-9",
                    description="Mystery port", amount=Decimal("40.00"), **common),
        InvoiceLine(line_id=2, row=4, account="2002", invoice_number="../INV 7", service_id="CKT-1",
                    description="Port", amount=Decimal("100.00"), **common),
    ]
    services = [Service(index=0, source="inv.csv", row=2, service_id="CKT-1", account="1001",
                        monthly_rate=Decimal("100.00"), location="1 Main St", description="DIA 100M")]
    matches = [Match(0, "exact", 100.0, "same ID"), Match(None, "none", 0.0, "no inventory service"),
               Match(0, "exact", 100.0, "same ID")]
    invoices = [Invoice(carrier="Acme", account=a, invoice_number="../INV 7", invoice_date=d,
                        source="x.csv", stated_total=t, line_ids=ids)
                for a, t, ids in (("1001", Decimal("160.00"), [0, 1]), ("2002", Decimal("100.00"), [2]))]
    finding = Finding(rule="rate-above-contract", severity=Severity.LOW, category=Category.OVERCHARGE,
                      carrier="Acme", account="1001", invoice_number="../INV 7", invoice_date=d,
                      service_id="CKT-1", matched_service_id="CKT-1", billed_amount=Decimal("120.00"),
                      expected_amount=Decimal("100.00"), amount_at_issue=Decimal("20.00"),
                      explanation=f"Circuit CKT-1 billed $120.00 against $100.00 {XSS}", line_ids=[0])
    return AuditResult(invoices=invoices, lines=lines, matches=matches, services=services,
                       findings=[finding])


def test_a_number_on_two_accounts_asks_for_the_account(tmp_path):
    run = tmp_path / "out"
    write_all(_two_bills_result(), run)
    got = CliRunner().invoke(main, ["explain", "../INV 7", "--run", str(run)])
    assert got.exit_code == 2
    assert "1001" in got.output and "2002" in got.output and "--account" in got.output
    one = CliRunner().invoke(main, ["explain", "../INV 7", "--run", str(run), "--account", "2002"])
    assert one.exit_code == 0, one.output
    assert "Port" in one.output and "Mystery" not in one.output


def test_an_unexplained_line_says_so_plainly(tmp_path):
    run = tmp_path / "out"
    write_all(_two_bills_result(), run)
    ex = _explain(run, "../INV 7", "1001")
    mystery = next(ln for ln in ex.lines if ln.service_id == "ZZZ-9")
    assert mystery.verdict == ASK
    assert "not in your inventory, no order: ask the carrier what this is" in mystery.what
    priced = next(ln for ln in ex.lines if ln.service_id == "CKT-1")
    assert priced.expected == Decimal("100.00") and "1 Main St" in priced.what


def test_bill_pages_are_escaped_and_safely_named(tmp_path):
    run = tmp_path / "out"
    write_all(_two_bills_result(), run)
    pages = sorted((run / BILLS_DIR).iterdir())
    assert len(pages) == 2  # one per bill, the shared number kept apart
    assert all(p.parent == run / BILLS_DIR and "/" not in p.name and not p.name.startswith(".")
               for p in pages)
    html = "".join(p.read_text(encoding="utf-8") for p in pages)
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    report = (run / "report.html").read_text(encoding="utf-8")
    assert all(p.name in report for p in pages)  # linked from the report


def test_page_names_are_plain_numbers_unless_they_cannot_be():
    names = page_names([("A", "1", "INV-100"), ("A", "1", "inv-100x"), ("A", "1", "CON"),
                        ("A", "1", "a/b"), ("A", "2", "Dup"), ("B", "3", "dup"), ("A", "1", "")])
    assert names[("A", "1", "INV-100")] == "INV-100.html"
    assert names[("A", "1", "inv-100x")] == "inv-100x.html"
    assert names[("A", "1", "CON")] != "CON.html"
    assert re.fullmatch(r"a_b-[0-9a-f]{8}\.html", names[("A", "1", "a/b")])
    assert names[("A", "2", "Dup")] != names[("B", "3", "dup")]  # one folder on any file system
    assert names[("A", "1", "")].startswith("bill-")


def test_capped_pages_write_the_bills_with_findings_first(tmp_path):
    result = _two_bills_result()
    pages = write_bill_pages(result, tmp_path / "bills", max_lines=2)
    assert pages.written == {("Acme", "1001", "../INV 7")} and pages.left == 1


def test_contract_and_order_behind_a_line_come_back_from_the_folder(tmp_path):
    from reconcile.core.models import Contract, Order
    from reconcile.core.records import Records

    result = _two_bills_result()
    result.records = Records.of(
        contracts=[Contract(source="contracts.csv", row=3, carrier="Acme", account="1001",
                            service_id="CKT-1", monthly_rate=Decimal("120.00"),
                            term_start=date(2024, 1, 1), term_end=date(2026, 12, 31))],
        orders=[Order(source="orders.csv", row=5, order_id="ORD-77", carrier="Acme", account="1001",
                      service_id="CKT-1", action="install", status="completed",
                      completed_date=date(2024, 1, 15))])
    run = tmp_path / "out"
    write_all(result, run)
    ex = _explain(run, "../INV 7", "1001")
    priced = next(ln for ln in ex.lines if ln.service_id == "CKT-1")
    assert priced.expected == Decimal("120.00")  # the contract's rate, not the inventory's 100.00
    assert "contract, contracts.csv row 3" in priced.should_cost
    assert "ORD-77 install completed" in priced.what


def test_the_bills_of_findings_lines_are_looked_up_all_at_once():
    """Each finding's lines give the chosen bills they are on; ids the batch has not (a
    finding of another partition's lines) and bills not chosen give none."""
    from types import SimpleNamespace

    import numpy as np

    from reconcile.reports.bill_page import _bills_of_lines

    line_ids = np.array([0, 1, 2, 5, 7, 9], np.int64)
    of_bill = np.array([0, 0, 1, 2, 2, 3], np.int32)
    findings = [SimpleNamespace(line_ids=ids) for ids in
                ([1], [], [2, 5, 7], [3, 4], [9, 0], [8, 10, 11])]
    assert _bills_of_lines(findings, line_ids, of_bill, {0, 2}) == {0: {0}, 2: {2}, 4: {0}}
    assert _bills_of_lines(findings, line_ids, of_bill, {1, 3}) == {2: {1}, 4: {3}}
    assert _bills_of_lines([], line_ids, of_bill, {0}) == {}
