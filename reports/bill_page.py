"""Each bill explained as a page of its own: `DIR/bills/<invoice>.html`, linked from report.html.

Pages are written with the other reports (`write_bill_pages`), from the audit in memory, for
every bill while their lines add up to `MAX_BILL_PAGE_LINES`; beyond that (a batch of a
million lines) bills with findings come first, most money at issue first, and the others are
written when asked for: `reconcile explain NUMBER --html` writes one from the run's folder.
report.html links only the pages that exist, and says how to get the others.

A page's file name is the invoice number when that is a plain name (letters, digits, `.`,
`_`, `-`, not a name Windows reserves) and no other bill of the run has it (blind to case);
otherwise a safe spelling of it and a short hash of carrier, account and number, so any
number gives one file inside `bills/` and two bills never share one.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow as pa
from markupsafe import Markup

from reconcile.core.lines import column_values
from reconcile.core.result import AuditResult
from reconcile.core.values import money
from reconcile.expected import ExpectedBill
from reconcile.reports.explain import (ASK, CHECK, FAVOUR, RIGHT, UNPRICED, WRONG, BillExplanation,
                                       explain_bill, explanation_text, verdict_sentence)
from reconcile.reports.out_folder import BILLS_DIR

MAX_BILL_PAGE_LINES = 25_000  # lines on the pages written with the reports; the rest on demand
_PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
_VERDICT_CLASS = {WRONG: "wrong", ASK: "ask", CHECK: "check", FAVOUR: "favour", RIGHT: "right",
                  UNPRICED: "unpriced"}


def page_names(keys) -> dict[tuple[str, str, str], str]:
    """(carrier, account, number) -> the bill's file name in bills/, for every bill of a run."""
    keys = list(dict.fromkeys(keys))
    folded = Counter(k[2].casefold() for k in keys)
    out = {}
    for key in keys:
        number = key[2]
        plain = (_PLAIN.fullmatch(number) and not number.endswith(".")
                 and number.split(".")[0].upper() not in _RESERVED)
        if plain and folded[number.casefold()] == 1:
            out[key] = number + ".html"
        else:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", number).strip("._-")[:60] or "bill"
            digest = hashlib.sha1("\x1f".join(key).encode("utf-8", "surrogatepass")).hexdigest()[:8]
            out[key] = f"{slug}-{digest}.html"
    return out


# -- the page --------------------------------------------------------------------------------

def render_bill_page(ex: BillExplanation, report: str = "../report.html") -> str:
    """The page: Jinja (autoescaping) for the frame, `_row` for the lines (a bill may have
    thousands: a plain, escaping string builder is several times faster than the template)."""
    from reconcile.reports.html import JINJA  # the report's Jinja environment

    sections, number = [], 0
    for name, lines in ex.sections:
        rows = []
        for ln in lines:
            number += 1
            rows.append(_row(number, ln, report))
        sections.append({"name": name, "rows": Markup("\n".join(rows))})
    return JINJA.get_template("bill.html.j2").render(
        ex=ex, sections=sections, report=report,
        counts=[(v, n, _VERDICT_CLASS.get(v, "")) for v, n in ex.verdict_counts().items()],
        bill_findings=[{"id": f.id, "text": f.explanation, "at_issue": money(f.amount_at_issue)}
                       for f in ex.bill_findings],
        lines_total=money(ex.arithmetic.lines_total),
        current=money(ex.arithmetic.current_charges) if ex.arithmetic.current_charges is not None else "",
        difference=(money(ex.arithmetic.difference) if ex.arithmetic.difference else ""),
    )


def _row(n: int, ln, report: str) -> str:
    """One line of the bill as a table row; every value from data escaped."""
    e = _escape
    cls = _VERDICT_CLASS.get(ln.verdict, "")
    links = "".join(f'<div><a href="{e(report)}#finding-{e(quote(f.id))}">{e(f.id)}</a> · '
                    f'{e(money(f.amount_at_issue))} at issue</div>' for f in ln.findings)
    if ln.service_index is not None:
        links += (f'<div><a class="history" href="{e(report)}#history-{ln.service_index}">'
                  f'months billed vs expected</a></div>')
    return (f'<tr class="line{" wrong-row" if cls == "wrong" else ""}" data-verdict="{e(ln.verdict)}">'
            f'<td class="num">{n}</td>'
            f'<td><span class="id">{e(ln.service_id)}</span> {e(ln.description)}'
            f'<div class="what">{e(ln.what)}</div><div class="where">{e(ln.where)}</div></td>'
            f'<td>{e(ln.period)}</td><td class="num">{e(money(ln.amount))}</td>'
            f'<td>{e(ln.should_cost)}</td>'
            f'<td><span class="badge {cls}">{e(ln.verdict)}</span>'
            f'<div class="sentence">{e(verdict_sentence(ln))}</div>{links}</td></tr>')


