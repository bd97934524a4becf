"""A bill's account summary in CSV/XLSX exports: previous balance, payments, adjustments,
current charges, amount due and due date, as columns on every row or as summary rows. Summary
rows are never charges and never unreadable; the amount due is not the invoice total."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from fixtures.tables import write_csv, write_xlsx
from reconcile.audit import run_audit
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.parsers.invoice_summary import summary_label

HEAD = ["Account", "Invoice", "Bill Date", "Circuit ID", "Description", "Type", "Amount"]
CIRCUIT = "12.HCGS.123456..LY"


def summary(inv) -> tuple:
    return (inv.previous_balance, inv.payments, inv.adjustments, inv.current_charges,
            inv.amount_due, inv.due_date)


@pytest.mark.parametrize("label, field", [
    ("Previous Balance", "previous_balance"), ("Balance Forward", "previous_balance"),
    ("Payments Received", "payments"), ("Payments Received - Thank You", "payments"),
    ("Adjustments", "adjustments"), ("Current Charges", "current_charges"),
    ("TOTAL CURRENT CHARGES", "current_charges"), ("Amount Due", "amount_due"),
    ("Total Amount Due", "amount_due"), ("Balance Due", "amount_due"), ("Due Date", "due_date"),
    ("Payment Due", "due_date"), ("MPLS port", None), ("Late payment charge", None),
    ("Total", None), ("Subtotal current charges", None)])
def test_summary_labels_of_the_issue(label, field):
    assert summary_label(label) == field


def test_summary_columns_repeated_on_every_row(tmp_path):
    cols = ["Balance Forward", "Payments Received", "Adjustments", "Total Current Charges",
            "Total Amount Due", "Payment Due"]
    fig = ["495.00", "-495.00", "0.00", "495.00", "495.00", "04/25/2025"]
    path = write_csv(tmp_path / "bill.csv", [
        HEAD + cols,
        ["8310", "88231", "2025-04-01", CIRCUIT, "MPLS port", "MRC", "450.00", *fig],
        ["8310", "88231", "2025-04-01", "", "Taxes", "Tax", "45.00", *fig[:4], "500.00", fig[5]],
        ["8310", "88300", "2025-05-01", CIRCUIT, "MPLS port", "MRC", "450.00", "495.00", "", "",
         "450.00", "945.00", "05/25/2025"]])
    got = read_invoice_table(path)
    april, may = got.invoices
    assert summary(april) == (Decimal("495.00"), Decimal("-495.00"), Decimal("0.00"),
                              Decimal("495.00"), Decimal("495.00"), date(2025, 4, 25))
    assert summary(may) == (Decimal("495.00"), None, None, Decimal("450.00"), Decimal("945.00"),
                            date(2025, 5, 25))
    # current charges are the total the lines are checked against; the amount due is not
    assert (april.stated_total, may.stated_total) == (Decimal("495.00"), Decimal("450.00"))
    assert [len(i.line_ids) for i in got.invoices] == [2, 1]
    # a figure that changes within an invoice: the first is kept, the other reported
    (error,) = got.errors
    assert (error.row, error.effect) == (3, "value ignored")
    assert "amount due 500.00 differs from 495.00" in error.reason and april.unreadable_rows == 0


def summary_rows(first: list[list], invoice: str = "88231") -> list[list]:
    row = ["8310", invoice, "2025-04-01", ""]
    return [
        [*row, "Previous Balance", "", "495.00"],
        [*row, "Payments Received - Thank You", "", "(495.00)"],
        *first,
        [*row, "Total Current Charges", "", "490.00"],
        [*row, "Total Amount Due", "", "$490.00"],
        [*row, "Due Date", "", "04/25/2025"],
    ]


def test_summary_rows_are_neither_charges_nor_unreadable(tmp_path):
    charges = [["8310", "88231", "2025-04-01", CIRCUIT, "MPLS port", "MRC", "450.00"],
               ["8310", "88231", "2025-04-01", "", "Taxes", "Tax", "45.00"],
               # an adjustment typed as a credit is a charge of the bill, not its summary
               ["8310", "88231", "2025-04-01", "", "Adjustments", "Credit", "-5.00"]]
    path = write_csv(tmp_path / "bill.csv", [HEAD, *summary_rows(charges)])
    got = read_invoice_table(path)
    assert not got.errors, [str(e) for e in got.errors]
    (inv,) = got.invoices
    assert summary(inv) == (Decimal("495.00"), Decimal("-495.00"), None, Decimal("490.00"),
                            Decimal("490.00"), date(2025, 4, 25))
    assert got.lines.table.column("amount").to_pylist() == [Decimal(x) for x in
                                                            ("450", "45", "-5")]
    assert inv.stated_total == Decimal("490.00") and inv.unreadable_rows == 0


def test_summary_rows_first_open_their_invoice_and_a_bad_value_is_only_ignored(tmp_path):
    """A summary-first export with two bills: each bill's figures go to it, not to the bill
    read before; a due date that is no date is reported, the bill is still checked."""
    rows = [HEAD]
    for number, day in (("A1", "04/25/2025"), ("A2", "someday")):
        block = summary_rows([], number)
        block[-1][-1] = day
        rows += block + [["8310", number, "2025-04-01", CIRCUIT, "MPLS port", "MRC", "490.00"]]
    path = write_xlsx(tmp_path / "bills.xlsx", {"Charges": rows})
    got = read_invoice_table(path)
    a1, a2 = got.invoices
    assert (a1.invoice_number, a1.due_date, len(a1.line_ids)) == ("A1", date(2025, 4, 25), 1)
    assert (a2.invoice_number, a2.due_date, a2.amount_due, len(a2.line_ids)) == (
        "A2", None, Decimal("490.00"), 1)
    (error,) = got.errors
    assert (error.row, error.effect) == (12, "value ignored") and "someday" in error.reason
    assert a2.unreadable_rows == 0


def test_a_due_date_typed_as_a_date_in_the_amount_column(tmp_path):
    path = write_xlsx(tmp_path / "bill.xlsx", {"Sheet": [
        HEAD, ["8310", "88231", datetime(2025, 4, 1), CIRCUIT, "MPLS port", "MRC", 450.0],
        ["8310", "88231", datetime(2025, 4, 1), "", "Payment Due", "", datetime(2025, 4, 25)]]})
    got = read_invoice_table(path)
    assert not got.errors and got.invoices[0].due_date == date(2025, 4, 25)


@pytest.mark.parametrize("current, findings", [("495.00", []), ("510.00", ["15.00"])])
def test_a_balance_carried_in_the_amount_due_is_no_total_mismatch(tmp_path, current, findings):
    """Last month's 495.00 unpaid: the amount due is 990.00, the lines make 495.00. Only
    current charges that differ from the lines are a mismatch."""
    write_csv(tmp_path / "inventory.csv", [["Circuit ID", "MRC"], [CIRCUIT, "450.00"]])
    path = write_csv(tmp_path / "bill.csv", [
        HEAD + ["Previous Balance", "Current Charges", "Amount Due"],
        ["8310", "88231", "2025-04-01", CIRCUIT, "MPLS port", "MRC", "450.00", "495.00", current,
         str(Decimal(current) + 495)],
        ["8310", "88231", "2025-04-01", "", "Taxes", "Tax", "45.00", "495.00", current,
         str(Decimal(current) + 495)]])
    result = run_audit([path], tmp_path / "inventory.csv")
    assert [str(f.amount_at_issue) for f in result.findings
            if f.rule == "invoice-total-mismatch"] == findings


def test_an_amount_due_row_is_no_longer_the_invoice_total(tmp_path):
    """It used to be: a bill carrying a balance then showed a mismatch of the balance."""
    write_csv(tmp_path / "inventory.csv", [["Circuit ID", "MRC"], [CIRCUIT, "450.00"]])
    path = write_csv(tmp_path / "bill.csv", [
        HEAD, ["8310", "88231", "2025-04-01", CIRCUIT, "MPLS port", "MRC", "450.00"],
        ["8310", "88231", "2025-04-01", "", "Total Amount Due", "", "900.00"]])
    result = run_audit([path], tmp_path / "inventory.csv")
    (inv,) = result.invoices
    assert (inv.amount_due, inv.stated_total) == (Decimal("900.00"), None)
    assert not [f for f in result.findings if f.rule == "invoice-total-mismatch"]
