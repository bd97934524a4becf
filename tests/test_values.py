from datetime import date
from decimal import Decimal

import pytest

from reconcile.core.values import parse_date, parse_money, parse_period


@pytest.mark.parametrize("text,want", [
    ("$1,234.50", "1234.50"), ("(12.00)", "-12.00"), ("-12.00", "-12.00"), ("12.00CR", "-12.00"),
    ("$(12.00)", "-12.00"), ("-$12.00", "-12.00"), ("12.00-", "-12.00"), ("   13951.18", "13951.18"),
    ("0", "0"), (450.1, "450.1"), (45, "45"), ("$ 1 234.00", "1234.00"),
])
def test_money_formats_become_exact_decimals(text, want):
    got = parse_money(text)
    assert isinstance(got, Decimal) and got == Decimal(want)


@pytest.mark.parametrize("text", ["", "  ", None])
def test_blank_money_is_none(text):
    assert parse_money(text) is None


@pytest.mark.parametrize("text", ["abc", "12.00.00", "$$"])
def test_bad_money_says_what_it_saw(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(text)


@pytest.mark.parametrize("text", ["2025-03-01", "03/01/2025", "03/01/25", "Mar 1, 2025",
                                  "March 1, 2025", "01-Mar-2025", "2025/03/01"])
def test_date_formats(text):
    assert parse_date(text) == date(2025, 3, 1)


def test_bad_date_names_the_value():
    with pytest.raises(ValueError, match="31/02/2025"):
        parse_date("31/02/2025")


@pytest.mark.parametrize("text", ["03/01/25-03/31/25", "03/01/2025 - 03/31/2025", "2025-03-01 to 2025-03-31",
                                  "Mar 1, 2025 - Mar 31, 2025", "2025-03-01-2025-03-31",
                                  "01 Mar 2025 - 31 Mar 2025", "1 March 2025 to 31 March 2025",
                                  "Mar 1 - Mar 31, 2025"])
def test_service_period_column(text):
    assert parse_period(text) == (date(2025, 3, 1), date(2025, 3, 31))


def test_a_period_with_its_year_printed_once_may_cross_new_year():
    assert parse_period("Dec 17 - Jan 16, 2025") == (date(2024, 12, 17), date(2025, 1, 16))


def test_period_ending_before_it_starts_is_an_error():
    with pytest.raises(ValueError, match="ends before"):
        parse_period("03/31/25-03/01/25")


def test_money_text_never_shows_negative_zero():
    from reconcile.core.values import money

    assert (money(Decimal("-0.001")), money(Decimal("-12")), money(Decimal("1234.5"))) == \
        ("$0.00", "-$12.00", "$1,234.50")
