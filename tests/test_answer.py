"""The CIO's answer (reports/answer.py): which bills count, what is claimable or past the
window by each contract's dispute window, what keeps recurring, and the sentence that says it."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from click.testing import CliRunner

from reconcile.audit import audit_parsed
from reconcile.cli import main
from reconcile.core.result import AuditOptions
from reconcile.reports.answer import answer, months_back
from reconcile.reports.outputs import write_all
from reconcile.rules.examples import parse_examples

# Two accounts overbilled every month, 450.00 contracted, 500.00 billed: 50.00 at issue a bill.
# Account A's contract gives 30 days to dispute; account B has none (the default applies).
BILLS = """Example: two accounts, overbilled monthly::

    service | C-1 | account A | carrier Acme | rate 450.00
    service | C-2 | account B | carrier Acme | rate 450.00
    contract | C-1 | account A | carrier Acme | rate 450.00 | dispute-window 30
{bills}
    expect | nothing
"""


def _bills() -> str:
    out = []
    for acct, sid in (("A", "C-1"), ("B", "C-2")):
        for month in range(1, 7):  # Jan..Jun 2025, billed on the 1st for the month
            end = (date(2025, month + 1, 1) if month < 12 else date(2026, 1, 1)).toordinal() - 1
            out.append(f"    invoice | {acct}-{month} | account {acct} | carrier Acme | "
                       f"billed 2025-{month:02d}-01")
            out.append(f"    line | {sid} | MRC | 2025-{month:02d}-01.."
                       f"{date.fromordinal(end).isoformat()} | 500.00 | Port")
    return "\n".join(out)


def _result(as_of: date, **options):
    [ex] = parse_examples(BILLS.format(bills=_bills()))
    given = ex.inputs()
    return audit_parsed(given.services, given.invoices, given.lines,
                        AuditOptions(as_of=as_of, **options), records=given.records)


def test_claimable_and_past_the_window_follow_each_accounts_dispute_window():
    a = answer(_result(date(2025, 6, 20)))
    assert a["billed_total"] == "6000.00" and a["at_issue_total"] == "600.00"
    # A: 30 days -> the June bill (deadline 1 Jul) is claimable, May's (31 May) is past.
    # B: 60 days -> May (30 Jun) and June (31 Jul) are claimable.
    claim = {r["account"]: r for r in a["claimable_now"]["by_account"]}
    assert claim["A"]["total"] == "50.00" and claim["A"]["earliest_deadline"] == "2025-07-01"
    assert claim["B"]["total"] == "100.00" and claim["B"]["earliest_deadline"] == "2025-06-30"
    assert a["claimable_now"]["total"] == "150.00" and a["claimable_now"]["count"] == 3
    assert a["outside_window"]["total"] == "450.00"
    # every account's latest bill carries 50.00 that repeats next month
    assert a["recurring_monthly"] == "100.00"
    assert [m["month"] for m in a["by_month"]] == [f"2025-{m:02d}" for m in range(1, 7)]
    assert all(m["billed"] == "1000.00" and m["at_issue"] == "100.00" for m in a["by_month"])
    assert a["sentence"].startswith(
        "Over the 18 months to 20 Jun 2025 you were billed $6,000.00; $600.00 of it is at issue. "
        "$150.00 can still be disputed (the first deadline is 30 Jun 2025); $450.00 is past the "
        "dispute window. $100.00 a month keeps being overcharged")


def test_only_the_bills_of_the_last_months_count():
    a = answer(_result(date(2025, 6, 20), months=3))  # bills dated after 20 Mar: Apr, May, Jun
    assert (a["period_from"], a["bills"]) == ("2025-03-21", 6)
    assert a["billed_total"] == "3000.00" and a["at_issue_total"] == "300.00"
    assert a["by_rule"] == {"rate-above-contract": {"count": 6, "at_issue": "300.00"}}


def test_a_longer_default_window_makes_more_claimable():
    a = answer(_result(date(2025, 6, 20), dispute_window_days=365))
    # A keeps its contract's 30 days; B's six bills are all still claimable
    assert {r["account"]: r["total"] for r in a["claimable_now"]["by_account"]} == \
        {"A": "50.00", "B": "300.00"}


def test_months_back_keeps_the_day_or_the_months_last():
    assert months_back(date(2025, 6, 30), 18) == date(2023, 12, 30)
    assert months_back(date(2025, 3, 31), 1) == date(2025, 2, 28)


def test_summary_json_is_written_and_summary_prints_it_again(tmp_path):
    result = _result(date(2025, 6, 20))
    write_all(result, tmp_path / "run")
    data = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert Decimal(data["claimable_now"]["total"]) + Decimal(data["outside_window"]["total"]) \
        == Decimal(data["at_issue_total"])
    got = CliRunner().invoke(main, ["summary", str(tmp_path / "run")])
    assert got.exit_code == 0 and got.output.startswith(data["sentence"])
    assert "A  " in got.output and "$50.00" in got.output


def test_summary_of_a_folder_without_a_run_is_a_usage_error(tmp_path):
    got = CliRunner().invoke(main, ["summary", str(tmp_path)])
    assert got.exit_code == 2 and "summary.json" in got.output


def test_report_html_opens_with_the_answer_and_the_months_chart(tmp_path):
    from reconcile.reports.html import render_html

    page = render_html(_result(date(2025, 6, 20)))
    assert page.index('id="answer-sentence"') < page.index('id="summary"')
    assert 'id="claimable-now">$150.00<' in page and 'id="outside-window">$450.00<' in page
    assert page.count('<rect class="issue"') == 6  # one column a bill month


def test_savings_add_up_the_advice_however_its_money_is_written():
    from reconcile.core.models import Category, Finding, Severity
    from reconcile.core.result import AuditResult

    advice = [Finding(rule="contract-expiring", severity=Severity.LOW, category=Category.ADVICE,
                      explanation="x.", evidence={"monthly_saving": "$1,234.50"}),
              Finding(rule="unused-service", severity=Severity.LOW, category=Category.ADVICE,
                      explanation="y.", evidence={"monthly_saving": "45.00"})]
    a = answer(AuditResult(findings=advice, options=AuditOptions(as_of=date(2025, 6, 20))))
    assert a["savings_monthly"] == "1279.50"


def test_no_bill_read_is_said_never_a_clean_zero(tmp_path):
    """A folder where no invoice could be read: the answer says nothing was audited, not
    "$0.00 of it is at issue" (which reads as a clean bill)."""
    folder = tmp_path / "bills"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,Account,Carrier,Monthly Rate\nDHEC.123456..ATI,100,ATT,100.00\n")
    got = CliRunner().invoke(main, ["audit", str(folder), "--inventory", str(inventory),
                                    "--out", str(tmp_path / "run")])
    assert got.exit_code == 1, got.output
    first = got.output.splitlines()[0]
    assert first == "No bill could be read, so nothing was audited: errors.json says why for each file."
    data = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert data["sentence"] == first and data["bills_read"] == 0


def test_bills_outside_the_months_are_said_not_counted():
    a = answer(_result(date(2030, 1, 1)))  # every bill is from 2025
    assert a["bills"] == 0 and a["bills_read"] == 12
    assert a["sentence"] == ("None of the 12 bill(s) read is dated in the 18 months to 1 Jan 2030, "
                             "so this answer counts none of them (their findings are in the "
                             "report); --as-of and --months choose the months counted.")
    assert "$0.00" not in a["sentence"]
