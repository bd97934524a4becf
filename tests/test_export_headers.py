"""Header spellings a carrier portal uses (an independent batch of issue 8 used them): each
is read as the field it names, and where a field is missing the file says what was assumed,
never silently."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from reconcile.audit import run_audit

INVENTORY = "Circuit ID,BAN,Vendor,MRC\n24.IPZX.835166..IL,7266931786,Cascade,355.00\n"


def audit(tmp_path: Path, header: str, row: str):
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "bill.txt").write_text(header + "\n" + row + "\n")
    (tmp_path / "inventory.csv").write_text(INVENTORY)
    return run_audit([tmp_path / "inv"], tmp_path / "inventory.csv")


def test_statement_number_and_service_through_are_the_bill_number_and_the_period_end(tmp_path):
    got = audit(tmp_path, "Billing Account\tStatement Number\tStatement Date\tTelephone Number\t"
                          "Type\tService Description\tService From\tService Through\tCharge Amount",
                "7266931786\t1001\t01-Dec-2025\t24IPZX0835166IL\tRecurring\tDS1 Access\t"
                "01-Dec-2025\t31-Dec-2025\t355.00")
    (line,) = got.lines
    assert (line.invoice_number, line.period_start, line.period_end, line.period_inferred) == \
        ("1001", date(2025, 12, 1), date(2025, 12, 31), False)
    assert not got.findings  # billed at the rate for the month


def test_a_period_start_without_an_end_column_is_a_cycle_from_the_start_and_a_note(tmp_path):
    got = audit(tmp_path, "Billing Account\tBill Number\tStatement Date\tTelephone Number\tType\t"
                          "Service Description\tService From\tCharge Amount",
                "7266931786\t1001\t01-Dec-2025\t24IPZX0835166IL\tRecurring\tDS1 Access\t"
                "20-Nov-2025\t355.00")
    (line,) = got.lines
    # a recurring charge from 20 Nov: the cycle to 19 Dec, inferred; not one day at 355.00
    assert (line.period_start, line.period_end, line.period_inferred) == \
        (date(2025, 11, 20), date(2025, 12, 19), True)
    assert not [f for f in got.findings if f.amount_at_issue > Decimal(0)]
    assert any("'Service From'" in n and "no period end" in n for n in got.notes)


def test_a_usage_line_with_a_start_and_no_end_is_that_day(tmp_path):
    got = audit(tmp_path, "Account\tInvoice Number\tBill Date\tCircuit\tType\tDescription\t"
                          "Service From\tAmount",
                "7266931786\tA-1\t2025-12-01\t24IPZX0835166IL\tUsage\tLD call\t2025-11-03\t2.10")
    (line,) = got.lines
    assert (line.period_start, line.period_end, line.period_inferred) == \
        (date(2025, 11, 3), date(2025, 11, 3), False)


def test_bills_numbered_by_account_and_date_are_said_to_be(tmp_path):
    got = audit(tmp_path, "Billing Account\tRef\tStatement Date\tTelephone Number\tType\t"
                          "Service Description\tService From\tService To\tCharge Amount",
                "7266931786\tX9\t01-Dec-2025\t24IPZX0835166IL\tRecurring\tDS1 Access\t"
                "01-Dec-2025\t31-Dec-2025\t355.00")
    (line,) = got.lines
    assert line.invoice_number == "7266931786-20251201"
    assert any("no invoice number column" in n and "Ref" in n for n in got.notes)
