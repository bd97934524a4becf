"""Options are checked by click before anything runs: a value out of range is one clear
message and exit 2, never a traceback or a silently odd audit."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from click.testing import CliRunner

import reconcile.audit
from reconcile.cli import main


@pytest.fixture
def args(tmp_path, monkeypatch):
    (tmp_path / "inventory.csv").write_text("Circuit ID\nA1\n")
    (tmp_path / "bill.csv").write_text("Account,Invoice,Amount\n1,2,3.00\n")
    seen = {}

    def run_audit(paths, inventory, options=None, **kwargs):
        seen.update(options=options, **kwargs)
        raise ValueError("stop here: the options were accepted")

    monkeypatch.setattr(reconcile.audit, "run_audit", run_audit)
    return seen, ["audit", str(tmp_path / "bill.csv"), "--inventory", str(tmp_path / "inventory.csv"),
                  "--out", str(tmp_path / "out")]


def one_error(res, option: str) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and "stop here" not in res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert f"'{option}'" in line
    return line


@pytest.mark.parametrize("value", ["NaN", "nan", "sNaN", "inf", "-Infinity", "1e999999", "-5", "-0.01",
                                   "1000000", "2e6", "abc", ""])
def test_tolerance_out_of_range_is_one_message_and_exit_2(args, value):
    seen, argv = args
    line = one_error(CliRunner().invoke(main, [*argv, "--tolerance", value]), "--tolerance")
    assert "from 0 up to 1,000,000" in line or "is not an amount" in line
    assert "options" not in seen


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e999999", "-5", "100.01", "x"])
def test_match_threshold_out_of_range_is_one_message_and_exit_2(args, value):
    seen, argv = args
    one_error(CliRunner().invoke(main, [*argv, "--match-threshold", value]), "--match-threshold")
    assert "options" not in seen


@pytest.mark.parametrize("tolerance, threshold", [("0", "0"), ("0.01", "90"), ("999999.99", "100"), ("-0", "55.5")])
def test_values_in_range_reach_the_audit(args, tolerance, threshold):
    seen, argv = args
    res = CliRunner().invoke(main, [*argv, "--tolerance", tolerance, "--match-threshold", threshold])
    assert res.exit_code == 2 and "stop here" in res.output  # the audit was called with them
    assert seen["options"].tolerance == Decimal(tolerance) and seen["options"].match_threshold == float(threshold)


@pytest.mark.parametrize("value", ["2025-13-01", "yesterday", "", "31/12/2025", "1800-01-01"])
def test_an_as_of_that_is_no_date_is_one_message_and_exit_2(args, value):
    seen, argv = args
    line = one_error(CliRunner().invoke(main, [*argv, "--as-of", value]), "--as-of")
    assert "is not a date (e.g. 2025-06-30)" in line and not seen


@pytest.mark.parametrize("value, day", [("2025-06-30", date(2025, 6, 30)),
                                        ("06/30/2025", date(2025, 6, 30)),
                                        ("Jun 30, 2025", date(2025, 6, 30)),
                                        (None, date.today())])
def test_as_of_reaches_the_audit(args, value, day):
    seen, argv = args
    res = CliRunner().invoke(main, [*argv, *(["--as-of", value] if value else [])])
    assert "stop here" in res.output
    assert seen["options"].as_of == day
    assert {seen[k] for k in ("contracts", "orders", "payments")} == {None}


def test_a_records_option_naming_no_file_is_a_usage_error(args, tmp_path):
    seen, argv = args
    res = CliRunner().invoke(main, [*argv, "--contracts", str(tmp_path / "missing.xlsx")])
    assert res.exit_code == 2 and "'--contracts'" in res.output and not seen
