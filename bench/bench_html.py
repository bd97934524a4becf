"""report.html at scale: 1,000,000 lines and 50,000 findings, page size, write and load time.

    .venv/bin/python bench/bench_html.py [--lines 1000000] [--findings 50000] [--no-browser]

Builds a synthetic audit result directly (no parsing, no rules): the batch table with the
pipeline's columns made with pyarrow (line_id, invoice, service, match_method, match_score,
match_reason, ...), 50,000 services, and findings shaped as the rules write them (an inventory
row, the lines as evidence, the nearest services of an unknown ID, a total mismatch listing
60 lines). Prints the time to render the page, its size, and, when Debian's chromium is there,
the time a headless browser takes to load it (parse the data, draw the first page), sort all
findings, filter them, open the lines table and its last page.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconcile.core.lines import LINE_SCHEMA, MONEY  # noqa: E402
from reconcile.core.models import Finding, Service, Severity  # noqa: E402
from reconcile.core.result import AuditResult, Match  # noqa: E402
from reconcile.matching import MatchColumns  # noqa: E402

CARRIERS = ["Northwind Communications", "Bluestem Networks", "Cascade Voice"]
PRODUCTS = ["MPLS Port 100M", "DIA 100M", "T1 Access", "DIA 50M", "Ethernet Access 100M", "POTS Line",
            "SIP Trunk 23 Channels", "Federal USF Surcharge", "State and local taxes"]
METHODS = ["exact", "fuzzy", "none", "account-level"]
REASONS = ["identical ID", "same circuit ID after normalising delimiters, case and zero-fill",
           "no inventory service scored above the match threshold 90", "account-level charge"]
MONTHS = [date(2024, m, 1) for m in range(1, 13)]


def _dictionary(indices: np.ndarray, values: list[str]) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(indices.astype(np.int32)), pa.array(values, pa.string()))


def synthetic_result(n_lines: int, n_findings: int, n_services: int = 50_000, seed: int = 7) -> AuditResult:
    rng = np.random.default_rng(seed)
    random.seed(seed)
    n_accounts = max(1, n_services // 100)
    accounts = [f"{8_800_000_000 + k * 7919:010d}" for k in range(n_accounts)]
    service_ids = [f"{k % 90 + 10}.KRFU.{100_000 + k}..NW" for k in range(n_services)]
    services = [Service(index=k, source="bench/inventory.xlsx", row=k + 2, service_id=sid,
                        account=accounts[k % n_accounts], carrier=CARRIERS[k % 3],
                        description=PRODUCTS[k % 7], location=f"{k % 900 + 1} Main St, Springfield",
                        monthly_rate=Decimal(250 + k % 700) + Decimal("0.75"),
                        install_date=date(2020, 1 + k % 12, 1 + k % 28),
                        extra={"Cost Center": f"CC-{6100 + k % 40} Finance"})
                for k, sid in enumerate(service_ids)]

    service = rng.integers(0, n_services, n_lines)
    account = service % n_accounts
    month = rng.integers(0, 12, n_lines)
    invoice = account * 12 + month
    files = [f"/srv/audits/acme-2024/invoices/{c.split()[0].lower()}/{c.split()[0].lower()}_invoice_detail_{k:03d}.csv"
             for k in range(70) for c in CARRIERS]
    method = rng.choice(4, n_lines, p=[0.80, 0.10, 0.04, 0.06])
    amounts = pa.array([Decimal(p) / 100 for p in range(2_500, 250_000, 25)], MONEY)
    starts = pa.array(MONTHS, pa.date32())
    ends = pa.array([(m.replace(month=m.month % 12 + 1) if m.month < 12 else date(2025, 1, 1)) - timedelta(days=1)
                     for m in MONTHS], pa.date32())
    matched = pa.array(service.astype(np.int32), pa.int32(), mask=method >= 2)
    columns = {
        "key": pa.array(np.char.add("k", np.arange(n_lines).astype(str)).tolist(), pa.string()),
        "source": _dictionary(account % len(files), files),
        "row": pa.array(np.arange(n_lines, dtype=np.int32) % 50_000 + 2),
        "page": pa.nulls(n_lines, pa.int32()),
        "carrier": _dictionary(account % 3, CARRIERS),
        "account": _dictionary(account, accounts),
        "invoice_number": _dictionary(invoice, [f"INV-{a:05d}-{m + 1:02d}" for a in range(n_accounts)
                                                for m in range(12)]),
        "invoice_date": starts.take(pa.array(month)),
        "service_id": _dictionary(service, service_ids),
        "description": _dictionary(service % 7, PRODUCTS),
        "charge_type": _dictionary(np.zeros(n_lines, np.int32), ["recurring"]),
        "period_start": starts.take(pa.array(month)),
        "period_end": ends.take(pa.array(month)),
        "period_inferred": pa.array(np.zeros(n_lines, bool)),
        "quantity": pa.nulls(n_lines, MONEY),
        "unit_price": pa.nulls(n_lines, MONEY),
        "amount": amounts.take(pa.array(rng.integers(0, len(amounts), n_lines))),
        "section": _dictionary(np.zeros(n_lines, np.int32), [""]),
    }
    table = pa.table(columns, schema=LINE_SCHEMA)
    table = table.append_column("line_id", pa.array(np.arange(n_lines, dtype=np.int64)))
    table = table.append_column("invoice", pa.array(invoice.astype(np.int32)))
    table = table.append_column("service", matched)
    table = table.append_column("match_method", _dictionary(method, METHODS))
    table = table.append_column("match_score", pa.array(np.where(method == 0, 100, np.where(
        method == 1, 93, np.where(method == 2, 61, 0))).astype(np.float32)))
    table = table.append_column("match_reason", _dictionary(method, REASONS))
    near = tuple((int(k), 70.0 - j) for j, k in enumerate(rng.integers(0, n_services, 3)))
    matches = MatchColumns(codes=method, distinct=[
        Match(0, "exact", 100.0, REASONS[0]), Match(0, "fuzzy", 93.0, REASONS[1]),
        Match(None, "none", 61.0, REASONS[2], candidates=near), Match(None, "account-level", 0.0, REASONS[3])],
        overrides={})
    findings = [_finding(k, rng, services, files, n_lines) for k in range(n_findings)]
    return AuditResult(lines=table, matches=matches, services=services, findings=findings,
                       files=files, inventory_file="bench/inventory.xlsx")


def _line_evidence(line_id: int, files: list[str], sid: str, invoice: str, month: date, amount: Decimal) -> dict:
    return {"where": f"{files[line_id % len(files)]} row {line_id % 50_000 + 2}", "invoice": invoice,
            "bill_date": month.isoformat(), "service_id": sid, "description": PRODUCTS[line_id % 7],
            "charge_type": "recurring", "period": month.strftime("%B %Y"), "amount": f"${amount:,.2f}",
            "match": "exact (100): identical ID"}


def _finding(k: int, rng, services: list[Service], files: list[str], n_lines: int) -> Finding:
    s = services[int(rng.integers(0, len(services)))]
    month = MONTHS[k % 12]
    invoice = f"INV-{k % 5000:05d}-{month.month:02d}"
    amount = Decimal(int(rng.integers(2_500, 250_000))) / 100
    first = int(rng.integers(0, n_lines))
    kind = k % 20
    common = dict(carrier=s.carrier, account=s.account, invoice_number=invoice, invoice_date=month,
                  period_start=month, period_end=month + timedelta(days=27), billed_amount=amount)
    if kind < 8:  # unknown IDs: the lines billed on it and the nearest inventory services
        sid = f"{k % 90 + 10}.QQZX.{900_000 + k}..NW"
        lines = [_line_evidence(first + j, files, sid, invoice, month, amount) for j in range(1 + k % 3)]
        near = [{"service_id": services[(s.index + j) % len(services)].service_id, "score": 70.0 - j,
                 "account": s.account, "inventory_row": f"bench/inventory.xlsx row {s.row + j}"}
                for j in range(3)]
        return Finding(rule="unknown-service", severity=Severity.HIGH, service_id=sid, amount_at_issue=amount,
                       explanation=f"{sid} was billed ${amount:,.2f} on invoice {invoice} (account {s.account}) but "
                                   f"is not in the inventory; the nearest inventory service is "
                                   f"{near[0]['service_id']} (similarity 70).",
                       evidence={"lines": lines, "candidates": near,
                                 "match_reason": "no inventory service scored above the match threshold 90"},
                       line_ids=list(range(first, first + len(lines))), **common)
    if kind < 19:  # one service's charge: its inventory row and the line(s)
        rule = ["billed-after-disconnect", "rate-above-contract", "duplicate-charge"][kind % 3]
        lines = [_line_evidence(first + j, files, s.service_id, invoice, month, amount)
                 for j in range(2 if rule == "duplicate-charge" else 1)]
        return Finding(rule=rule, severity=Severity.MEDIUM, service_id=s.service_id,
                       matched_service_id=s.service_id, description=s.description,
                       expected_amount=s.monthly_rate, amount_at_issue=abs(amount - s.monthly_rate),
                       explanation=f"Circuit {s.service_id} is contracted at ${s.monthly_rate:,.2f} a month but "
                                   f"was billed ${amount:,.2f} for {month:%B %Y} on invoice {invoice} "
                                   f"(account {s.account}).",
                       evidence={"inventory_row": s.evidence(), "lines": lines,
                                 "rate_from": f"monthly_rate, bench/inventory.xlsx row {s.row}"},
                       line_ids=list(range(first, first + len(lines))), **common)
    lines = [_line_evidence(first + j, files, services[(s.index + j) % len(services)].service_id, invoice,
                            month, amount) for j in range(60)]
    return Finding(rule="invoice-total-mismatch", severity=Severity.MEDIUM, expected_amount=amount + 100,
                   amount_at_issue=Decimal(100),
                   explanation=f"Invoice {invoice} (account {s.account}) states a total of ${amount:,.2f} but its "
                               f"60 lines add up to ${amount + 100:,.2f}: $100.00 more than the charges.",
                   evidence={"stated_total": f"${amount:,.2f}", "lines_total": f"${amount + 100:,.2f}",
                             "lines": lines},
                   line_ids=list(range(first, first + 60)), **common)


def browser_times(path: Path) -> dict[str, float] | None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium:
        return None
    out: dict[str, float] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        t = time.perf_counter()
        page.goto(path.as_uri(), timeout=120_000)
        out["load (parse, first page drawn)"] = time.perf_counter() - t
        assert page.locator("#findings tbody.finding").count() == 100, "first page not drawn"

        def timed(js: str) -> float:
            return page.evaluate(f"() => {{ const t = performance.now(); {js}; return performance.now() - t; }}") / 1000

        out["sort all findings by money at issue"] = timed(
            'document.querySelectorAll("#findings thead th")[8].click()')
        out["rule select (all findings)"] = timed(
            'const s = document.getElementById("rule-filter"); s.value = "unknown-service"; '
            's.dispatchEvent(new Event("change"))')
        page.locator("#rule-filter").select_option("")
        total = page.locator("#shown-count").inner_text().split()[1]
        t = time.perf_counter()
        page.locator("#finding-filter").fill("qqzx.9012")
        page.wait_for_function('!document.getElementById("shown-count").textContent.startsWith('
                               f'"Showing {total} of")')
        out["text filter, first search (incl. 120 ms debounce)"] = time.perf_counter() - t
        out["open the evidence of a finding"] = timed('document.querySelector("#findings tr.main td.explain").click()')
        out["open the lines table (first page of 20,000 lines)"] = timed(
            'const d = document.getElementById("lines-details"); d.open = true; '
            'd.dispatchEvent(new Event("toggle"))')
        out["last page of lines"] = timed('document.querySelector(\'#lines-section [data-go="last"]\').click()')
        out["JS heap, MB"] = page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6
        browser.close()
        if errors:
            raise SystemExit(f"script errors: {errors}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--findings", type=int, default=50_000)
    ap.add_argument("--no-browser", action="store_true")
    args = ap.parse_args()
    from reconcile.reports.html import MAX_LINES_IN_HTML, render_html

    t = time.perf_counter()
    result = synthetic_result(args.lines, args.findings)
    print(f"synthetic result : {args.lines:,} lines, {args.findings:,} findings "
          f"({time.perf_counter() - t:.1f} s to build, not counted)")
    runs, cpu = [], []
    for _ in range(3):
        t, c = time.perf_counter(), time.process_time()
        page = render_html(result)
        runs.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    size = len(page.encode("utf-8"))
    lines_only = AuditResult(lines=result.lines, matches=result.matches, services=result.services)
    t, c = time.perf_counter(), time.process_time()
    render_html(lines_only)
    lines_s, lines_cpu = time.perf_counter() - t, time.process_time() - c
    print(f"render_html      : {min(runs):.2f} s wall, {min(cpu):.2f} s CPU (best of 3; wall "
          f"{', '.join(f'{r:.2f}' for r in runs)})")
    print(f"  lines alone    : {lines_s:.2f} s wall, {lines_cpu:.2f} s CPU ({args.lines:,} lines, no findings)")
    print(f"page size        : {size / 1e6:.1f} MB ({min(args.lines, MAX_LINES_IN_HTML):,} lines embedded)")
    if args.no_browser:
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.html"
        path.write_text(page, encoding="utf-8")
        times = browser_times(path)
    if times is None:
        print("browser          : chromium or playwright not installed, skipped")
        return
    for what, seconds in times.items():
        print(f"browser          : {what}: {seconds:.2f}" + ("" if what.endswith("MB") else " s"))


if __name__ == "__main__":
    main()
