"""Reading money, dates and service periods as carriers and spreadsheets write them.

Money becomes `Decimal` (never float). Each parser raises `ValueError` with a reason a
person can act on; callers turn it into an `InputError` naming the file and row.
"""

from __future__ import annotations

import calendar
from collections import Counter
import re
from functools import lru_cache
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Iterable

from reconcile.core.lines import MAX_AMOUNT, MONEY_SCALE

CENT = Decimal("0.01")

_MONEY_STRIP = str.maketrans("", "", "$€£ \u00a0\u202f\t")

# The decimal mark of a file's amounts (`decimal_convention`): a point (1,234.50), a comma
# (1.234,50), or undecided: nothing in the file's values says, and a hint (a semicolon
# delimiter, as European exports use) makes a point doubtful.
POINT, COMMA, UNDECIDED = ".", ",", "?"
_GROUPED = {POINT: re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?"),
            COMMA: re.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d*)?")}
_ONE_GROUP = re.compile(r"\d{1,3}[.,]\d{3}")  # 1.234 or 1,234: either mark could be meant
_SEPARATORS = re.compile(r"^[^.,]*?(\d*)([.,])(\d*)[^.,]*$")


def decimal_convention(texts: Iterable[object], delimiter: str = "") -> str:
    """The decimal mark of a file's amounts (POINT, COMMA or UNDECIDED), decided once per file
    from its amount texts (a sample is enough) and its delimiter, never per cell: `1.234,50`,
    `763,00` and `1.234.567` say comma; `1,234.50`, `12.50` and `1,234,567` say point;
    `1.234`, `1,234` and `1234` say nothing. The marks the values show most win (the values
    of the other kind are then errors, not guesses); with none, a semicolon-delimited file is
    UNDECIDED (`1.234` is refused as ambiguous, `12,50` and `12.50` are read by their shape),
    any other POINT. Pass what `parse_money(text, decimal)` should use for the file."""
    votes = {POINT: 0, COMMA: 0}
    for text, n in Counter(texts).items():  # each distinct text's shape once
        mark = decimal_mark_of(text) if isinstance(text, str) else None
        if mark:
            votes[mark] += n
    if votes[COMMA] > votes[POINT]:
        return COMMA
    if votes[POINT] or delimiter != ";":
        return POINT
    return UNDECIDED


@lru_cache(maxsize=65536)  # amounts repeat within and across a batch's files
def decimal_mark_of(text: str) -> str | None:
    """The decimal mark one amount's text shows by its shape alone (None: it shows none)."""
    if "." in text and "," in text:
        return POINT if text.rfind(".") > text.rfind(",") else COMMA
    for mark in (".", ","):
        n = text.count(mark)
        if n > 1:
            return COMMA if mark == "." else POINT  # 1.234.567: the dots group
        if n == 1:
            m = _SEPARATORS.match(text)
            if m and m.group(1) and m.group(3) and len(m.group(3)) != 3:
                return POINT if mark == "." else COMMA
    return None


def _with_point(s: str, decimal: str, text: object) -> str:
    """The number `s` (signs and currency gone) written with a point and no group marks, as
    `decimal` says the file writes it; ValueError when it is written the other way or could
    be either."""
    if "," not in s and "." not in s:
        return s
    if decimal == UNDECIDED:
        if _ONE_GROUP.fullmatch(s):
            raise ValueError(f"{str(text)!r} is ambiguous: this file's amounts do not show whether "
                             f"'.' or ',' is the decimal mark")
        decimal = decimal_mark_of(s) or POINT
    group = "," if decimal == POINT else "."
    if group in s:
        if not _GROUPED[decimal].fullmatch(s):
            raise ValueError(f"{str(text)!r} is not an amount as this file writes them "
                             f"({_EXAMPLE[decimal]}: {_NAME[decimal]})")
        s = s.replace(group, "")
    return s.replace(",", ".") if decimal == COMMA else s


_EXAMPLE = {POINT: "1,234.50", COMMA: "1.234,50"}
_NAME = {POINT: "a decimal point", COMMA: "a decimal comma"}


