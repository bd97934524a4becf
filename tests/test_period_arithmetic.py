"""What a service period is worth, to the day, under each proration convention
(reconcile.core.periods), and how periods are inferred and described."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reconcile.core.periods import (anniversary_months, cycles_back_from_end, default_period,
                                    describe_period, expected_charges, period_worth)

D = date


def frac(whole: int, days: int, cycle: int) -> Decimal:
    return Decimal(whole) + Decimal(days) / Decimal(cycle)


@pytest.mark.parametrize("start,end,worth", [
    (D(2025, 1, 15), D(2025, 2, 14), Decimal(1)),  # one whole cycle, the 15th to the 14th
    (D(2025, 1, 15), D(2025, 4, 14), Decimal(3)),  # three whole cycles
    (D(2025, 3, 10), D(2025, 3, 31), frac(0, 22, 31)),  # 22 days of the 31-day Mar 10 - Apr 9 cycle
    (D(2025, 1, 15), D(2025, 2, 15), frac(1, 1, 28)),  # a cycle and the first day of the next
    (D(2025, 1, 15), D(2025, 2, 20), frac(1, 6, 28)),  # a cycle and 6 days of Feb 15 - Mar 14
    (D(2025, 1, 15), D(2025, 3, 1), frac(1, 15, 28)),
])
def test_anniversary_cycles_count_whole_cycles_from_the_start_then_the_rest_of_the_next(start, end, worth):
    assert anniversary_months(start, end) == worth


@pytest.mark.parametrize("start,end,worth", [
    (D(2025, 2, 15), D(2025, 3, 14), Decimal(1)),  # exactly one cycle ending on the end date
    (D(2025, 3, 9), D(2025, 3, 14), frac(0, 6, 28)),  # 6 days of the 28-day Feb 15 - Mar 14 cycle
    (D(2025, 2, 1), D(2025, 3, 14), frac(1, 14, 31)),  # a cycle back, then 14 days of Jan 15 - Feb 14
    (D(2025, 2, 14), D(2025, 3, 14), frac(1, 1, 31)),  # a cycle back, then Feb 14 alone
    (D(2025, 1, 9), D(2025, 3, 14), frac(2, 6, 31)),  # two cycles back, then 6 days of Dec 15 - Jan 14
])
def test_cycles_back_from_the_end_count_whole_cycles_then_the_days_before_them(start, end, worth):
    assert cycles_back_from_end(start, end) == worth


def test_a_period_worth_is_given_under_each_convention():
    # Mar 10 - Apr 1: 22/31 of March and 1/30 of April by calendar days
    primary, calendar, cycles, thirty, back = period_worth(D(2025, 3, 10), D(2025, 4, 1))
    assert calendar == Decimal(22) / 31 + Decimal(1) / 30
    assert primary == calendar  # not a whole cycle: calendar days
    assert cycles == frac(0, 23, 31)
    assert thirty == Decimal(22) / 30 + Decimal(1) / 30
    assert back == frac(0, 23, 31)  # 23 days of the Mar 2 - Apr 1 cycle it closes
    assert period_worth(D(2025, 3, 31), D(2025, 3, 31))[1] == Decimal(1) / 31  # one day counts


def test_a_whole_cycle_is_worth_exactly_one_month_and_has_no_back_count():
    primary, calendar, cycles, thirty, back = period_worth(D(2025, 3, 15), D(2025, 4, 14))
    assert (primary, cycles, back) == (Decimal(1), Decimal(1), None)
    assert calendar == Decimal(17) / 31 + Decimal(14) / 30
    assert thirty == Decimal(17) / 30 + Decimal(14) / 30  # 31 days of 30-day months


def test_a_whole_calendar_month_is_the_rate_under_every_convention():
    # 100.00 / 31 rounded to 3.23 a day would give 100.13 for the month: a whole month is the rate
    primary, accepted = expected_charges(Decimal("100.00"), D(2025, 1, 1), D(2025, 1, 31))
    assert primary == Decimal("100.00")
    assert accepted == [Decimal("100.00")] * 5


def test_a_partial_month_accepts_a_daily_rate_rounded_to_cents():
    primary, accepted = expected_charges(Decimal("100.00"), D(2025, 3, 10), D(2025, 3, 31))
    assert primary == Decimal("70.97")  # 22/31
    assert Decimal("71.06") in accepted  # 22 x 3.23
    assert Decimal("73.33") in accepted  # 22/30
    assert max(accepted) == Decimal("73.33")


@pytest.mark.parametrize("bill,period", [
    (D(2025, 4, 1), (D(2025, 4, 1), D(2025, 4, 30))),
    (D(2025, 4, 15), (D(2025, 4, 15), D(2025, 5, 14))),
    (D(2025, 12, 20), (D(2025, 12, 20), D(2026, 1, 19))),
])
def test_a_recurring_charge_without_a_period_is_for_the_cycle_its_bill_starts(bill, period):
    assert default_period(bill) == period


@pytest.mark.parametrize("start,end,words", [
    (None, None, "an unstated period"),
    (D(2025, 4, 10), None, "2025-04-10"),
    (D(2025, 4, 10), D(2025, 4, 10), "2025-04-10"),
    (D(2025, 4, 1), D(2025, 4, 30), "April 2025"),
    (D(2025, 4, 1), D(2025, 5, 31), "April 2025 to May 2025"),
    (D(2025, 4, 1), D(2025, 4, 15), "2025-04-01 to 2025-04-15"),
    (D(2025, 4, 10), D(2025, 4, 30), "2025-04-10 to 2025-04-30"),
    (D(2025, 3, 15), D(2025, 4, 14), "2025-03-15 to 2025-04-14"),
])
def test_a_period_is_described_by_its_months_only_when_they_are_whole(start, end, words):
    assert describe_period(start, end) == words
