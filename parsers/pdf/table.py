"""Charge tables without rulings: columns found from the header row's word positions.

A header row is a line of column names (Description, Amount, ...), or two lines of them
("Charge" printed over "Amount"). A row's cell belongs to
the column whose header it overlaps most (or is nearest to): left-aligned text starts under
its header, right-aligned amounts end under theirs, so overlap holds for both.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from reconcile.parsers.pdf.layout import Layout
from reconcile.parsers.pdf.lines import Line
from reconcile.parsers.columns import norm_header


@dataclass(slots=True)
class Column:
    field: str  # "" for a column nobody asked for
    x0: float
    x1: float
    title: str


class Columns:
    def __init__(self, cols: list[Column]):
        self.cols = cols
        self.fields = {c.field for c in cols}
        self.known = 0  # columns with a known name
        # how well the titles name a table: different fields named, then columns named
        # ("Service" over "Period" is not a second service ID column)
        self.score = (len(self.fields - {""}), 0)
        self.rows = 1  # printed lines of column titles
        self.unknown: list[str] = []  # titles neither a layout nor their words name: not read
        self.by_field = {c.field: c for c in reversed(cols)}  # first of a name wins
        # a cell is only compared with the columns around its centre
        self._edges = [(a.x1 + b.x0) / 2 for a, b in zip(cols, cols[1:])]
        # (x0, x1) -> column: cells repeat their edges down a table (left-aligned text its x0,
        # amounts their x1, both for repeated values), 9 in 10 are seen before
        self._memo: dict[tuple[float, float], Column] = {}

    def column_of(self, x0: float, x1: float) -> Column:
        col = self._memo.get((x0, x1))
        if col is None:
            col = self._memo[x0, x1] = self._column_of(x0, x1)
        return col

    def _column_of(self, x0: float, x1: float) -> Column:
        edges = self._edges
        k = bisect_right(edges, (x0 + x1) / 2)
        if (k == 0 or x0 >= edges[k - 1]) and (k == len(edges) or x1 <= edges[k]):
            return self.cols[k]  # wholly inside one column's zone: the usual case
        best, score = self.cols[k], None
        for col in self.cols[max(0, k - 1):k + 2]:
            s = min(x1, col.x1) - max(x0, col.x0)  # overlap, or minus the distance
            if score is None or s > score:
                best, score = col, s
        return best

    def assign(self, line: Line) -> dict[str, str]:
        """field -> text of the line's cells under that column (joined left to right)."""
        out: dict[str, str] = {}
        memo = self._memo
        for c in line.cells:
            f = (memo.get((c.x0, c.x1)) or self.column_of(c.x0, c.x1)).field
            out[f] = f"{out[f]} {c.text}" if f in out else c.text
        return out

    def left_of_description(self) -> float:
        col = self.by_field.get("description")
        return col.x0 if col else 0.0


# Column titles no layout lists, by their words ("Telephone/Circuit No.", "Description of
# Service", "Amount Billed"). First rule wins: a description or period title may name the
# service, an ID title names no description.
_TITLE_WORDS = [(re.compile(rx), f) for rx, f in [
    (r"\bdescription\b", "description"),
    (r"\b(?:period|dates)\b", "period"),
    (r"\b(?:qty|quantity)\b", "quantity"),
    (r"\b(?:rate|price)\b", "unit_price"),
    (r"\b(?:amount|amt)\b", "amount"),
    (r"\b(?:circuit|ckt|telephone|phone|tn|wtn|btn|mdn)\b|\bservice (?:id|number|no)\b", "service_id"),
]]


@lru_cache(maxsize=4096)
def field_by_words(title: str) -> str:
    words = " ".join(re.split(r"[^a-z0-9]+", title.lower().replace("#", " no ")))
    return next((f for rx, f in _TITLE_WORDS if rx.search(words)), "")


