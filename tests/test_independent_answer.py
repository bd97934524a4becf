"""Issue 12's check, written independently of reports/answer.py, disputes.py and excel.py (not
read): the 18-month answer (summary.json) and the dispute packets on the independent 24-month
scenarios (fixtures/independent_time.py), against what truth.json's planted findings, the bill
dates and the contracts' dispute windows give by the issue's definitions, to the cent.

Readings chosen where the issue leaves room:
- Overcharges: every rule of the truth but missing-invoice (risk, $0), contract-expiring and
  unused-service (advice, $0), per README's "counted as" column; invoice-total-mismatch counts
  when the stated total is above the lines (the scenario plants +50.00), never when below.
  unknown-service and missing-from-bill are not in the truth (its docstring says why), so
  unverified_total is not checked here.
- The period holds bills dated after as-of minus N calendar months (the day clamped to the
  month's end) and on or before as-of; claimable now and outside the window split those bills'
  overcharges by deadline (bill date + window) >= as-of; a packet holds a carrier x account x
  rule's claimable findings. Windows here are at most 180 days and N at least 12 months, so no
  claimable finding lies before the period and the two readings agree.
- The window: the account's contract rows (the generator gives all of an account's rows one
  value), else its carrier's rows without an account, else --dispute-window-days (default 60).
- Counts are findings, one per planted truth entry.
Two as-of dates are on or after the last bill, so the truth (written for 2025-12-15) holds for
every money rule; only the advice rules depend on as-of, and they carry no money. The third,
2025-04-10, speaks from mid-history (its claimable money spans 3-4 accounts and 9-10 packets a
seed, where the later dates leave 1-2): bills after it are in the batch and out of the period;
the money rules' truth on the bills before it does not depend on as-of (payments, credits and
later bills are judged the same), the reading taken here.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner

from fixtures.independent_time import generate
from reconcile.cli import main

NOT_OVERCHARGE = {"missing-invoice", "missing-from-bill", "contract-expiring", "unused-service", "unknown-service"}
ZERO = Decimal("0.00")
# (as-of, --months or None for the default 18, --dispute-window-days or None for the default 60)
CASES = {"dec15-18m-60d": (date(2025, 12, 15), None, None),
         "jan20-12m-45d": (date(2026, 1, 20), 12, 45),
         "apr10-9m-30d": (date(2025, 4, 10), 9, 30)}  # mid-history: many claimable, bills after as-of
SEEDS = (1, 2, 3)


def months_before(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    m += 1
    last = (date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)).day
    return date(y, m, min(d.day, last))


def window_of(truth: dict, carrier: str, account: str, default: int) -> int:
    own = {r["dispute_window_days"] for r in truth["dispute_windows"]
           if r["account"] == account and r["dispute_window_days"] is not None}
    wide = {r["dispute_window_days"] for r in truth["dispute_windows"]
            if not r["account"] and r["carrier"] == carrier and r["dispute_window_days"] is not None}
    assert len(own) <= 1 and len(wide) <= 1, (account, own, wide)
    return next(iter(own or wide), default)


def expected_answer(truth: dict, as_of: date, months: int, default_window: int) -> dict:
    """The answer by the issue's definitions, from the planted truth alone."""
    start = months_before(as_of, months)
    bills = {(b["account"], b["invoice_number"]): b for b in truth["bills"]
             if not b["missing"] and start < date.fromisoformat(b["date"]) <= as_of}
    out = {"period_from": (start + timedelta(days=1)).isoformat(), "bills": len(bills),
           "billed_total": sum((Decimal(b["lines_total"]) for b in bills.values()), ZERO),
           "by_month": defaultdict(lambda: [ZERO, ZERO]), "findings": []}
    for b in bills.values():
        out["by_month"][b["date"][:7]][0] += Decimal(b["lines_total"])
    for t in truth["findings"]:
        amount = Decimal(t["amount_at_issue"])
        bill = bills.get((t["account"], t["invoice_number"]))
        if t["rule"] in NOT_OVERCHARGE or amount <= 0 or bill is None:
            continue
        bill_date = date.fromisoformat(bill["date"])
        deadline = bill_date + timedelta(days=window_of(truth, t["carrier"], t["account"], default_window))
        out["findings"].append({**t, "amount": amount, "deadline": deadline, "bill_date": bill_date})
        out["by_month"][bill["date"][:7]][1] += amount
    return out


def money_group(findings: list[dict]) -> dict:
    """total, count, earliest deadline and by_account rows, as summary.json states them."""
    rows: dict[tuple, list[dict]] = defaultdict(list)
    for f in findings:
        rows[(f["carrier"], f["account"])].append(f)

    def head(fs):
        return {"total": str(sum((f["amount"] for f in fs), ZERO)), "count": len(fs),
                "earliest_deadline": min(f["deadline"] for f in fs).isoformat() if fs else None}

    return {**head(findings), "by_account": {k: head(v) for k, v in sorted(rows.items())}}


def stated_group(group: dict) -> dict:
    return {"total": str(Decimal(group["total"])), "count": group["count"],
            "earliest_deadline": group.get("earliest_deadline"),
            "by_account": {(r["carrier"], r["account"]): {"total": str(Decimal(r["total"])), "count": r["count"],
                                                          "earliest_deadline": r.get("earliest_deadline")}
                           for r in group.get("by_account", [])}}


