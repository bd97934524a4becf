"""Words -> printed lines -> cells (runs of words with no column gap between them).

A line is the words sharing a baseline, left to right; a cell is what a person would read
as one field: words closer than about half an em. Page furniture ("Page 3 of 12") is
removed here so nothing later mistakes it for data.
"""

from __future__ import annotations

import re
from operator import itemgetter

from reconcile.parsers.pdf.text_layer import H, TEXT, X0, X1, Y, PageText

CELL_GAP = 0.6  # gap between words, in text heights, that starts a new cell...
WIDE_GAP = 1.0  # ...unless, up to this, it is one space of a monospaced font (_one_space)
MONO_SPACE = 1.15
SAME_LINE = 0.45  # baselines closer than this (in text heights) are one line

# -12.00, (12.00), 12.00CR, 12.00-, -$12.00, ($12.00), $-12.00 and $(12.00) (spreadsheet accounting)
MONEY = re.compile(r"^[-+]?(?:\$\s?)?\(?[-+]?\$?\s?[-+]?\d{1,3}(?:,?\d{3})*\.\d{2}\s?\)?\s?(?:CR|DR|-)?$", re.I)
MONEY_ANYWHERE = re.compile(r"(?:(?<![\d/.:-])|(?<=\$-))\d{1,3}(?:,?\d{3})*\.\d{2}(?![\d/.])")
_NOISE = re.compile(r"^(?:page \d+(?: of \d+)?|\d+ of \d+|\(?continued\)?|continued on next page"
                    r"|continued from previous page)$", re.I)


def is_money(text: str) -> bool:
    """An amount as printed (MONEY); the '.' test first spares the regex most words."""
    return "." in text and MONEY.match(text) is not None


class Cell:
    """A run of words read as one field; `money`: the text is an amount (matched once, here)."""

    __slots__ = ("text", "x0", "x1", "money")

    def __init__(self, text: str, x0: float, x1: float, money: bool | None = None):
        self.text, self.x0, self.x1 = text, x0, x1
        self.money = is_money(text) if money is None else money

    def __eq__(self, other) -> bool:
        return isinstance(other, Cell) and (self.text, self.x0, self.x1) == (other.text, other.x0, other.x1)

    __hash__ = None

    def __repr__(self) -> str:
        return f"Cell(text={self.text!r}, x0={self.x0!r}, x1={self.x1!r})"


class Line:
    """One printed line: its cells left to right, where it is, and how its first word looks.
    `money`: its cells that are amounts, left to right."""

    __slots__ = ("page", "no", "y", "h", "cells", "_text", "money", "_first", "_style", "_looks",
                 "_size_of", "_size", "_bold_of", "_bold")

    def __init__(self, page: int, no: int, y: float, h: float, cells: list[Cell], text: str | None,
                 first=None, style=None, size_of=None, money: list[Cell] | None = None,
                 bold_of=None):
        # text None: joined from the cells when first asked (charge rows seldom are)
        self.page, self.no, self.y, self.h, self.cells, self._text = page, no, y, h, cells, text
        self.money = [c for c in cells if c.money] if money is None else money
        self._first, self._style, self._looks = first, style, None
        self._size_of, self._size = (size_of if style else None), None
        self._bold_of, self._bold = (bold_of if style else None), None

    @property
    def text(self) -> str:
        """The cells' text, one space between cells."""
        if self._text is None:
            self._text = " ".join([c.text for c in self.cells])
        return self._text

    @text.setter
    def text(self, value: str) -> None:
        self._text = value

    def _look(self) -> tuple[float, bool]:
        # font size and weight cost two pdfium calls: only asked for the few lines that need it
        if self._looks is None:
            self._looks = self._style(self._first) if self._style else (self.h, False)
        return self._looks

    @property
    def size(self) -> float:
        if self._looks is None and self._size_of is not None:  # the size alone: one call
            if self._size is None:
                self._size = self._size_of(self._first)
            return self._size
        return self._look()[0]

    @property
    def bold(self) -> bool:
        if self._looks is None and self._bold_of is not None:  # the weight alone: one call
            if self._bold is None:
                self._bold = self._bold_of(self._first)
            return self._bold
        return self._look()[1]

    def __repr__(self) -> str:
        return f"Line(page={self.page}, no={self.no}, text={self.text!r})"


def page_lines(page: PageText) -> list[Line]:
    words = sorted(page.words, key=_by_y)
    rows: list[list] = []
    row: list = []
    y0 = h0 = -1e9
    for w in words:
        y, h = w[Y], w[H]
        if y - y0 <= SAME_LINE * (h0 if h0 < h else h):
            row.append(w)
        else:
            row = [w]
            rows.append(row)
            y0, h0 = y, h
    out = []
    number, style, size_of, bold_of = page.number, page.style, page.size, page.bold
    for ws in rows:
        if len(ws) > 1:
            ws.sort(key=_by_x)
        cells, money, h = _cells(ws)
        if not cells:
            continue
        first = ws[0]
        out.append(Line(number, len(out) + 1, first[Y], h, cells, None, first, style, size_of, money,
                        bold_of))
    return out


_by_y = itemgetter(Y)
_by_x = itemgetter(X0)
_END = ("", float("inf"), float("inf"), 0.0, float("-inf"), -1)  # past any gap: ends the last cell


def _cells(ws: list) -> tuple[list[Cell], list[Cell], float]:
    """(the cells, those that are amounts, the tallest word's height) of a line's words."""
    cells: list[Cell] = []
    money: list[Cell] = []
    prev = ws[0]
    text, x0, x1, _, h, _ = prev
    tallest = h
    parts = [text]
    for w in ws[1:] + [_END]:  # one loop, no call per cell (they were 10 % of this)
        text, wx0, wx1, _, wh, _ = w
        if wh > tallest:
            tallest = wh
        gap, hh = wx0 - x1, (h if h > wh else wh)
        if gap <= CELL_GAP * hh or (gap <= WIDE_GAP * hh and _one_space(gap, prev)):
            parts.append(text)
            if wx1 > x1:
                x1 = wx1
        else:  # the cell so far ends here
            t = parts[0] if len(parts) == 1 else " ".join(parts)
            # cheap test first: the regex only runs on the few cells that could be furniture
            if not (("of" in t or "ontinued" in t or "age" in t) and _NOISE.match(t)):
                if "." in t and MONEY.match(t) is not None:  # the one money match of a cell
                    cell = Cell(t, x0, x1, True)
                    money.append(cell)
                else:
                    cell = Cell(t, x0, x1, False)
                cells.append(cell)
            parts, x0, x1, h = [text], wx0, wx1, wh
        prev = w
    return cells, money, tallest


def _one_space(gap: float, word) -> bool:
    """In a monospaced font a space is as wide as a letter (0.6 em, near CELL_GAP): a gap no
    wider than about one letter of the word before it is a space, not a column gap."""
    return gap < MONO_SPACE * (word[X1] - word[X0]) / len(word[TEXT])