@lru_cache(maxsize=65536)
def _escape(text: str) -> str:  # verdicts, periods, amounts and descriptions repeat
    return html.escape(text, quote=True)


# -- written with the reports ----------------------------------------------------------------

@dataclass
class BillPages:
    names: dict[tuple[str, str, str], str] = field(default_factory=dict)  # every bill's name
    written: set[tuple[str, str, str]] = field(default_factory=set)
    left: int = 0  # bills not written (over MAX_BILL_PAGE_LINES): `reconcile explain --html`


def write_bill_pages(result: AuditResult, folder: Path, max_lines: int = MAX_BILL_PAGE_LINES) -> BillPages:
    """A page per bill in `folder`, up to `max_lines` lines on the pages (see the module)."""
    invoices = result.invoices
    pages = BillPages(names=page_names(inv.key for inv in invoices))
    if not invoices:
        return pages
    table = _line_rows_table(result)
    of_bill = table.column("invoice").to_numpy(zero_copy_only=False)
    sizes = np.bincount(of_bill[of_bill >= 0], minlength=len(invoices))
    chosen = _chosen(result, sizes, max_lines)
    pages.left = len(invoices) - len(chosen)
    folder.mkdir(exist_ok=True)
    rows_at = np.flatnonzero(np.isin(of_bill, np.array(sorted(chosen), np.int64)))
    rows = _rows(table.take(pa.array(rows_at)))
    by_bill: dict[int, list[dict]] = {}
    for r in rows:
        by_bill.setdefault(r["invoice"], []).append(r)
    findings_of: dict[int, list[dict]] = {}
    key_at = {inv.key: k for k, inv in enumerate(invoices)}
    of_lines = _bills_of_lines(result.findings, table.column("line_id").to_numpy(), of_bill, chosen)
    for n, f in enumerate(result.findings):
        bills = {key_at.get((f.carrier, f.account, f.invoice_number))}
        bills = {k for k in bills if k in chosen} | of_lines.get(n, set())
        if not bills:
            continue
        rec = {"id": f.id, "rule": f.rule, "category": f.category.value if f.category else "",
               "explanation": f.explanation, "amount_at_issue": f.amount_at_issue,
               "line_ids": f.line_ids, "carrier": f.carrier, "account": f.account,
               "invoice_number": f.invoice_number}
        for k in bills:
            findings_of.setdefault(k, []).append(rec)
    services = {s.index: s for s in result.services}
    expected = ExpectedBill(result.services, result.records)
    said: dict = {}  # what each service's lines are, said once for all the pages
    for k in sorted(chosen):
        inv = invoices[k]
        bill = {**inv.model_dump(), "invoice_number": inv.invoice_number}
        ex = explain_bill(bill, by_bill.get(k, []), findings_of.get(k, []), services, expected, said)
        name = pages.names[inv.key]
        (folder / name).write_text(render_bill_page(ex), encoding="utf-8")
        pages.written.add(inv.key)
    return pages


def _bills_of_lines(findings, line_ids: np.ndarray, of_bill: np.ndarray, chosen: set[int]
                    ) -> dict[int, set[int]]:
    """finding number -> the chosen bills its lines are on (line ids are in batch order),
    looked up for all the findings' lines at once."""
    counts = np.fromiter((len(f.line_ids) for f in findings), np.int64, len(findings))
    ids = np.fromiter(chain.from_iterable(f.line_ids for f in findings), np.int64, int(counts.sum()))
    if not len(ids) or not len(line_ids):
        return {}
    owner = np.repeat(np.arange(len(findings)), counts)
    at = np.searchsorted(line_ids, ids).clip(0, len(line_ids) - 1)
    bill = np.where(line_ids[at] == ids, of_bill[at], -1)
    wanted = np.zeros(int(of_bill.max()) + 2, bool)  # by bill + 1: a line of no bill is -1
    wanted[[k + 1 for k in chosen if k + 1 < len(wanted)]] = True
    keep = wanted[bill + 1]
    out: dict[int, set[int]] = {}
    for n, k in zip(owner[keep].tolist(), bill[keep].tolist()):
        out.setdefault(n, set()).add(k)
    return out