def parse_money(text: object, decimal: str = POINT) -> Decimal | None:
    """`$1,234.50`, `(12.00)`, `-12.00`, `12.00CR`, `12.00-`, Excel numbers -> Decimal; blank -> None.
    `decimal`: the file's decimal mark (`decimal_convention`); with COMMA `1.234,50` is 1234.50.
    Text written with the other mark (`763,00` in a file of points) is refused, never read as
    another number.

    What is not money is refused with ValueError: NaN, infinity, an amount at or beyond
    `MAX_AMOUNT` (1e26 is no bill's) and more than `MONEY_SCALE` decimal places."""
    if text is None:
        return None
    if isinstance(text, Decimal):
        return _money(text, text)
    if isinstance(text, bool):
        raise ValueError(f"not an amount: {text!r}")
    if isinstance(text, int):
        return _money(Decimal(text), text)
    if isinstance(text, float):
        # Excel stores typed money as binary floats; repr gives the shortest exact decimal
        return _money(Decimal(repr(text)), text)
    s = str(text).strip()
    if not s or s in {"-", "--", "N/A", "n/a", "NA"}:
        return None
    negative = False
    upper = s.upper()
    if upper.endswith("CR"):
        negative, s = True, s[:-2]
    elif upper.endswith("DR"):
        s = s[:-2]
    s = s.strip()
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1]
    s = s.translate(_MONEY_STRIP)
    if s.startswith("(") and s.endswith(")"):  # $(12.00)
        negative, s = True, s[1:-1]
    if s.endswith("-"):
        negative, s = True, s[:-1]
    if s.startswith("-"):
        negative, s = not negative, s[1:]
    elif s.startswith("+"):
        s = s[1:]
    s = _with_point(s.lstrip("$"), decimal, text)
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not an amount: {str(text)!r}") from None
    value = _money(value, text)
    return value.copy_negate() if negative else value


def _money(value: Decimal, text: object) -> Decimal:
    """The value when it can be money, else ValueError saying why. Checked without
    arithmetic: abs() or quantize() on 1e999999999 would raise decimal.Overflow."""
    if not value.is_finite():
        raise ValueError(f"not an amount: {str(text)!r}")
    if value.copy_abs() >= MAX_AMOUNT:
        raise ValueError(f"not an amount: {str(text)!r} is beyond the largest amount read "
                         f"({MAX_AMOUNT:,})")
    _, digits, exponent = value.as_tuple()
    if not any(digits):  # 0E-1000 and 0E+1000 are zero
        return value if -MONEY_SCALE <= exponent <= 0 else Decimal(0)
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    if exponent + zeros < -MONEY_SCALE:  # 1.50000000 is fine, 0.0000001 is not
        raise ValueError(f"not an amount: {str(text)!r} has more than {MONEY_SCALE} decimal places")
    return value


def parse_decimal(text: object) -> Decimal | None:
    """Quantities and rates: same rules as money."""
    return parse_money(text)


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%Y/%m/%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%d %B %Y",
    "%m-%d-%Y",
    "%m-%d-%y",
    "%Y%m%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)
_date_cache: dict[str, date | None] = {}


def parse_date(text: object) -> date | None:
    """ISO, MM/DD/YYYY, MM/DD/YY, `Mar 1, 2025`, `06-Feb-23`, Excel dates -> date; blank -> None."""
    if text is None:
        return None
    if isinstance(text, datetime):
        return text.date()
    if isinstance(text, date):
        return text
    s = str(text).strip()
    if not s:
        return None
    if s in _date_cache:
        value = _date_cache[s]
    else:
        # text with no digit (MTM, N/A) is never a date: don't try every format on it
        value = _parse_date_text(s) if any(ch.isdigit() for ch in s) else None
        if len(_date_cache) < 200_000:
            _date_cache[s] = value  # failures too: "MTM" fills whole columns
    if value is None:
        raise ValueError(f"not a date: {s!r} (expected e.g. 2025-03-01, 03/01/2025 or Mar 1, 2025)")
    return value


def _parse_date_text(s: str) -> date | None:
    s = " ".join(s.replace(".", " ").split()) if re.search(r"[A-Za-z]{3}\.", s) else s
    for fmt in _DATE_FORMATS:
        try:
            d = datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        if 1900 <= d.year <= 2200:
            return d
    return None


