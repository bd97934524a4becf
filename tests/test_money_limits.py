"""What is not money is refused where it is read: NaN, infinity, an amount past MAX_AMOUNT,
more than MONEY_SCALE decimal places. Each is one row error naming file, row and value; the
good rows beside it are audited."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reconcile.audit import run_audit
from reconcile.core.lines import MAX_AMOUNT, MONEY_SCALE
from reconcile.core.values import parse_decimal, parse_money

INVENTORY = ("Circuit ID,BAN,Vendor,MRC,Install Date\n"
             "ABC123,8310-4471-22,Lumen,450.00,2024-01-01\n"
             "XYZ789,8310-4471-22,Lumen,1e30,2024-01-01\n")
HEADER = "Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,Service Period,Charge Amount\n"
ROW = "8310-4471-22,88231,04/01/2025,{sid},Port,MRC,04/01/25-04/30/25,{amount}\n"
BAD = ["1e26", "100000000000000000000000000", "NaN", "-Infinity", "0.0000001", "1E+999999999",
       "(1e999999999)", "12.00000001CR"]


@pytest.mark.parametrize("text", BAD + ["sNaN", "inf", "1e15", "-1000000000000000", "$1,000,000,000,000,000.00"])
def test_what_is_not_money_is_a_value_error(text):
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(text)
    with pytest.raises(ValueError):
        parse_decimal(text)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e26, Decimal("NaN"), Decimal("1e15"), 10 ** 20,
                                   Decimal("0.0000001")])
def test_what_is_not_money_from_a_workbook_is_a_value_error(value):
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(value)


@pytest.mark.parametrize("text, value", [
    ("999999999999999.99", Decimal("999999999999999.99")), ("-999,999,999,999,999.999999", None),
    ("1.50000000", Decimal("1.5")), ("0.000001", Decimal("0.000001")), ("0E-1000", Decimal(0)),
    ("1E+3", Decimal(1000)), ("(0.0125)", Decimal("-0.0125")),
])
def test_money_up_to_the_limits_is_read(text, value):
    got = parse_money(text)
    assert got == (value if value is not None else -MAX_AMOUNT + Decimal(1).scaleb(-MONEY_SCALE))


def test_a_row_past_the_limits_is_one_error_and_the_good_rows_are_audited(tmp_path):
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    rows = [ROW.format(sid="ABC123", amount="450.00")]
    rows += [ROW.format(sid=f"BAD{i}", amount=a) for i, a in enumerate(BAD)]
    rows += [ROW.format(sid="XYZ789", amount="100.00")]
    bill = tmp_path / "bill.csv"
    bill.write_text(HEADER + "".join(rows))
    result = run_audit([bill], tmp_path / "inventory.csv", workers=1)
    assert [ln.service_id for ln in result.lines] == ["ABC123", "XYZ789"]
    assert sum(ln.amount for ln in result.lines) == Decimal("550.00")
    row_errors = [e for e in result.errors if e.file == str(bill)]
    assert [e.row for e in row_errors] == list(range(3, 3 + len(BAD)))
    for e, text in zip(row_errors, BAD):
        assert e.effect == "row skipped" and repr(text) in e.reason, e.reason
    (inv_error,) = [e for e in result.errors if e.file.endswith("inventory.csv")]
    assert inv_error.row == 3 and "monthly_rate" in inv_error.reason and "1e30" in inv_error.reason
    assert [s.service_id for s in result.services] == ["ABC123", "XYZ789"]  # the service kept, its rate blank
