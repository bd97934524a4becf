"""Reading the contracts, orders and payments files people keep (CSV or XLSX): headers by the
aliases of issue 11, values as people write them, one error per bad row, and a file that
cannot be read is one error and counts as not given."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from fixtures.tables import write_csv, write_xlsx
from reconcile.parsers.columns import (CONTRACT_FIELDS, ORDER_FIELDS, PAYMENT_FIELDS,
                                       load_mapping, norm_header)
from reconcile.parsers.record_values import ACTIONS, AFTER_TERM, STATUSES
from reconcile.parsers.records import read_record_file, read_records


@pytest.mark.parametrize("fields", [CONTRACT_FIELDS, ORDER_FIELDS, PAYMENT_FIELDS])
def test_no_header_names_two_fields(fields):
    """An alias shared by two fields would be read as whichever came first, silently."""
    owner: dict[str, str] = {}
    for name, aliases in fields.items():
        for alias in {norm_header(a) for a in [name.replace("_", " "), *aliases]}:
            assert owner.setdefault(alias, name) == name, (alias, owner[alias], name)


# --- contracts -------------------------------------------------------------------------------

ISSUE_CONTRACT_HEADERS = [  # two spellings of every field, from the issue's table
    ["Vendor", "BAN", "Circuit ID", "Product Name", "Contracted MRC", "NRC", "Discount %",
     "Effective Date", "Expiration", "Renewal", "MTM %", "Dispute Window", "Late Fee %",
     "Install Waived", "Disconnect Notice"],
    ["Provider", "Billing Account", "Telephone Number", "Charge Description", "Contract Rate",
     "Installation Charge", "Term Discount", "Contract Start", "Term End", "Evergreen",
     "Holdover %", "Claim Window", "Late Payment Charge", "Waived", "Notice Period"],
]


@pytest.mark.parametrize("headers", ISSUE_CONTRACT_HEADERS)
def test_contracts_csv_with_the_issue_aliases(tmp_path, headers):
    path = write_csv(tmp_path / "contracts.csv", [
        ["Contracts as of June"],  # a title line above the header
        headers,
        ["Lumen", "8310-4471-22", "12.HCGS.123456..LY", "", "$1,200.00", "250", "10%",
         "01/01/2024", "2025-12-31", "Auto-Renew", "125%", "60 days", "1.5", "yes", "45"],
        ["Lumen", "8310-4471-22", "", "DIA 100M", "900", "", "0.15", "2024-01-01", "2026-12-31",
         "mtm", "1.5", "", "", "No", ""],
    ])
    got = read_record_file("contracts", path)
    assert not got.errors and got.read
    circuit, product = got.records
    assert circuit.model_dump(exclude={"source"}) == {
        "row": 3, "carrier": "Lumen", "account": "8310-4471-22",
        "service_id": "12.HCGS.123456..LY", "product": "", "monthly_rate": Decimal("1200.00"),
        "one_time_rate": Decimal("250"), "discount_pct": Decimal("10"),
        "term_start": date(2024, 1, 1), "term_end": date(2025, 12, 31), "after_term": "hold",
        "mtm_rate_pct": Decimal("125"), "dispute_window_days": 60,
        "late_fee_pct": Decimal("1.5"), "nrc_waived": True, "notice_days": 45}
    assert circuit.source == str(path) and circuit.where == f"{path} row 3"
    # a fraction is a percent (0.15 = 15 %), a ratio a month-to-month ceiling (1.5 = 150 %)
    assert (product.product, product.discount_pct, product.after_term, product.mtm_rate_pct,
            product.nrc_waived, product.notice_days) == (
        "DIA 100M", Decimal("15"), "month-to-month", Decimal("150"), False, None)


def test_contracts_xlsx_typed_cells_on_their_own_sheet(tmp_path):
    """One workbook holding the inventory and the contracts: the sheet named Contracts is read,
    not the first sheet (whose Circuit ID, Vendor, MRC and Term End would pass for contract
    columns). Typed cells: dates, a 10 % cell stored as 0.1, an account stored as a number."""
    path = write_xlsx(tmp_path / "book.xlsx", {
        "Circuits": [["Circuit ID", "Vendor", "MRC", "Term End"],
                     ["12.HCGS.123456..LY", "Lumen", 450, datetime(2025, 12, 31)]],
        "Contracts": [["Carrier", "Account Number", "Circuit", "Rate", "Discount", "Start Date",
                       "End Date", "At Term End", "Month-to-Month %", "NRC Waived"],
                      ["Lumen", 83104471, "12.HCGS.123456..LY", 400.5, 0.1,
                       datetime(2025, 1, 1), datetime(2027, 12, 31), "Same Rate", 1.25, "Y"]],
    })
    (term,) = read_record_file("contracts", path).records
    assert (term.account, term.monthly_rate, term.discount_pct, term.term_start, term.term_end,
            term.after_term, term.mtm_rate_pct, term.nrc_waived, term.row) == (
        "83104471", Decimal("400.5"), Decimal("10.0"), date(2025, 1, 1), date(2027, 12, 31),
        "hold", Decimal("125"), True, 2)


def test_bad_contract_rows_are_one_error_each_and_the_rest_is_used(tmp_path):
    path = write_csv(tmp_path / "contracts.csv", [
        ["Carrier", "Circuit ID", "Product", "MRC", "Start Date", "End Date", "Renewal", "Waived"],
        ["Lumen", "A1", "", "450.00", "2024-01-01", "2024-12-31", "", ""],
        ["", "A2", "", "450.00", "2024-01-01", "2024-12-31", "", ""],
        ["Lumen", "A3", "", "four hundred", "2024-13-01", "2024-12-31", "forever", "maybe"],
        ["Lumen", "", "", "100.00", "", "", "", ""],
        ["Lumen", "A4", "", "100.00", "2025-01-01", "2024-01-01", "", ""],
        ["Lumen", "A5", "", "310.00", "", "MTM", "", ""],  # a term with no end date
    ])
    got = read_record_file("contracts", path)
    assert [(c.service_id, c.term_end) for c in got.records] == [("A1", date(2024, 12, 31)),
                                                                 ("A5", None)]
    assert [(e.file, e.row, e.effect) for e in got.errors] == [
        (str(path), n, "row skipped") for n in (3, 4, 5, 6)]
    reasons = [e.reason for e in got.errors]
    assert "carrier is blank" in reasons[0]
    assert all(w in reasons[1] for w in ("monthly_rate", "term_start", "after_term", "nrc_waived"))
    assert "neither a service ID nor a product" in reasons[2]
    assert "term ends (2024-01-01) before it starts (2025-01-01)" in reasons[3]


# --- orders ----------------------------------------------------------------------------------

def _synonyms(words: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(w, key) for key, synonyms in words.items() for w in (key, *synonyms)]


def test_every_action_and_status_word_of_the_issue(tmp_path):
    actions, statuses = _synonyms(ACTIONS), _synonyms(STATUSES)
    assert {w for w, _ in actions} >= {"new", "add", "connect", "provide", "modify", "upgrade",
                                       "move", "cancel service", "terminate", "remove"}
    assert {w for w, _ in statuses} >= {"complete", "closed", "open", "submitted", "in progress",
                                        "canceled", "void"}
    assert {w for k, v in AFTER_TERM.items() for w in (k, *v)} >= {
        "hold", "auto-renew", "same rate", "month-to-month", "mtm"}
    n = max(len(actions), len(statuses))
    rows = [[f"PON-{i}", "C1", actions[i % len(actions)][0].upper(),
             statuses[i % len(statuses)][0].title()] for i in range(n)]
    path = write_csv(tmp_path / "orders.csv", [["Order #", "Circuit ID", "Order Type", "Order Status"],
                                               *rows])
    got = read_record_file("orders", path)
    assert not got.errors
    assert [(o.action, o.status) for o in got.records] == [
        (actions[i % len(actions)][1], statuses[i % len(statuses)][1]) for i in range(n)]


@pytest.mark.parametrize("workbook", [False, True])
def test_orders_with_the_issue_aliases(tmp_path, workbook):
    headers = ["PON", "Account", "Vendor", "TN", "Activity", "Status", "Date Ordered",
               "Requested Due Date", "Firm Order Commitment", "Disconnect Date", "One-Time Charge",
               "New MRC", "Description"]
    rows = [headers,
            ["PON-1", "8310", "Lumen", "212-555-0147", "Cancel Service", "Submitted", "2025-02-01",
             "2025-03-01", "", "", "", "", "lost disconnect"],
            ["PON-2", "8310", "Lumen", "212-555-0148", "Provide", "", "2025-01-05", "2025-01-20",
             "2025-02-10", "2025-02-12", "$250.00", "35", "late turn-up"],
            ["PON-3", "8310", "Lumen", "212-555-0149", "Move", "", "2025-01-05", "", "", "", "",
             "", ""],
            ["PON-4", "8310", "Lumen", "", "Add", "Open", "", "", "", "", "", "", ""],
            ["PON-5", "8310", "Lumen", "212-555-0150", "Swap", "Open", "", "", "", "", "", "", ""]]
    path = (write_xlsx(tmp_path / "orders.xlsx", {"Sheet1": rows}) if workbook
            else write_csv(tmp_path / "orders.csv", rows))
    got = read_record_file("orders", path)
    lost, late, move = got.records
    assert (lost.action, lost.status, lost.order_date, lost.due_date) == (
        "disconnect", "pending", date(2025, 2, 1), date(2025, 3, 1))
    # no status written: a completion date means completed, none means pending
    assert (late.action, late.status, late.foc_date, late.completed_date, late.quoted_nrc,
            late.new_rate, late.description) == (
        "install", "completed", date(2025, 2, 10), date(2025, 2, 12), Decimal("250.00"),
        Decimal("35"), "late turn-up")
    assert (move.action, move.status, move.row) == ("change", "pending", 4)
    assert [(e.row, e.effect) for e in got.errors] == [(5, "row skipped"), (6, "row skipped")]
    assert "service_id is blank" in got.errors[0].reason
    assert "'Swap' is none of: install (new, add, connect, provide)" in got.errors[1].reason


# --- payments --------------------------------------------------------------------------------

@pytest.mark.parametrize("headers", [["Account", "Paid On", "Amount", "Check Number", "Invoice Number"],
                                     ["BAN", "Date", "Amount", "Confirmation", "Invoice #"],
                                     ["Billing Account", "Payment Date", "Amount", "Payment ID", "Bill No"]])
def test_payments_with_the_issue_aliases(tmp_path, headers):
    path = write_csv(tmp_path / "payments.csv", [
        headers,
        ["0004471220", "03/20/2025", "$495.00", "ACH-3311", "88100"],
        ["0004471220", "2025-04-20", "(1,200.50)", "", ""],  # a payables ledger's sign
        ["0004471220", "someday", "10.00", "", ""],
        ["0004471220", "2025-05-20", "", "", ""],
    ])
    got = read_record_file("payments", path)
    assert [(p.account, p.date, p.amount, p.reference, p.invoice_number, p.row)
            for p in got.records] == [
        ("0004471220", date(2025, 3, 20), Decimal("495.00"), "ACH-3311", "88100", 2),
        ("0004471220", date(2025, 4, 20), Decimal("1200.50"), "", "", 3)]
    assert [(e.row, e.reason) for e in got.errors] == [
        (4, "payments: payment_date: not a date: 'someday' (expected e.g. 2025-03-01, "
            "03/01/2025 or Mar 1, 2025)"),
        (5, "payments: amount is blank")]


def test_payments_xlsx_finds_its_header_on_the_second_sheet(tmp_path):
    path = write_xlsx(tmp_path / "ap.xlsx", {
        "Notes": [["Payments to carriers, FY2025"]],
        "Ledger": [["Account", "Payment Date", "Amount", "Reference"],
                   ["8310-4471-22", datetime(2025, 3, 20), 495.0, "ACH-3311"]]})
    got = read_record_file("payments", path)
    (paid,) = got.records
    assert (paid.date, paid.amount, paid.reference) == (date(2025, 3, 20), Decimal("495.0"), "ACH-3311")
    assert any("read sheet 'Ledger'" in n for n in got.notes)


# --- files that cannot be read, and --columns ---------------------------------------------------

def test_a_file_that_cannot_be_read_is_one_error_and_not_given(tmp_path):
    good = write_csv(tmp_path / "orders.csv", [["Circuit ID", "Action"], ["C1", "install"]])
    no_column = write_csv(tmp_path / "contracts.csv", [["Vendor", "BAN", "Asset", "MRC"],
                                                       ["Lumen", "8310", "A1", "400"]])
    pdf = tmp_path / "payments.pdf"
    pdf.write_bytes(b"%PDF-1.7\n...")
    got = read_records({"contracts": no_column, "orders": good, "payments": pdf})
    assert got.records.given == {"orders"} and len(got.records.orders) == 1
    assert got.records.files == (("orders", str(good)),)
    assert [(e.file, e.row, e.effect) for e in got.errors] == [
        (str(no_column), None, "file skipped"), (str(pdf), None, "file skipped")]
    assert "headers seen: 'Vendor', 'BAN', 'Asset', 'MRC'" in got.errors[0].reason
    assert "contracts: {service_id:" in got.errors[0].reason  # how to map the column
    assert "CSV or XLSX" in got.errors[1].reason


def test_an_empty_file_is_given_with_no_records(tmp_path):
    path = write_csv(tmp_path / "payments.csv", [["Account", "Paid On", "Amount"]])
    got = read_records({"payments": path})
    assert got.records.given == {"payments"} and got.records.payments == () and not got.errors
    assert any("no payments rows under the header" in n for n in got.notes)


def test_mapping_sections_name_headers_the_aliases_miss(tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text('contracts:\n  monthly_rate: "Agreed $/mo"\n  service_id: "Ckt"\n'
                       'orders:\n  action: "What"\npayments:\n  payment_date: "Sent"\n')
    got = load_mapping(mapping)
    assert got["contracts"] == {"monthly_rate": "Agreed $/mo", "service_id": "Ckt"}
    contracts = write_csv(tmp_path / "c.csv", [["Vendor", "Ckt", "Agreed $/mo"], ["Lumen", "A1", "400"]])
    orders = write_csv(tmp_path / "o.csv", [["Circuit ID", "What"], ["A1", "disconnect"]])
    payments = write_csv(tmp_path / "p.csv", [["Account", "Sent", "Amount"], ["1", "2025-01-02", "5"]])
    read = read_records({"contracts": contracts, "orders": orders, "payments": payments}, got)
    assert not read.errors
    assert read.records.contracts[0].monthly_rate == Decimal("400")
    assert read.records.orders[0].action == "disconnect"
    assert read.records.payments[0].date == date(2025, 1, 2)


@pytest.mark.parametrize("text, message", [
    ("contracts:\n  rate_per_month: X\n", "contracts has no field 'rate_per_month'"),
    ("orders: [a, b]\n", "'orders' must map field names to headers"),
    ("payment:\n  amount: X\n", "unknown field 'payment'"),
])
def test_a_mapping_section_with_an_unknown_field_is_refused(tmp_path, text, message):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_mapping(mapping)


def test_a_reader_failure_is_the_file_s_error_not_the_batch_s_end(tmp_path, monkeypatch):
    import reconcile.parsers.records as records

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    path = write_csv(tmp_path / "payments.csv", [["Account", "Paid On", "Amount"], ["1", "2025-01-01", "5"]])
    monkeypatch.setattr(records, "read_record_file", broken)
    got = records.read_records({"payments": path})
    assert got.records.given == frozenset()
    (error,) = got.errors
    assert error.effect == "file skipped" and "TypeError: a bug" in error.reason


def test_a_decimal_comma_file_is_read_by_its_own_mark(tmp_path):
    """A European export (semicolons, 1.234,50): its rates, percents and amounts as it means
    them, decided once for the file, never 1,5 % read as 15 %."""
    path = tmp_path / "contracts.csv"
    path.write_text("Vendor;Circuit ID;MRC;Discount %;Late Fee %\n"
                    "Lumen;A1;1.234,50;12,5%;1,5\n"
                    "Lumen;A2;450,00;;\n", encoding="utf-8")
    got = read_record_file("contracts", path)
    assert not got.errors
    assert [(c.monthly_rate, c.discount_pct, c.late_fee_pct) for c in got.records] == [
        (Decimal("1234.50"), Decimal("12.5"), Decimal("1.5")), (Decimal("450.00"), None, None)]
    assert any("decimal comma" in n for n in got.notes)


def test_a_row_csv_cannot_split_is_that_row_s_error(tmp_path):
    path = tmp_path / "payments.csv"
    path.write_text('Account,Paid On,Amount,Reference\n'
                    '8310,2025-01-01,5.00,ok\n'
                    '8310,2025-02-01,6.00,"never closed\n'
                    '8310,2025-03-01,7.00,ok\n')
    got = read_record_file("payments", path)
    assert got.read and got.records[0].amount == Decimal("5.00")
    assert [e.row for e in got.errors] == [3] and got.errors[0].effect == "row skipped"


def test_a_file_past_a_limit_is_one_error_and_not_given(tmp_path):
    from reconcile.parsers.limits import Limits

    path = write_csv(tmp_path / "orders.csv", [["Circuit ID", "Action"],
                                               *[[f"C{i}", "install"] for i in range(10)]])
    got = read_records({"orders": path}, limits=Limits(rows=5))
    assert got.records.given == frozenset() and got.records.orders == ()
    (error,) = got.errors
    assert error.effect == "file skipped" and "rows limit (5)" in error.reason
