"""The HTML report a finance manager reads: one self-contained file, summary first.

The summary, chart, by-account table and input problems are small and drawn by the template
(Jinja autoescapes every value). The findings and lines tables can be large (50,000 findings,
a million lines), so the page carries their rows as one compact JSON block and a small script
(templates/report.js) shows one page of rows at a time, sorting and filtering over all of them,
built from DOM text nodes only: carrier files and inventories are untrusted text.

The JSON block is columnar: every text is written once in a string table (`s`) and the
columns hold indices into it, so an account, a rule or an inventory row repeated on thousands
of findings costs a few bytes each time. Bounds keep a huge batch's page usable: at most
`MAX_LINES_IN_HTML` lines (lines.csv has every line, and the page says how many are not
shown), every finding, with its evidence trimmed to what a person reads (`EVIDENCE_ITEMS`
rows per list, `EVIDENCE_CHARS` characters per value, each with "… N more").
"""

from __future__ import annotations

import json
import pathlib
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

import jinja2
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from markupsafe import Markup
from pydantic import BaseModel

from reconcile.core.lines import plain_column
from reconcile.core.models import Finding
from reconcile.core.result import AuditResult
from reconcile.reports.answer import answer as answer_of
from reconcile.reports.bill_page import BillPages
from reconcile.reports.console import unchecked
from reconcile.reports.history import finding_services, history_data, history_services
from reconcile.reports.out_folder import BILLS_DIR, GLOSSARY_FILE
from reconcile.core.values import CENT, money

MAX_LINES_IN_HTML = 20_000  # lines embedded in the page; lines.csv has them all
MAX_ERRORS_IN_HTML = 1_000
LINES_OPEN_UP_TO = 200  # bigger line tables start collapsed so printing stays short
PAGE_ROWS = 100  # rows a table shows at a time (the reader can pick 25 to 1,000)
EVIDENCE_DEPTH = 6  # nesting deeper than this is shown as text
EVIDENCE_ITEMS = 20  # list items (evidence lines, candidates) shown per list, then "… N more"
EVIDENCE_CHARS = 500  # characters shown of one evidence value, then "… N more characters"

_TEMPLATES = pathlib.Path(__file__).parent / "templates"
JINJA = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_TEMPLATES),
    autoescape=True,  # select_autoescape would miss the .html.j2 suffix
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# our own code, inlined as is (not a Jinja template: its braces are JavaScript's)
_SCRIPT = (_TEMPLATES / "report.js").read_text(encoding="utf-8")


