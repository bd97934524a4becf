"""Property tests of the value parsers (Hypothesis): on any text they return a value or raise
ValueError, nothing else, and what they read round-trips.

`make test` runs them briefly (200 examples each); `make fuzz` runs them long
(RECONCILE_FUZZ_EXAMPLES, default there 20,000 each).
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconcile.core.ids import account_key, circuit_tn_key, fold, service_key
from reconcile.core.lines import MAX_AMOUNT, MONEY_SCALE
from reconcile.core.values import (parse_date, parse_decimal, parse_money, parse_period,
                                   parse_yearless_period)
from reconcile.parsers.columns import norm_header

EXAMPLES = int(os.environ.get("RECONCILE_FUZZ_EXAMPLES", "200"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# any text: every Unicode category, surrogates and controls included
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
# text made of what money, dates and periods are written with, so the parsers get past their
# first checks and into the arithmetic
MONEY_CHARS = st.text(st.sampled_from(list("0123456789.,-+()$€£ eE CRDRnaifNAI\u00a0\t٣１")), max_size=40)
DATE_CHARS = st.text(st.sampled_from(list("0123456789/-. ,:TJanFebMrApyulgSOctNovDecto–thru")), max_size=40)
TEXTS = st.one_of(ANY_TEXT, MONEY_CHARS, DATE_CHARS)
BILL_DATES = st.one_of(st.none(), st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
MONEY = st.decimals(min_value=-MAX_AMOUNT + 1, max_value=MAX_AMOUNT - 1, places=2, allow_nan=False,
                    allow_infinity=False)


def only_value_error(parse, *args):
    try:
        return parse(*args)
    except ValueError:
        return None


@fuzz
@given(TEXTS)
@example("1e999999999-")
@example("(1E+999999999)")
@example("0E-1000000")
@example("sNaN")
@example("9" * 5000)
def test_parse_money_and_decimal_raise_only_value_error(text):
    for parse in (parse_money, parse_decimal):
        value = only_value_error(parse, text)
        if value is not None:
            assert isinstance(value, Decimal) and value.is_finite()
            assert value.copy_abs() < MAX_AMOUNT
            assert value.as_tuple().exponent >= -MONEY_SCALE or value == value.quantize(
                Decimal(1).scaleb(-MONEY_SCALE))


@fuzz
@given(st.one_of(st.floats(), st.integers(), st.decimals()))
def test_parse_money_on_workbook_numbers_raises_only_value_error(number):
    value = only_value_error(parse_money, number)
    assert value is None or value.is_finite() and value.copy_abs() < MAX_AMOUNT


@fuzz
@given(TEXTS)
@example("31/12/99999")
@example("Feb 29, 1900")
def test_parse_date_raises_only_value_error(text):
    value = only_value_error(parse_date, text)
    assert value is None or isinstance(value, date)


@fuzz
@given(TEXTS)
@example("Dec 17 - Jan 16, 0001")
@example("Dec 17 - Jan 16, 1900")
@example("Feb 29 - Mar 1, 2023")
def test_parse_period_raises_only_value_error(text):
    value = only_value_error(parse_period, text)
    if value is not None:
        start, end = value
        assert start <= end


@fuzz
@given(TEXTS, BILL_DATES)
@example("Dec 15 - Jan 14", date(1, 1, 1))
@example("Dec 15 - Jan 14", date(9999, 12, 31))
@example("Feb 29 - Mar 1", date(2023, 3, 1))
def test_parse_yearless_period_raises_only_value_error(text, bill):
    value = only_value_error(parse_yearless_period, text, bill)
    if value is not None:
        start, end = value
        assert start <= end


@fuzz
@given(TEXTS)
def test_id_keys_raise_nothing_and_are_plain(text):
    for key in (service_key, account_key, circuit_tn_key):
        got = key(text)
        assert isinstance(got, str) and got == got.strip()
        got.encode("utf-8")  # no lone surrogate: keys are written into reports
    assert service_key(fold(text)) == service_key(text)
    assert account_key(fold(text)) == account_key(text)
    norm_header(text).encode("ascii")


@fuzz
@given(TEXTS)
def test_ids_match_their_full_width_forms(text):
    ascii_text = "".join(c for c in text if " " < c <= "~")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in ascii_text)
    assert service_key(wide) == service_key(ascii_text)
    assert account_key(wide) == account_key(ascii_text)
    assert norm_header(wide) == norm_header(ascii_text)


@fuzz
@given(MONEY)
def test_money_as_carriers_print_it_reads_back(value):
    magnitude = f"{abs(value):,.2f}"
    assert parse_money(f"{value:,.2f}") == value
    assert parse_money(f"${value:.2f}") == value
    if value < 0:
        for printed in (f"({magnitude})", f"{magnitude}CR", f"{magnitude}-", f"$({magnitude})", f"$-{magnitude}"):
            assert parse_money(printed) == value, printed
    else:
        assert parse_money(f"{magnitude}DR") == value
    assert parse_money(repr(float(value))) == Decimal(repr(float(value)))


@fuzz
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_dates_and_periods_as_carriers_print_them_read_back(a, b):
    start, end = min(a, b), max(a, b)
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%b %d, %Y", "%d %b %Y", "%d-%b-%Y"):
        assert parse_date(start.strftime(fmt)) == start
    assert parse_period(f"{start:%m/%d/%Y}-{end:%m/%d/%Y}") == (start, end)
    assert parse_period(f"{start:%Y-%m-%d} to {end:%Y-%m-%d}") == (start, end)
    if start.year == end.year and start.strftime("%m%d") != "0229":
        assert parse_period(f"{start:%b} {start.day} - {end:%b} {end.day}, {end.year}") == (start, end)
