"""Values of the contracts, orders and payments files: percents, day counts, yes/no and the
words people use for an order's action and status or a contract's end.

Each parser takes a cell (text, or a workbook's typed value) and returns the value, None when
blank, or raises ValueError with a reason a person can act on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reconcile.core.values import POINT, parse_date, parse_money
from reconcile.parsers.columns import norm_header
from reconcile.parsers.tabular import cell_text


def text(cell) -> str:
    return cell_text(cell)


def money(cell, decimal: str = POINT) -> Decimal | None:
    return parse_money(cell, decimal)


def percent(fraction_below: Decimal):
    """A percent: `10%`, `10`, or a fraction (`0.1`, what Excel stores for a cell shown as
    10%). A number without `%` below `fraction_below` is a fraction: no contract means a
    0.1 % discount or a month-to-month ceiling of 1.25 % of the rate."""

    def parse(cell, decimal: str = POINT) -> Decimal | None:
        raw = cell_text(cell)
        if not raw:
            return None
        signed = raw.endswith("%")
        try:
            value = parse_money(raw.rstrip("%").strip() if signed else cell, decimal)
        except ValueError:
            raise ValueError(f"not a percent: {raw!r} (expected e.g. 10% or 10)") from None
        if value is None:
            return None
        if value < 0:
            raise ValueError(f"a percent below zero: {raw!r}")
        if not signed and value < fraction_below:
            value = value * 100
        return value

    return parse


# what a contract's end date says when the term has none: read as no end date
_NO_END = {"mtm", "m2m", "monthtomonth", "evergreen", "autorenew", "none", "na", "open",
           "ongoing"}


def end_date(cell) -> date | None:
    """A term's end date; blank or a word for no end ('MTM', 'Evergreen', 'N/A'): None."""
    if norm_header(cell_text(cell)) in _NO_END:
        return None
    return parse_date(cell)


def days(cell) -> int | None:
    """A number of days: `30`, `30 days`, 30.0 (a workbook's number)."""
    raw = cell_text(cell)
    if not raw:
        return None
    words = raw.lower().split()
    if len(words) == 2 and words[1] in ("day", "days", "d"):
        raw = words[0]
    try:
        value = parse_money(raw)
    except ValueError:
        value = None
    if value is None or value != value.to_integral() or value < 0:
        raise ValueError(f"not a number of days: {cell_text(cell)!r} (expected e.g. 30)")
    return int(value)


_YES = {"yes", "y", "true", "1", "x", "waived"}
_NO = {"no", "n", "false", "0", "notwaived", "none"}


def yes_no(cell) -> bool | None:
    raw = cell_text(cell)
    if not raw:
        return None
    key = norm_header(raw)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"not yes or no: {raw!r}")


def choice(words: dict[str, list[str]]):
    """One of the keys of `words`, written as the key or one of its synonyms (case-, space-
    and punctuation-blind: 'In Progress', 'in-progress', 'IN_PROGRESS')."""
    index = {norm_header(w): key for key, synonyms in words.items() for w in (key, *synonyms)}
    listed = ", ".join(f"{key} ({', '.join(synonyms)})" for key, synonyms in words.items())

    def parse(cell) -> str | None:
        raw = cell_text(cell)
        if not raw:
            return None
        found = index.get(norm_header(raw))
        if found is None:
            raise ValueError(f"{raw!r} is none of: {listed}")
        return found

    return parse


ACTIONS = {"install": ["new", "add", "connect", "provide"],
           "change": ["modify", "upgrade", "move"],
           "disconnect": ["cancel service", "terminate", "remove"]}
STATUSES = {"completed": ["complete", "closed"],
            "pending": ["open", "submitted", "in progress"],
            "cancelled": ["canceled", "void"]}
AFTER_TERM = {"hold": ["auto-renew", "same rate"],
              "month-to-month": ["mtm"]}
