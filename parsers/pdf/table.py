"""Charge tables without rulings: columns found from the header row's word positions.

A header row is a line of column names (Description, Amount, ...). A row's cell belongs to
the column whose header it overlaps most (or is nearest to): left-aligned text starts under
its header, right-aligned amounts end under theirs, so overlap holds for both.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from parsers.pdf.layout import Layout
from parsers.pdf.lines import Line
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


def header_row(line: Line, layout: Layout) -> Columns | None:
    """The line as column headers, when it names an amount and a description or service."""
    cells = line.cells
    if len(cells) < 2:
        return None
    cols = []
    known = 0
    for c in cells:
        f = layout.columns.get(norm_header(c.text), "")
        known += f != ""
        cols.append(Column("" if f == "ignore" else f, c.x0, c.x1, c.text))
    fields = {c.field for c in cols}
    if "amount" not in fields or not fields & {"description", "service_id"}:
        return None
    if known < max(2, 0.6 * len(cells)):
        return None
    return Columns(cols)
