"""The CIO's answer: over the last N months, what was billed, what is at issue, what can still
be disputed, what is past the dispute window, and what keeps costing money every month.

Everything here is worked out from a finished audit (its bills, lines, findings and the
contracts given), so `summary.json`, the console's opening sentence and report.html say the
same figures. Money is summed as Decimal and written as strings to the cent.

Which bills count: those dated after as-of minus N calendar months, up to as-of inclusive.
A finding's dispute deadline is its bill's date plus the dispute window: the contract row of
its account (or of every account of its carrier) that gives `dispute_window_days`, else the
`--dispute-window-days` default. Claimable now: overcharges with money at issue whose deadline
is on or after as-of. Advisory findings ($0) are never counted.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from reconcile.core.models import Category, Finding
from reconcile.core.result import AuditResult
from reconcile.core.values import CENT, money

# problems that come back on every bill until fixed (issue 12's "recurring_monthly")
REPEATING = {"rate-above-contract", "out-of-term-rate", "discount-not-applied",
             "billed-after-disconnect", "unknown-service", "duplicate-charge"}
# of those, the ones that repeat only when the charge itself is recurring
REPEATING_IF_RECURRING = {"unknown-service", "duplicate-charge"}
SAVING_KEY = "monthly_saving"  # evidence key of advisory findings that say what acting saves


@dataclass(frozen=True)
class Deadline:
    day: date
    window_days: int
    source: str  # "contract, contracts.xlsx row 4" or "default (--dispute-window-days)"


def months_back(day: date, months: int) -> date:
    """`day` minus `months` calendar months (the 31st becomes the month's last day)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    return date(y, m, min(day.day, calendar.monthrange(y, m)[1]))


def deadline_of(result: AuditResult, f: Finding) -> Deadline | None:
    """The last day to dispute a finding: its bill date plus the dispute window."""
    if f.invoice_date is None:
        return None
    found = result.records.dispute_window(f.carrier, f.account)
    if found:
        days, row = found
        source = f"contract, {row.where}"
    else:
        days, source = result.options.dispute_window_days, "default dispute window"
    return Deadline(f.invoice_date + timedelta(days=days), days, source)


def answer(result: AuditResult) -> dict:
    """The figures of summary.json (money as strings to the cent), with `sentence`."""
    opts = result.options
    as_of, months = opts.as_of, opts.months
    since = months_back(as_of, months)
    in_period = [i for i, b in enumerate(result.invoices)
                 if b.invoice_date is not None and since < b.invoice_date <= as_of]
    billed = _billed_per_bill(result)
    chosen = set(in_period)
    bill_keys = {result.invoices[i].key for i in chosen}
    findings = [f for f in result.findings
                if (f.carrier, f.account, f.invoice_number) in bill_keys]
    over = [f for f in findings if f.category is Category.OVERCHARGE and f.amount_at_issue > 0]
    claimable, outside = [], []
    for f in over:
        d = deadline_of(result, f)
        (claimable if d is None or d.day >= as_of else outside).append((f, d))
    recurring = _recurring_monthly(result, findings)
    savings = sum((_saving(f) for f in result.findings if f.category is Category.ADVICE),
                  Decimal(0))
    out = {
        "as_of": as_of.isoformat(), "months": months,
        "period_from": (since + timedelta(days=1)).isoformat(), "period_to": as_of.isoformat(),
        "bills": len(in_period),
        "bills_read": len(result.invoices),
        "billed_total": _cents(sum((billed.get(i, Decimal(0)) for i in in_period), Decimal(0))),
        "at_issue_total": _cents(sum((f.amount_at_issue for f in over), Decimal(0))),
        "unverified_total": _cents(sum((f.amount_at_issue for f in findings
                                        if f.category is Category.UNVERIFIED), Decimal(0))),
        "claimable_now": _window(claimable),
        "outside_window": _window(outside),
        "recurring_monthly": _cents(recurring),
        "savings_monthly": _cents(savings),
        "by_rule": _by(over, lambda f: f.rule),
        "by_carrier": _by(over, lambda f: f.carrier or "(carrier not named)"),
        "by_month": _by_month(result, in_period, billed, over),
    }
    out["sentence"] = sentence(out)
    return out


def sentence(a: dict) -> str:
    """The answer in words a CIO reads in one minute. When no bill was read, or none of
    the period, it says so: never "$0.00 at issue", which reads as a clean bill."""
    to = _long_date(a["period_to"])
    if not a["bills"] and "bills_read" in a:  # (summary.json of runs before bills_read: as was)
        if not a["bills_read"]:
            return "No bill could be read, so nothing was audited: errors.json says why for each file."
        return (f"None of the {a['bills_read']:,} bill(s) read is dated in the {a['months']} "
                f"months to {to}, so this answer counts none of them (their findings are in "
                f"the report); --as-of and --months choose the months counted.")
    text = (f"Over the {a['months']} months to {to} you were billed {_m(a['billed_total'])}; "
            f"{_m(a['at_issue_total'])} of it is at issue.")
    claim, past = a["claimable_now"], a["outside_window"]
    if Decimal(claim["total"]) > 0:
        text += (f" {_m(claim['total'])} can still be disputed (the first deadline is "
                 f"{_long_date(claim['earliest_deadline'])})")
        text += (f"; {_m(past['total'])} is past the dispute window." if Decimal(past["total"]) > 0
                 else ".")
    elif Decimal(past["total"]) > 0:
        text += f" All of it, {_m(past['total'])}, is past the dispute window."
    if Decimal(a["recurring_monthly"]) > 0:
        text += (f" {_m(a['recurring_monthly'])} a month keeps being overcharged until it is "
                 f"fixed.")
    if Decimal(a["unverified_total"]) > 0:
        text += (f" A further {_m(a['unverified_total'])} was billed for services your "
                 f"inventory does not list: ask the carrier before disputing it.")
    return text


def _billed_per_bill(result: AuditResult) -> dict[int, Decimal]:
    table = result.lines.table
    if not table.num_rows or "invoice" not in table.column_names:
        return {}
    sums = pa.table({"invoice": table.column("invoice"), "amount": table.column("amount")}) \
        .group_by("invoice").aggregate([("amount", "sum")])
    return {i: (a if a is not None else Decimal(0)) for i, a in
            zip(sums.column("invoice").to_pylist(), sums.column("amount_sum").to_pylist())}


def _recurring_monthly(result: AuditResult, findings: list[Finding]) -> Decimal:
    """Money at issue on each account's latest bill from problems that repeat every month."""
    latest: dict[tuple[str, str], date] = {}
    for b in result.invoices:
        if b.invoice_date is not None:
            k = (b.carrier, b.account)
            latest[k] = max(latest.get(k, b.invoice_date), b.invoice_date)
    picked = [f for f in findings if f.rule in REPEATING and f.amount_at_issue > 0
              and f.category in (Category.OVERCHARGE, Category.UNVERIFIED)
              and f.invoice_date == latest.get((f.carrier, f.account))]
    recurring = _recurring_line_ids(result, [i for f in picked if f.rule in REPEATING_IF_RECURRING
                                             for i in f.line_ids])
    return sum((f.amount_at_issue for f in picked if f.rule not in REPEATING_IF_RECURRING
                or any(i in recurring for i in f.line_ids)), Decimal(0))


def _recurring_line_ids(result: AuditResult, ids: list[int]) -> set[int]:
    table = result.lines.table
    if not ids or "line_id" not in table.column_names:
        return set()
    rows = table.filter(pc.is_in(table.column("line_id"), pa.array(ids, pa.int64())))
    kinds = rows.column("charge_type").cast(pa.string()).to_pylist()
    return {i for i, k in zip(rows.column("line_id").to_pylist(), kinds) if k == "recurring"}


def _saving(f: Finding) -> Decimal:
    """An advisory finding's monthly saving, written as money ("$1,234.50") or plain."""
    text = str(f.evidence.get(SAVING_KEY) or "0").replace("$", "").replace(",", "").strip()
    try:
        return Decimal(text)
    except ArithmeticError:
        return Decimal(0)


def _window(pairs: list[tuple[Finding, Deadline | None]]) -> dict:
    deadlines = [d.day for _, d in pairs if d is not None]
    groups: dict[tuple[str, str], list[tuple[Finding, Deadline | None]]] = defaultdict(list)
    for f, d in pairs:
        groups[(f.carrier, f.account)].append((f, d))
    rows = []
    for (carrier, account), got in sorted(groups.items()):
        days = [d.day for _, d in got if d is not None]
        rows.append({"carrier": carrier, "account": account,
                     "total": _cents(sum((f.amount_at_issue for f, _ in got), Decimal(0))),
                     "count": len(got),
                     "earliest_deadline": min(days).isoformat() if days else None})
    return {"total": _cents(sum((f.amount_at_issue for f, _ in pairs), Decimal(0))),
            "count": len(pairs),
            "earliest_deadline": min(deadlines).isoformat() if deadlines else None,
            "by_account": rows}


def _by(findings: list[Finding], key) -> dict:
    acc: dict[str, list] = defaultdict(lambda: [0, Decimal(0)])
    for f in findings:
        acc[key(f)][0] += 1
        acc[key(f)][1] += f.amount_at_issue
    return {k: {"count": n, "at_issue": _cents(a)}
            for k, (n, a) in sorted(acc.items(), key=lambda kv: (-kv[1][1], kv[0]))}


def _by_month(result: AuditResult, bills: list[int], billed: dict[int, Decimal],
              over: list[Finding]) -> list[dict]:
    acc: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for i in bills:
        acc[result.invoices[i].invoice_date.strftime("%Y-%m")][0] += billed.get(i, Decimal(0))
    for f in over:
        acc[f.invoice_date.strftime("%Y-%m")][1] += f.amount_at_issue
    return [{"month": m, "billed": _cents(b), "at_issue": _cents(a)}
            for m, (b, a) in sorted(acc.items())]


def _cents(v: Decimal) -> str:
    return f"{v.quantize(CENT):.2f}"


def _m(text: str) -> str:
    return money(Decimal(text))


def _long_date(iso: str | None) -> str:
    d = date.fromisoformat(iso) if iso else None
    return f"{d.day} {d.strftime('%b %Y')}" if d else ""


def answer_lines(a: dict) -> list[str]:
    """The answer for the console: the sentence, then what can be claimed, account by account."""
    out = [a["sentence"]]
    rows = a["claimable_now"]["by_account"]
    if rows:
        out.append("Claimable now, by account (dispute before the deadline):")
        for r in rows:
            out.append(f"  {r['carrier'] or '-'}  {r['account']}  {_m(r['total']):>14}  "
                       f"{r['count']:>4} finding(s)  by {_long_date(r['earliest_deadline'])}")
    if Decimal(a.get("savings_monthly", "0")) > 0:
        out.append(f"Acting on the advice (renewals, unused lines) would save "
                   f"{_m(a['savings_monthly'])} a month.")
    return out


def write_summary_json(result: AuditResult, path, a: dict | None = None) -> dict:
    """summary.json: the answer (`a`, when the caller has worked it out already)."""
    import json

    a = answer(result) if a is None else a
    path.write_text(json.dumps(a, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return a


def answer_text(path) -> str:
    """The answer of a past run, from its summary.json."""
    import json
    from pathlib import Path

    try:
        a = json.loads(Path(path).read_text(encoding="utf-8"))
        return "\n".join(answer_lines(a))
    except (json.JSONDecodeError, KeyError, TypeError, ArithmeticError) as e:
        raise ValueError(f"not a summary.json written by reconcile ({e})") from None