def header_row(line: Line, layout: Layout, below: Line | None = None) -> Columns | None:
    """The line as column headers, when it names an amount and a description or service.
    With `below`: titles printed on two lines ("Charge" over "Amount") are tried too, and
    win when they name more columns than either line alone; `Columns.rows` is then 2."""
    cells = line.cells
    one = _columns([(c.text, c.x0, c.x1, None) for c in cells], layout) if len(cells) >= 2 else None
    if below is None or not _under(line, below) or _is_heading(line, layout):
        return one
    two = _columns(_stack(cells, below.cells), layout)
    if two is None or (one is not None and two.score <= one.score):
        return one
    alone = _columns([(c.text, c.x0, c.x1, None) for c in below.cells], layout)
    if alone is not None and alone.score > two.score:
        return one  # the line below is the header; this one is something else (a heading)
    two.rows = 2
    return two


def _is_heading(line: Line, layout: Layout) -> bool:
    """A section heading right above the column titles is not their first line."""
    return len(line.cells) == 1 and layout.section_type(
        " ".join(line.text.lower().replace("&", "and").split())) is not None


def _columns(cells: list[tuple], layout: Layout) -> Columns | None:
    """cells: (title, x0, x1, bottom part of a two-line title or None)."""
    names = []
    for text, _x0, _x1, part in cells:
        f = layout.columns.get(norm_header(text), "")
        if not f and part:  # "Total / Amount": the bottom line alone often names it
            f = layout.columns.get(norm_header(part), "")
        names.append(f)
    if not any(names):
        return None  # no standard title at all (Amount, Description): no header, skip the words
    cols = []
    known = 0
    unknown = []
    for (text, x0, x1, _part), f in zip(cells, names):
        f = f or field_by_words(text)
        if not f:
            unknown.append(text)
        known += f != ""
        cols.append(Column("" if f == "ignore" else f, x0, x1, text))
    fields = {c.field for c in cols}
    descriptions = [c for c in cols if c.field == "description"]
    if "amount" not in fields and len(descriptions) > 1 and cols[-1] is descriptions[-1]:
        # "Charge Description ... Charge": 'charge' names a description or an amount; beside
        # another description title, the rightmost column is the amounts (as on every bill)
        cols[-1].field = "amount"
        fields.add("amount")
    if "amount" not in fields or not fields & {"description", "service_id"}:
        return None
    if known < max(2, 0.6 * len(cells)):
        return None
    out = Columns(cols)
    out.known, out.unknown = known, unknown
    out.score = (out.score[0], known)
    return out


def _under(top: Line, below: Line) -> bool:
    """`below` could be the second line of `top`'s column titles: close under it, no amounts."""
    # stacked titles are a line apart; a heading above the titles usually sits further off.
    # Measured in font sizes, which both engines report alike (a word's box height is the
    # font's ascent-descent on pdfium, ~1.15 em, but exactly 1 em on pdfplumber); the box
    # heights only rule out what is plainly further (font sizes cost a lookup).
    gap = below.y - top.y
    return (below.page == top.page and gap <= 1.6 * max(top.h, below.h)
            and not below.money
            and gap <= 1.45 * max(top.size, below.size))  # sizes last: they cost a lookup


def _stack(top: list, bottom: list) -> list[tuple]:
    """Cells of two title lines, a top cell joined with the bottom cell it overlaps."""
    out, used = [], set()
    for t in top:
        match = next((k for k, b in enumerate(bottom) if k not in used and b.x0 < t.x1 and b.x1 > t.x0), None)
        if match is None:
            out.append((t.text, t.x0, t.x1, None))
            continue
        used.add(match)
        b = bottom[match]
        out.append((f"{t.text} {b.text}", min(t.x0, b.x0), max(t.x1, b.x1), b.text))
    out += [(b.text, b.x0, b.x1, None) for k, b in enumerate(bottom) if k not in used]
    return sorted(out, key=lambda c: c[1])
