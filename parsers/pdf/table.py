"""Charge tables without rulings: columns found from the header row's word positions.

A header row is a line of column names (Description, Amount, ...). A row's cell belongs to
the column whose header it overlaps most (or is nearest to): left-aligned text starts under
its header, right-aligned amounts end under theirs, so overlap holds for both.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from parsers.pdf.layout import Layout
from parsers.pdf.lines import Cell, Line
from reconcile.columns import norm_header


@dataclass(slots=True)
class Column:
    field: str  # "" for a column nobody asked for
    x0: float
    x1: float
    title: str


class Columns:
    def __init__(self, cols: list[Column]):
        self.cols = cols
        self.lines = 1  # printed lines the titles take
        self.unknown: list[str] = []  # titles no layout or title word knows: their cells are not read
        self.fields = {c.field for c in cols}
        self.by_field = {c.field: c for c in reversed(cols)}  # first of a name wins
        # a cell is only compared with the columns around its centre
        self._edges = [(a.x1 + b.x0) / 2 for a, b in zip(cols, cols[1:])]

    def column_of(self, x0: float, x1: float) -> Column:
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
        for c in line.cells:
            f = self.column_of(c.x0, c.x1).field
            out[f] = f"{out[f]} {c.text}" if f in out else c.text
        return out

    def left_of_description(self) -> float:
        col = self.by_field.get("description")
        return col.x0 if col else 0.0


# Column titles no layout lists, by their words ("Telephone/Circuit No.", "Description of
# Service", "Amount Billed"). First rule wins: a description or period title may name the
# service, an ID title names no description.
_DIGIT = re.compile(r"\d")
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
    Titles printed on two lines ("Service" over "Period") are read with the line below:
    then `Columns.lines` is 2 and the caller skips that line."""
    cells = line.cells
    if below is not None and len(cells) > 1 and below.y - line.y <= 1.6 * line.h \
            and _all_titles(cells, layout) and _all_titles(below.cells, layout):
        cols = _columns(_stack(cells, below.cells), layout)
        if cols is not None:
            cols.lines = 2
            return cols
    return _columns(cells, layout)


def _title_field(text: str, layout: Layout) -> str:
    return layout.columns.get(norm_header(text)) or field_by_words(text)


def _all_titles(cells: list[Cell], layout: Layout) -> bool:
    return all(not _DIGIT.search(c.text) and _title_field(c.text, layout) for c in cells)


def _stack(upper: list[Cell], lower: list[Cell]) -> list[Cell]:
    """Two lines of titles as one: a title's parts overlap across the lines."""
    out, used = [], set()
    for lo in lower:
        above = [k for k, up in enumerate(upper) if up.x0 < lo.x1 and up.x1 > lo.x0 and k not in used]
        used.update(above)
        parts = [upper[k] for k in above] + [lo]
        out.append(Cell(" ".join(c.text for c in parts), min(c.x0 for c in parts), max(c.x1 for c in parts)))
    out += [up for k, up in enumerate(upper) if k not in used]
    return sorted(out, key=lambda c: c.x0)


def _columns(cells: list[Cell], layout: Layout) -> Columns | None:
    if len(cells) < 2:
        return None
    by_name = [layout.columns.get(norm_header(c.text)) for c in cells]
    if not any(by_name):
        return None  # no standard title at all (Amount, Description): no header, skip the words
    cols = []
    known = 0
    for c, f in zip(cells, by_name):
        f = f or field_by_words(c.text)
        known += f != ""
        cols.append(Column("" if f == "ignore" else f, c.x0, c.x1, c.text))
    fields = {c.field for c in cols}
    if "amount" not in fields or not fields & {"description", "service_id"}:
        return None
    if known < max(2, 0.6 * len(cells)):
        return None
    out = Columns(cols)
    out.unknown = [c.text for c, f in zip(cells, by_name) if not f and not field_by_words(c.text)]
    return out