def _chosen(result: AuditResult, sizes: np.ndarray, max_lines: int) -> set[int]:
    """Bills whose pages are written: all while their lines fit `max_lines`, else those with
    the most money at issue first, then the others in the batch's order, while they fit."""
    if int(sizes.sum()) <= max_lines:
        return set(range(len(sizes)))
    at_issue: dict[tuple, object] = {}
    for f in result.findings:
        key = (f.carrier, f.account, f.invoice_number)
        at_issue[key] = at_issue.get(key, 0) + f.amount_at_issue
    order = sorted(range(len(sizes)), key=lambda k: (-at_issue.get(result.invoices[k].key, 0), k))
    chosen, used = set(), 0
    for k in order:
        if used + int(sizes[k]) > max_lines:
            continue
        chosen.add(k)
        used += int(sizes[k])
    return chosen


def _rows(table: pa.Table) -> list[dict]:
    """table.to_pylist(), 10x faster: each column's distinct values made Python once (a
    column has few distinct amounts, dates, descriptions), the rows only index them."""
    columns = [column_values(table.column(name)) for name in table.column_names]
    names = table.column_names
    return [dict(zip(names, row)) for row in zip(*columns)]


def _line_rows_table(result: AuditResult) -> pa.Table:
    """The batch's lines with the columns `explain_bill` reads, named as lines.parquet has them."""
    t = result.lines.table
    n = t.num_rows
    cols = {name: t.column(name) for name in
            ("source", "row", "page", "carrier", "account", "invoice_number", "invoice_date",
             "service_id", "description", "charge_type", "period_start", "period_end",
             "period_inferred", "quantity", "unit_price", "amount", "section")}
    cols["line_id"] = t.column("line_id") if "line_id" in t.column_names else pa.array(range(n), pa.int64())
    if "service" in t.column_names:
        cols["service_index"] = t.column("service")
        cols["match_method"] = t.column("match_method")
    else:  # a hand-built result: matches as records
        matches = result.matches if len(result.matches) == n else [None] * n
        cols["service_index"] = pa.array([m.service if m else None for m in matches], pa.int32())
        cols["match_method"] = pa.array([m.method if m else "" for m in matches], pa.string())
    if "invoice" in t.column_names:
        cols["invoice"] = t.column("invoice")
    else:
        at = {inv.key: k for k, inv in enumerate(result.invoices)}
        keys = zip(*(t.column(c).to_pylist() for c in ("carrier", "account", "invoice_number")))
        cols["invoice"] = pa.array([at.get(k, -1) for k in keys], pa.int32())
    return pa.table(cols)


# -- `reconcile explain` -----------------------------------------------------------------------

def explain_command(run: Path, number: str, account: str | None, as_html: bool) -> tuple[str, str]:
    """(the console text, "") or ("", the error) for `reconcile explain`."""
    from reconcile.reports.out_folder import OutputError, out_dir_lock, out_target
    from reconcile.reports.run_folder import RunFolderError, load_bill

    run = Path(run)
    if not run.is_dir():
        return "", (f"no run folder at {run}: give --run DIR, the --out folder of an audit "
                    f"(`reconcile audit ... --out DIR`)")
    try:
        tables = load_bill(run, number, account)
    except RunFolderError as e:
        return "", str(e)
    ex = explain_bill(tables.bill, tables.lines, tables.findings, tables.services, tables.expected)
    text = explanation_text(ex)
    if as_html:
        key = (ex.carrier, ex.account, ex.invoice_number)
        name = page_names(tables.keys + [key])[key]
        try:
            with out_dir_lock(out_target(run)):  # an audit replacing the folder waits for no one
                (run / BILLS_DIR).mkdir(exist_ok=True)
                (run / BILLS_DIR / name).write_text(render_bill_page(ex), encoding="utf-8")
        except (OutputError, OSError) as e:
            return "", f"cannot write the page into {run / BILLS_DIR}: {e}"
        text += f"\nPage: {run / BILLS_DIR / name}\n"
    return text, ""