@pytest.fixture(scope="module", params=[(s, c) for s in SEEDS for c in CASES],
                ids=[f"seed{s}-{c}" for s in SEEDS for c in CASES])
def run(request, tmp_path_factory):
    seed, case = request.param
    as_of, months, window = CASES[case]
    out = tmp_path_factory.mktemp(f"answer{seed}")
    truth = json.loads(generate(out, seed).read_text())
    args = truth["command"][1:]
    args[args.index("--as-of") + 1] = as_of.isoformat()
    args += ["--out", str(out / "report")]
    if months is not None:
        args += ["--months", str(months)]
    if window is not None:
        args += ["--dispute-window-days", str(window)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code in (0, 1), result.output
    report = out / "report"
    summary = json.loads((report / "summary.json").read_text())
    expected = expected_answer(truth, as_of, months or 18, window or 60)
    return {"as_of": as_of, "report": report, "summary": summary, "expected": expected, "truth": truth}


def test_scenario_windows_differ_and_deadlines_fall_both_sides(run):
    """The check means something: accounts have different windows, and overcharges fall both
    inside and outside them."""
    truth, exp = run["truth"], run["expected"]
    windows = {window_of(truth, b["carrier"], b["account"], 60) for b in truth["bills"]}
    assert len(windows) >= 3, windows
    deadlines = [f["deadline"] >= run["as_of"] for f in exp["findings"]]
    assert any(deadlines) and not all(deadlines)


def test_period_and_billed_total(run):
    s, exp = run["summary"], run["expected"]
    assert (s["as_of"], s["period_to"], s["period_from"]) == \
        (run["as_of"].isoformat(), run["as_of"].isoformat(), exp["period_from"])
    assert (s["bills"], Decimal(s["billed_total"])) == (exp["bills"], exp["billed_total"])


def test_at_issue_total_by_rule_and_month(run):
    s, exp = run["summary"], run["expected"]
    by_rule: dict[str, list] = defaultdict(lambda: [0, ZERO])
    for f in exp["findings"]:
        by_rule[f["rule"]][0] += 1
        by_rule[f["rule"]][1] += f["amount"]
    stated = {r: (v["count"], Decimal(v["at_issue"])) for r, v in s["by_rule"].items() if Decimal(v["at_issue"])}
    assert stated == {r: tuple(v) for r, v in by_rule.items()}
    assert Decimal(s["at_issue_total"]) == sum((f["amount"] for f in exp["findings"]), ZERO)
    months = {m["month"]: (Decimal(m["billed"]), Decimal(m["at_issue"])) for m in s["by_month"]}
    assert months == {m: tuple(v) for m, v in exp["by_month"].items()}


@pytest.mark.parametrize("part", ["claimable_now", "outside_window"])
def test_claimable_and_outside_window(run, part):
    as_of, exp = run["as_of"], run["expected"]["findings"]
    inside = [f for f in exp if (f["deadline"] >= as_of) == (part == "claimable_now")]
    assert stated_group(run["summary"][part]) == money_group(inside)


def read_csv(path):
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_one_packet_per_carrier_account_rule_with_its_findings(run):
    as_of, report = run["as_of"], run["report"]
    packets: dict[tuple, list[dict]] = defaultdict(list)
    for f in run["expected"]["findings"]:
        if f["deadline"] >= as_of:
            packets[(f["carrier"], f["account"], f["rule"])].append(f)
    index = read_csv(report / "disputes" / "index.csv")
    stated = {(r["carrier"], r["account"], r["rule"]): (str(Decimal(r["total"])), int(r["findings"]),
                                                       r["earliest_deadline"]) for r in index}
    assert len(stated) == len(index), "a carrier x account x rule has two packets"
    assert stated == {k: (str(sum((f["amount"] for f in fs), ZERO)), len(fs),
                          min(f["deadline"] for f in fs).isoformat()) for k, fs in packets.items()}
    for r in index:
        claim = read_csv(report / "disputes" / r["folder"] / "claim.csv")
        fs = packets[(r["carrier"], r["account"], r["rule"])]
        assert sum((Decimal(c["amount_disputed"]) for c in claim), ZERO) == Decimal(r["total"])
        assert sorted((c["invoice_number"], Decimal(c["amount_disputed"]), c["dispute_deadline"]) for c in claim) == \
            sorted((f["invoice_number"], f["amount"], f["deadline"].isoformat()) for f in fs)
        assert {c["account"] for c in claim} == {r["account"]}


def test_summary_command_repeats_the_sentence(run):
    s = run["summary"]
    result = CliRunner().invoke(main, ["summary", str(run["report"])])
    assert result.exit_code == 0, result.output
    assert s["sentence"] in result.output
    for figure in (s["billed_total"], s["at_issue_total"], s["claimable_now"]["total"], s["outside_window"]["total"]):
        assert f"${Decimal(figure):,.2f}" in s["sentence"]


def test_packets_add_up_to_claimable_now(run):
    """What the packets claim is what the answer says can still be disputed."""
    index = read_csv(run["report"] / "disputes" / "index.csv")
    claimable = run["summary"]["claimable_now"]
    assert (sum((Decimal(r["total"]) for r in index), ZERO), sum(int(r["findings"]) for r in index)) == \
        (Decimal(claimable["total"]), claimable["count"])