def render_html(result: AuditResult, *, generated_at: datetime | None = None,
                bill_pages: BillPages | None = None, answer: dict | None = None) -> str:
    """The whole report as one HTML document (inline CSS, JS and data, no network).
    `bill_pages`: the bills/ pages written beside it, which its invoices link to; `answer`:
    reconcile.reports.answer.answer(result), when the caller has it."""
    generated_at = generated_at or datetime.now().astimezone()
    of_result = finding_services(result, result.findings)
    order = sorted(range(len(result.findings)), key=lambda i: -result.findings[i].amount_at_issue)
    findings = [result.findings[i] for i in order]  # most money first, stable for ties
    by_rule = result.by_rule()
    accounts = result.by_account()
    strings = Strings()
    findings_cols = findings_data(findings, strings)
    lines = lines_data(result, findings, strings)
    line_methods = lines.pop("methods")
    pages = bill_pages or BillPages()
    findings_cols["bill"] = [strings(_page_of(pages, (f.carrier, f.account, f.invoice_number)))
                             for f in findings]
    lines["bill"] = [strings(_page_of(pages, k)) for k in lines.pop("keys")]
    of_finding = [of_result[i] for i in order]
    history = history_data(result, history_services(of_finding, lines["serviceIndex"]), of_result)
    row_of = {h["index"]: k for k, h in enumerate(history["services"])}
    findings_cols["hist"] = [row_of.get(i, -1) for i in of_finding]
    lines["hist"] = [row_of.get(i, -1) for i in lines.pop("serviceIndex")]
    del lines["lineId"]
    data = {"glossary": GLOSSARY_FILE, "pageRows": PAGE_ROWS, "findings": findings_cols,
            "lines": lines, "history": history, "bills": BILLS_DIR,
            "s": rank_strings(strings, findings_cols, lines)}
    return JINJA.get_template("report.html.j2").render(
        not_checked=[str(n) for n in unchecked(result)],
        total_unverified=_money(result.total_unverified) if result.total_unverified else "",
        generated_at=generated_at.strftime("%Y-%m-%d %H:%M %Z").strip(),
        tolerance=_money(result.options.tolerance),
        threshold=f"{result.options.match_threshold:g}",
        result=result,
        total_billed=_money(result.total_billed),
        total_at_issue=_money(result.total_at_issue),
        rules=[
            {"rule": rule, "count": n, "at_issue": _money(amt)}
            for rule, (n, amt) in sorted(by_rule.items(), key=lambda kv: -kv[1][1])
        ],
        chart=_bar_chart(by_rule),
        answer=(a := answer if answer is not None else answer_of(result)),
        money_of=lambda text: _money(Decimal(text)),
        month_chart=_month_chart(a["by_month"]),
        accounts=[
            {"carrier": c, "account": a, "count": n, "at_issue": _money(amt), "billed": _money(billed)}
            for (c, a), (n, amt, billed) in sorted(accounts.items(), key=lambda kv: -kv[1][1])
        ],
        account_choices=sorted({_account_label(f.carrier, f.account) for f in findings}),
        findings_count=len(findings),
        errors=result.errors[:MAX_ERRORS_IN_HTML],
        max_errors=MAX_ERRORS_IN_HTML,
        lines_total=len(result.lines),
        lines_shown=lines["n"],
        line_methods=line_methods,
        lines_open=len(result.lines) <= LINES_OPEN_UP_TO,
        page_rows=PAGE_ROWS,
        glossary=GLOSSARY_FILE,
        bills_left=pages.left,
        bills_written=len(pages.written),
        data=script_json(data),
        script=Markup(_SCRIPT),
    )


def write_html(result: AuditResult, path: pathlib.Path, *, generated_at: datetime | None = None,
               bill_pages: BillPages | None = None, answer: dict | None = None) -> None:
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
# a file name that is not valid UTF-8 is written with its bytes escaped, as in the CSVs
    path.write_text(render_html(result, generated_at=generated_at, bill_pages=bill_pages, answer=answer),
                    encoding="utf-8", errors="backslashreplace")


def _page_of(pages: BillPages, key: tuple[str, str, str]) -> str:
    """The bill's page under bills/, "" when none was written."""
    return pages.names.get(key, "") if key in pages.written else ""


def script_json(data: object) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' is left as
    itself, so "</script>" or "<!--" in carrier text cannot end the block or start markup
    (JSON.parse reads the \\u escapes back as the same characters)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


class Strings:
    """The page's string table: each distinct text once, referred to by its index."""

    def __init__(self):
        self._index: dict[str, int] = {"": 0}

    def __call__(self, text: str) -> int:
        index = self._index
        return index.setdefault(text, len(index))

    def values(self) -> list[str]:
        return list(self._index)


LINE_REFS = ("source", "account", "invoice", "service", "description", "charge", "start", "end",
             "amount", "matched", "method", "score", "reason", "findings", "bill")