# Two dates separated by "-", "–", "to" or "thru"; each date may itself contain '-' (ISO).
DATE_PATTERN = (
    r"(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}|\d{4}/\d{1,2}/\d{1,2}"
    r"|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2}-[A-Za-z]{3}-\d{2,4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4})"
)
_TO = r"\s*(?:-|–|—|to|thru|through)\s*"
_PERIOD_RE = re.compile(rf"^\s*({DATE_PATTERN}){_TO}({DATE_PATTERN})\s*$", re.IGNORECASE)
# "Apr 1 - Apr 30, 2025": the year printed once, after the end date
_ONE_YEAR_RE = re.compile(rf"^\s*([A-Za-z]{{3,9}}\.? \d{{1,2}}){_TO}([A-Za-z]{{3,9}}\.? \d{{1,2}}),? (\d{{4}})\s*$",
                          re.IGNORECASE)


def parse_period(text: object) -> tuple[date, date] | None:
    """`03/01/25-03/31/25`, `2025-03-01 to 2025-03-31`, `Mar 1, 2025 - Mar 31, 2025`,
    `01 Mar 2025 - 31 Mar 2025`, `Mar 1 - Mar 31, 2025` -> (start, end)."""
    if text is None:
        return None
    s = str(text).strip()
    if not s:
        return None
    m = _PERIOD_RE.match(s)
    if m:
        start, end = parse_date(m.group(1)), parse_date(m.group(2))
    elif m := _ONE_YEAR_RE.match(s):
        end = parse_date(f"{m.group(2)} {m.group(3)}")
        start = parse_date(f"{m.group(1)} {m.group(3)}")
        if start > end:  # "Dec 17 - Jan 16, 2025" crosses New Year
            start = parse_date(f"{m.group(1)} {int(m.group(3)) - 1}")
    else:
        raise ValueError(f"not a service period: {s!r} (expected e.g. 03/01/25-03/31/25)")
    if start is None or end is None:
        raise ValueError(f"not a service period: {s!r}")
    if end < start:
        raise ValueError(f"service period ends before it starts: {s!r}")
    return start, end


_YEARLESS = re.compile(r"^\s*([A-Za-z]{3,9})\.? ?(\d{1,2})\s*(?:-|–|to)\s*([A-Za-z]{3,9})\.? ?(\d{1,2})\s*$")


def parse_yearless_period(text: str, bill: date | None) -> tuple[date, date] | None:
    """'Jul 17 -Aug 16' on the bill of 2021-08-16 -> (2021-07-17, 2021-08-16). The period ends
    in the year that puts it nearest the bill date: usage in arrears ends before it, a month
    billed in advance ('Dec 15 - Jan 14' on the bill of 2024-12-15) a month after; it may cross
    New Year. None when the text is not such a period or there is no bill date."""
    m = _YEARLESS.match(text)
    if not m or bill is None:
        return None
    try:
        s = datetime.strptime(f"{m.group(1)[:3]} {m.group(2)} 2000", "%b %d %Y")
        e = datetime.strptime(f"{m.group(3)[:3]} {m.group(4)} 2000", "%b %d %Y")
    except ValueError:
        return None
    ends = [d for d in (_on_year(e, y) for y in (bill.year - 1, bill.year, bill.year + 1)) if d]
    if not ends:
        return None
    end = min(ends, key=lambda d: abs((d - bill).days))
    start = _on_year(s, end.year)
    if start is not None and start > end:
        start = _on_year(s, end.year - 1)
    if start is None or end is None:
        return None
    return start, end


def _on_year(d: datetime, year: int):
    try:
        return d.date().replace(year=year)
    except ValueError:  # Feb 29 outside a leap year
        return None


def add_months(d: date, months: int) -> date:
    """Same day `months` later, clamped to the month's last day (Jan 31 + 1 -> Feb 28)."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, days_in_month(year, month)))


def days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def money(v: Decimal | None) -> str:
    """$1,234.50 / -$12.00 for sentences a person reads."""
    if v is None:
        return ""
    q = v.quantize(CENT)
    if q == 0:
        q = abs(q)  # -0.001 rounds to -0.00: print it as $0.00
    return f"-${-q:,.2f}" if q < 0 else f"${q:,.2f}"


def cents(v: Decimal) -> Decimal:
    from decimal import ROUND_HALF_UP

    return v.quantize(CENT, rounding=ROUND_HALF_UP)
