"""Service periods: how many months a period is worth, under the conventions carriers use.

Carriers prorate partial months differently (domain.md R12): actual days of the calendar
month, 30-day months, or anniversary cycles (counted from the period's start, or back from
its end: a first partial period is its days over the billing cycle it closes), and some
round a daily rate to cents first.
`expected_charges` returns the primary figure (actual days of each calendar month) and
every accepted alternative; a rule flags a charge only above all of them.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from reconcile.core.values import CENT, add_months, days_in_month

ONE_DAY = timedelta(days=1)


def _month_spans(start: date, end: date):
    """(days covered, days in that month) for each calendar month the period touches."""
    d = start
    while d <= end:
        dim = days_in_month(d.year, d.month)
        last = min(end, date(d.year, d.month, dim))
        yield (last - d).days + 1, dim
        d = last + ONE_DAY


def anniversary_months(start: date, end: date) -> Decimal:
    """Whole cycles from the start day, then the rest over the next cycle's length."""
    whole = 0
    while add_months(start, whole + 1) - ONE_DAY <= end:
        whole += 1
    rest_from = add_months(start, whole)
    if rest_from > end:
        return Decimal(whole)
    cycle = (add_months(start, whole + 1) - rest_from).days
    return Decimal(whole) + Decimal((end - rest_from).days + 1) / Decimal(cycle)


def cycles_back_from_end(start: date, end: date) -> Decimal:
    """Whole cycles ending on `end`, then the days before them over the length of the cycle
    they fall in: Mar 9-14 of a 15th-to-14th cycle is 6/28 after a 28-day February."""
    whole = 0
    while add_months(end + ONE_DAY, -(whole + 1)) >= start:
        whole += 1
    rest_to = add_months(end + ONE_DAY, -whole)
    if rest_to <= start:
        return Decimal(whole)
    cycle = (rest_to - add_months(end + ONE_DAY, -(whole + 1))).days
    return Decimal(whole) + Decimal((rest_to - start).days) / Decimal(cycle)


def _cents(v: Decimal) -> Decimal:
    return v.quantize(CENT, rounding=ROUND_HALF_UP)


@lru_cache(maxsize=8192)
def _shape(start: date, end: date) -> tuple:
    """What a period is worth in months under each convention. A batch has few distinct
    periods and a million lines, so this is worked out once per period."""
    spans = tuple(_month_spans(start, end))
    calendar = sum((Decimal(n) / Decimal(dim) for n, dim in spans), Decimal(0))
    cycles = anniversary_months(start, end)
    thirty = sum((Decimal(1) if n == dim else Decimal(n) / 30 for n, dim in spans), Decimal(0))
    # a period of whole billing cycles (e.g. the 15th to the 14th) is worth exactly that many
    primary = cycles if cycles == int(cycles) else calendar
    back = None if cycles == int(cycles) else cycles_back_from_end(start, end)
    return primary, calendar, cycles, thirty, back, spans


def period_worth(start: date, end: date) -> tuple[Decimal, ...]:
    """What a period is worth in months under each convention but the daily-rounded one:
    primary, calendar days, anniversary cycles, 30-day months, cycles back from its end
    (None unless the period is partial)."""
    primary, calendar, cycles, thirty, back, _ = _shape(start, end)
    return primary, calendar, cycles, thirty, back


def whole_cycles(start: date, end: date) -> bool:
    """Is the period whole billing cycles (a calendar month, the 20th to the 19th, ...)?"""
    return _shape(start, end)[4] is None


def expected_charges(rate: Decimal, start: date, end: date) -> tuple[Decimal, list[Decimal]]:
    """(primary expected charge, all accepted expected charges) for a recurring rate."""
    primary, calendar, cycles, thirty, back, spans = _shape(start, end)
    daily_rounded = sum((rate if n == dim else _cents(rate / dim) * n for n, dim in spans),
                        Decimal(0))
    first = _cents(rate * primary)
    alts = [first, _cents(rate * calendar), _cents(rate * cycles), _cents(rate * thirty),
            _cents(daily_rounded)]
    if back is not None:  # a partial period: also over the billing cycle it closes
        alts.append(_cents(rate * back))
    return first, alts


def part_of_charge(amount: Decimal, start: date, end: date, part_start: date, part_end: date
                   ) -> Decimal:
    """What [part_start, part_end] is worth of a charge for [start, end], by calendar days: a
    whole billing cycle is the rate, prorated by calendar days of each month as any partial
    period is (expected_charges); another period, by its own days."""
    if period_worth(start, end)[0] == 1:
        return expected_charges(amount, part_start, part_end)[0]
    days = (end - start).days + 1
    return _cents(amount * ((part_end - part_start).days + 1) / days)


def overlap_days(a_start: date, a_end: date, b_start: date, b_end: date) -> int:
    return max(0, (min(a_end, b_end) - max(a_start, b_start)).days + 1)


def describe_period(start: date | None, end: date | None) -> str:
    """'April 2025' for a whole calendar month, else '2025-04-10 to 2025-04-30'."""
    if start is None:
        return "an unstated period"
    if end is None or end == start:
        return start.isoformat()
    if start.day == 1 and end == date(end.year, end.month, days_in_month(end.year, end.month)):
        if (start.year, start.month) == (end.year, end.month):
            return f"{start:%B %Y}"
        return f"{start:%B %Y} to {end:%B %Y}"
    return f"{start.isoformat()} to {end.isoformat()}"


def default_period(bill_date: date) -> tuple[date, date]:
    """Recurring charges with no printed period: the cycle the bill starts (billed in advance)."""
    return bill_date, add_months(bill_date, 1) - ONE_DAY