def rank_strings(strings: Strings, findings: dict, lines: dict) -> list[str]:
    """The string table in order of use, most used first, with every index rewritten to it:
    the indices written most often become the shortest (an account on 5,000 findings is "7",
    not "183274"). Returns the table; strings nothing refers to are left out."""
    values = strings.values()
    places = [(findings, name) for name in (*FINDING_FIELDS, "bill")] + [(lines, name) for name in LINE_REFS]
    arrays = [np.asarray(d[name], np.int64) for d, name in places]
    tokens = np.asarray(findings["tokens"], np.int64)
    shapes = [np.asarray(keys, np.int64) for keys in findings["shapes"]]
    used = np.concatenate([*arrays, tokens[tokens >= 0], *shapes, np.zeros(0, np.int64)])
    counts = np.bincount(used, minlength=len(values))
    order = np.argsort(-counts, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    for (d, name), a in zip(places, arrays):
        d[name] = rank[a].tolist()
    findings["tokens"] = np.where(tokens >= 0, rank[np.maximum(tokens, 0)], tokens).tolist()
    findings["shapes"] = [rank[keys].tolist() for keys in shapes]
    kept = int(np.count_nonzero(counts))
    return [values[i] for i in order[:kept].tolist()]


def _money(v: Decimal | None) -> str:
    if v is not None and v.quantize(CENT) == 0:
        v = abs(v)  # -0.001 would otherwise read "$-0.00"
    return money(v)


def _account_label(carrier: str, account: str) -> str:
    return f"{carrier} {account}".strip()


# --- findings -------------------------------------------------------------------------------


# columns of string-table indices; "id" and "explanation" are each finding's own text, inline
FINDING_FIELDS = ("rule", "severity", "carrier", "account", "invoice", "date", "service", "matched",
                  "start", "end", "billed", "expected", "at_issue", "description")


def findings_data(findings: list[Finding], s: Strings) -> dict[str, list]:
    """Every finding, column by column, and its evidence as tokens (see `Evidence`)."""
    cols: dict[str, list] = {name: [] for name in FINDING_FIELDS}
    (c_rule, c_sev, c_carrier, c_account, c_invoice, c_date, c_service, c_matched, c_start,
     c_end, c_billed, c_expected, c_at_issue, c_description) = cols.values()
    ids, explanations, starts = [], [], []
    evidence = Evidence(s)
    index = s._index
    put = index.setdefault  # s(text), inlined: 50,000 findings x 14 columns
    for f in findings:
        ids.append(f.id)
        explanations.append(f.explanation)
        c_rule.append(put(f.rule, len(index)))
        c_sev.append(put(f.severity.value, len(index)))
        c_carrier.append(put(f.carrier, len(index)))
        c_account.append(put(f.account, len(index)))
        c_invoice.append(put(f.invoice_number, len(index)))
        c_date.append(put(f.invoice_date.isoformat() if f.invoice_date else "", len(index)))
        c_service.append(put(f.service_id, len(index)))
        c_matched.append(put(f.matched_service_id, len(index)))
        c_start.append(put(f.period_start.isoformat() if f.period_start else "", len(index)))
        c_end.append(put(f.period_end.isoformat() if f.period_end else "", len(index)))
        c_billed.append(put(_money(f.billed_amount), len(index)))
        c_expected.append(put(_money(f.expected_amount), len(index)))
        c_at_issue.append(put(_money(f.amount_at_issue), len(index)))
        c_description.append(put(f.description, len(index)))
        starts.append(len(evidence.tokens))
        evidence.add(f.evidence)
    return {"id": ids, "explanation": explanations, **cols, "evidence": starts,
            "tokens": evidence.tokens, "shapes": evidence.shape_keys()}


# evidence tokens: a text is its string-table index (>= 0); the rest is negative
JOIN, KV, GRID, LIST = -1, -2, -3, -4  # JOIN a b: S[a] + S[b]
COUNT = -10  # a count n is written COUNT - n
_PLACE = re.compile(r" (?:row|page) \d+(?: line \d+)?$")  # "<file> row 12", "<file> page 3 line 7"


class Evidence:
    """Whatever rules put in `evidence`, as one flat list of integers the page decodes when a
    finding is opened; never raises on odd values. A text is a string-table index, or JOIN and
    two indices when it ends in a row or page ("<file> row 12": the file is written once, however
    many rows refer to it). A dict is KV, its key list (shape), and its values; a list of flat
    dicts a GRID: its columns (shape), rows, rows left out, then the cells row by row; another
    list a LIST: items, items left out, then the items; a list of plain values one text.
    Trimmed to what a person reads: EVIDENCE_ITEMS per list, EVIDENCE_CHARS per text."""

    def __init__(self, strings: Strings):
        self.s = strings
        self.tokens: list[int] = []
        self._shapes: dict[tuple[str, ...], int] = {}

    def shape_keys(self) -> list[list[int]]:
        """Each shape's keys as string-table indices."""
        return [[self.s(_clip(str(k))) for k in keys] for keys in self._shapes]

    def _shape(self, keys: tuple) -> int:
        shapes = self._shapes
        at = shapes.get(keys)
        if at is None:
            at = shapes[keys] = len(shapes)
        return at

    def add(self, value: object, depth: int = 0) -> None:
        out = self.tokens
        if value.__class__ is str:
            self.text(value)
        elif depth >= EVIDENCE_DEPTH:
            self.text(_scalar_text(value.model_dump() if isinstance(value, BaseModel) else value))
        elif isinstance(value, dict):
            out.append(KV)
            out.append(COUNT - self._shape(tuple(value)))
            self._texts_or_nodes(value.values(), depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
            shown, more = items[:EVIDENCE_ITEMS], max(0, len(items) - EVIDENCE_ITEMS)
            if _all_scalar(shown):
                self.text(", ".join(_scalar_text(x) for x in shown), f", … {more:,} more" if more else "")
            elif _flat_dicts(shown):
                columns = tuple(shown[0])
                if any(x.keys() != shown[0].keys() for x in shown):  # rows with other keys
                    columns = tuple(dict.fromkeys(k for x in shown for k in x))
                out.extend((GRID, COUNT - self._shape(columns), COUNT - len(shown), COUNT - more))
                for x in shown:
                    self._texts_or_nodes(x.values() if tuple(x) == columns else [x.get(c) for c in columns],
                                         depth + 1)
            else:
                out.extend((LIST, COUNT - len(shown), COUNT - more))
                self._texts_or_nodes(shown, depth + 1)
        elif isinstance(value, BaseModel):
            self.add(value.model_dump(), depth)
        else:
            self.text(_scalar_text(value))

    def _texts_or_nodes(self, values, depth: int) -> None:
        """Each value in turn; short plain texts (most evidence) straight into the table."""
        out, index = self.tokens, self.s._index
        append, setdefault = out.append, index.setdefault
        for v in values:
            if v.__class__ is str and (len(v) <= 16 or (len(v) <= EVIDENCE_CHARS and not v[-1:].isdigit())):
                append(setdefault(v, len(index)))
            elif _is_scalar(v):
                self.text(_scalar_text(v))
            else:
                self.add(v, depth)

    def text(self, text: str, tail: str = "") -> None:
        if len(text) > EVIDENCE_CHARS:
            text = _clip(text)
        text += tail
        out, s = self.tokens, self.s
        if len(text) > 16 and text[-1].isdigit():
            place = _PLACE.search(text)
            if place and place.start():
                out.extend((JOIN, s(text[:place.start()]), s(text[place.start():])))
                return
        out.append(s(text))


_NESTED = (dict, list, tuple, set, frozenset, BaseModel)
# plain values, told apart by their class first: isinstance against pydantic's BaseModel (an
# ABC) costs a microsecond, and evidence has millions of values
_PLAIN = frozenset({str, int, float, bool, Decimal, date, datetime, type(None)})


def _all_scalar(items) -> bool:
    return _PLAIN.issuperset(map(type, items)) or not any(isinstance(x, _NESTED) for x in items)


def _flat_dicts(items) -> bool:
    for x in items:
        if not isinstance(x, dict):
            return False
        if not _PLAIN.issuperset(map(type, x.values())) and any(isinstance(v, _NESTED) for v in x.values()):
            return False
    return True


def _clip(text: str) -> str:
    if len(text) <= EVIDENCE_CHARS:
        return text
    return f"{text[:EVIDENCE_CHARS]}… {len(text) - EVIDENCE_CHARS:,} more characters"


def _is_scalar(v: object) -> bool:
    return v.__class__ in _PLAIN or not isinstance(v, _NESTED)


def _scalar_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, Enum):
        return str(v.value)
    if isinstance(v, (date, datetime)):
        return v.isoformat()
    if isinstance(v, Decimal):
        return f"{v:f}"  # exact, never scientific notation
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# --- lines ----------------------------------------------------------------------------------


def lines_data(result: AuditResult, findings: list[Finding], s: Strings) -> dict:
    """The batch's first MAX_LINES_IN_HTML lines, column by column, from the Arrow table:
    a slice, and each column's text made once per distinct value."""
    table = result.lines.table
    n = min(table.num_rows, MAX_LINES_IN_HTML)
    part = table.slice(0, n)
    if "line_id" in part.column_names:
        ids = part.column("line_id").to_numpy()
    else:  # a hand-built result, not enriched by the pipeline
        ids = np.arange(n, dtype=np.int64)
    service, method, score, reason = _match_columns(result, part, ids)
    services = [sv.service_id for sv in result.services]
    method_words = method.to_pylist()
    out = {
        "n": n,
        "source": _codes(part.column("source"), s),
        "row": part.column("row").to_pylist(),
        "page": part.column("page").to_pylist(),
        "account": _codes(part.column("account"), s),
        "invoice": _codes(part.column("invoice_number"), s),
        "service": _codes(part.column("service_id"), s),
        "description": _codes(part.column("description"), s),
        "charge": _codes(part.column("charge_type"), s),
        "start": _codes(part.column("period_start"), s, date.isoformat),
        "end": _codes(part.column("period_end"), s, date.isoformat),
        "inferred": [1 if v else 0 for v in part.column("period_inferred").to_pylist()],
        "amount": _codes(part.column("amount"), s, _money),
        "matched": _codes(service, s, lambda i: services[i] if 0 <= i < len(services) else ""),
        "method": _codes(method, s),
        "score": [s(_score_text(v, m)) for v, m in zip(score.to_pylist(), method_words)],
        "reason": _codes(reason, s),
        "findings": _finding_ids_on(ids, findings, s),
        "methods": sorted({m for m in method_words if m}),
        # popped by render_html: the page's bill links and service histories are made from them
        "keys": list(zip(*(plain_column(part.column(c)).to_pylist()
                           for c in ("carrier", "account", "invoice_number")))),
        "serviceIndex": service.fill_null(-1).to_pylist() if n else [],
        "lineId": ids.tolist(),
    }
    _add_nearest(result, out, ids, method_words, s)
    return out


def _match_columns(result: AuditResult, part: pa.Table, ids: np.ndarray):
    """(service index, method, score, reason) of the shown lines, as Arrow arrays."""
    if "match_method" in part.column_names:  # the pipeline's match columns
        return (part.column("service"), part.column("match_method"), part.column("match_score"),
                part.column("match_reason"))
    matches = result.matches if len(result.matches) >= part.num_rows else []
    rows = [matches[int(i)] for i in ids] if matches else [None] * part.num_rows
    return (pa.array([m.service if m else None for m in rows], pa.int32()),
            pa.array([m.method if m else "" for m in rows], pa.string()),
            pa.array([m.score if m else None for m in rows], pa.float32()),
            pa.array([m.reason if m else "not matched" for m in rows], pa.string()))


def _score_text(score: float | None, method: str | None) -> str:
    if score is None or not (score or method in ("exact", "fuzzy")):
        return ""
    return f"{score:.0f}"


def _add_nearest(result: AuditResult, out: dict, ids: np.ndarray, methods: list, s: Strings) -> None:
    """An unmatched line's reason names its nearest inventory services, as lines.csv's
    reader would look them up (only the few unmatched lines shown are looked at)."""
    if not len(result.matches):
        return
    services = result.services
    reasons = out["reason"]
    for pos, method in enumerate(methods):
        if method != "none":
            continue
        try:
            m = result.matches[int(ids[pos])]
        except (IndexError, KeyError):
            continue
        if not m.candidates:
            continue
        near = ", ".join(f"{services[i].service_id if 0 <= i < len(services) else '?'} ({score:.0f})"
                         for i, score in m.candidates)
        reason = m.reason
        reasons[pos] = s(f"{reason}; nearest: {near}" if reason else f"nearest: {near}")


def _codes(col, s: Strings, word=str) -> list[int]:
    """A column as string-table indices; `word` turns each distinct value into its text once."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_dictionary(col.type):  # the batch's dictionary may be far larger than the slice
        col = pc.take(col.dictionary, col.indices)
    if not len(col):
        return []
    encoded = pc.dictionary_encode(col)
    table = np.array([s(word(v)) for v in encoded.dictionary.to_pylist()] + [0], np.int64)
    positions = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return table[positions].tolist()


def _finding_ids_on(ids: np.ndarray, findings: list[Finding], s: Strings) -> list[int]:
    """For each shown line, the ids of the findings about it (as in lines.csv)."""
    n = len(ids)
    if not n:
        return []
    contiguous = int(ids[0]) == 0 and int(ids[-1]) == n - 1
    where = None if contiguous else {int(i): p for p, i in enumerate(ids)}
    on: dict[int, list[str]] = {}
    for f in findings:
        for line_id in f.line_ids:
            pos = (line_id if 0 <= line_id < n else None) if where is None else where.get(line_id)
            if pos is not None:
                on.setdefault(pos, []).append(f.id)
    codes = [0] * n
    for pos, names in on.items():
        codes[pos] = s(" ".join(names))
    return codes


# --- chart ----------------------------------------------------------------------------------


def _bar_chart(by_rule: dict[str, tuple[int, Decimal]]) -> dict | None:
    """Geometry for an inline-SVG horizontal bar chart of money at issue by rule."""
    rows = sorted(by_rule.items(), key=lambda kv: -kv[1][1])
    top = max((amt for _, (_, amt) in rows), default=Decimal("0"))
    if top <= 0:
        return None
    label_w, bar_area, value_w, row_h = 200, 300, 140, 26
    bars = []
    for i, (rule, (n, amt)) in enumerate(rows):
        width = (max(amt, Decimal("0")) / top * bar_area).quantize(Decimal("0.1"))
        label = rule if len(rule) <= 30 else rule[:29] + "…"
        bars.append({"y": i * row_h, "width": str(width), "value_x": str(label_w + width + 6),
                     "label": label, "rule": rule, "value": f"{_money(amt)} ({n})"})
    return {"bars": bars, "width": label_w + bar_area + value_w, "height": len(rows) * row_h + 4,
            "label_x": label_w - 8, "bar_x": label_w}


def _month_chart(by_month: list[dict]) -> dict | None:
    """Geometry for an inline-SVG column chart: billed and at issue, bill month by month."""
    if not by_month:
        return None
    top = max(Decimal(m["billed"]) for m in by_month)
    if top <= 0:
        return None
    col_w, gap, plot_h, base = 26, 8, 140, 160
    cols = []
    for i, m in enumerate(by_month):
        billed, issue = Decimal(m["billed"]), Decimal(m["at_issue"])
        h_b = (max(billed, Decimal(0)) / top * plot_h).quantize(Decimal("0.1"))
        h_i = (max(issue, Decimal(0)) / top * plot_h).quantize(Decimal("0.1"))
        x = 50 + i * (col_w + gap)
        cols.append({"x": x, "w": col_w, "billed_y": str(base - h_b), "billed_h": str(h_b),
                     "issue_y": str(base - h_i), "issue_h": str(h_i), "label": m["month"][2:],
                     "title": f"{m['month']}: billed {_money(billed)}, at issue {_money(issue)}"})
    return {"cols": cols, "width": 60 + len(cols) * (col_w + gap), "height": base + 24,
            "base": base, "top": _money(top)}
