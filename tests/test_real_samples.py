"""Real carrier portal exports read through their dialects (parsers/dialects/*.yaml).

The samples are public test fixtures of Byte-Analytics/anonymizer (GPL v3), kept OUTSIDE this
repository in ../shared/real-samples (see its SOURCE.txt); these tests skip when it is absent.
No row of them is copied here: expected values are asserted, and the AT&T raw-data file's
account (a real BAN) is compared with what the file itself says rather than written down.
"""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
import yaml

from reconcile.parsers.dialect import DIALECT_DIR, find_dialect, load_dialects
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.core.values import parse_yearless_period
from reconcile.core.models import ChargeType

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "real-samples" / "byteanalytics-anonymizer"

needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"{SAMPLES} not present")


def read(rel: str, dialect: str):
    path = SAMPLES / rel
    if not path.is_file():
        pytest.skip(f"{path} not present")
    got = read_invoice_table(path)
    assert any(f"read as {dialect} " in n for n in got.notes), got.notes
    assert [e for e in got.errors if e.row is None] == [], got.errors  # no file-level error
    return got


def total(lines) -> Decimal:
    return sum((ln.amount for ln in lines), Decimal("0"))


def one(lines, **want):
    hits = [ln for ln in lines if all(getattr(ln, k) == v for k, v in want.items())]
    assert len(hits) == 1, (want, [(ln.service_id, ln.description, ln.amount) for ln in lines])
    return hits[0]


def rows_of(rel: str, delimiter: str, encoding: str = "utf-8", skip: int = 1):
    """The file's own rows as dicts, for comparing against the export's own totals."""
    with open(SAMPLES / rel, encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh, delimiter=delimiter))
    header = [h.strip() for h in rows[0]]
    return [(n, dict(zip(header, (c.strip() for c in r))))
            for n, r in enumerate(rows[skip:], start=skip + 1)]


# --- the dialect files themselves -----------------------------------------------------------

def test_every_dialect_yaml_loads_and_is_complete():
    files = sorted(DIALECT_DIR.glob("*.yaml"))
    assert len(files) >= 10
    dialects = {d.name: d for d in load_dialects()}
    assert len(dialects) == len(files), "dialect names must be unique"
    for path in files:
        data = yaml.safe_load(path.read_text())
        assert data["name"] == path.stem, path
        assert data["recognise"]["headers"], path
        assert data.get("carrier"), path
        for value in list((data.get("charge_types") or {}).values()) + [
                v for v in (data.get("melt") or {}).values() if v != "row"]:
            ChargeType(value)  # raises on a type that doesn't exist
        if data.get("default_charge_type"):
            ChargeType(data["default_charge_type"])
        d = dialects[data["name"]]
        # an export that has exactly the recognising headers is read as this dialect, not another
        assert find_dialect(d.recognise) is d, (d.name, find_dialect(d.recognise).name)
        # a wide export needs no amount column, a long one must say where its amount is
        assert d.melt or "amount" in d.columns, d.name


GRAND_TOTALS = ["Total Charges", "Total Current Charges", "Total Amount Due", "Ttl Charges",
                "Cur Chg Ttl", "Ttl Amt Due", "Total before taxes", "Usage Charges - Voice",
                "HST-ON Tel", "Txt Msg Amt"]


def test_melt_never_includes_a_total_or_a_breakdown_column():
    # melting a total as well as its parts would count the money twice
    for d in load_dialects():
        assert not set(d.melt) & set(GRAND_TOTALS), (d.name, set(d.melt) & set(GRAND_TOTALS))


def test_unknown_dialect_key_is_refused(tmp_path, monkeypatch):
    from reconcile.parsers import dialect as mod

    (tmp_path / "bad.yaml").write_text("name: bad\nrecognise: {headers: [A]}\ncolums: {}\n")
    monkeypatch.setattr(mod, "DIALECT_DIR", tmp_path)
    mod.load_dialects.cache_clear()
    try:
        with pytest.raises(ValueError, match="colums"):
            mod.load_dialects()
    finally:
        monkeypatch.undo()
        mod.load_dialects.cache_clear()


# --- features the real exports needed -------------------------------------------------------

def test_yearless_period_resolved_against_bill_date():
    assert parse_yearless_period("Jul 17 -Aug 16 ", date(2021, 8, 16)) == (date(2021, 7, 17),
                                                                      date(2021, 8, 16))
    # a bill in January for a period across New Year
    assert parse_yearless_period("Dec 17 - Jan 16", date(2022, 1, 16)) == (date(2021, 12, 17),
                                                                      date(2022, 1, 16))
    # a period ending in December on a bill printed early January
    assert parse_yearless_period("Nov 3 - Dec 2", date(2023, 1, 5)) == (date(2022, 11, 3),
                                                                   date(2022, 12, 2))
    # a month billed in advance on a December bill ends in January of the next year
    assert parse_yearless_period("Dec 15 - Jan 14", date(2024, 12, 15)) == (date(2024, 12, 15),
                                                                       date(2025, 1, 14))
    assert parse_yearless_period("Jul 17 -Aug 16", None) is None
    assert parse_yearless_period("07/17/21-08/16/21", date(2021, 8, 16)) is None


def test_verizon_charges_detail_keeps_only_billed_items(tmp_path):
    # the real sample has only 0.00 rows; the same layout with one billed item (values made up)
    header = ("ECPD Profile ID\tBill Cycle Date\tAccount Number\tInvoice Number\tWireless Number\t"
              "User Name\tCost Center\tUser ID\tItem Category\tDate\tItem Type\tItem Description\t"
              "Vendor Name / Contact Information\tShare Description\tShare Voice\tShare Messaging\t"
              "Share Data\tUsage Period\tAllowance\tUsed\tBillable\tCost\tOrder Details")
    rows = [
        "\tMar 16, 2025\tACC-1\tINV-9\t5550001111\tU1\tNA\tNA\tData\t\tgigabytes\tGIGABYTE USAGE\t"
        "\tShared Usage\tNA\tNA\t82000\tCurrent\t6.000(shared)\t6.581\t0\t0.00\t",
        "\tMar 16, 2025\tACC-1\tINV-9\t5550001111\tU1\tNA\tNA\tMonthly Charges\t\t\t"
        "BUSINESS UNLIMITED\t\tNA\tNA\tNA\tNA\tCurrent\t\t\t\t45.00\t",
        "\tMar 16, 2025\tACC-1\tINV-9\t5550001111\tU1\tNA\tNA\tInternational\t\tminutes\t"
        "INTL LD\t\tNA\tNA\tNA\tNA\tCurrent\t0\t12\t12\t3.60\t",
    ]
    f = tmp_path / "charges.txt"
    f.write_text("\n".join([header, *rows]) + "\n")
    got = read_invoice_table(f)
    assert any("verizon_wireless_charges_detail" in n for n in got.notes)
    assert got.errors == []
    assert [(ln.description, ln.charge_type, ln.amount) for ln in got.lines] == [
        ("BUSINESS UNLIMITED", ChargeType.RECURRING, Decimal("45.00")),
        ("INTL LD", ChargeType.USAGE, Decimal("3.60")),
    ]
    assert {ln.quantity for ln in got.lines} == {None}  # "Billable" is not mapped to quantity


# --- Verizon --------------------------------------------------------------------------------

@needs_samples
def test_verizon_account_wireless_summary_melts_into_per_number_lines():
    rel = "verizon/Account & Wireless Summary_test.txt"
    got = read(rel, "verizon_account_wireless_summary")
    assert len(got.invoices) == 1
    inv = got.invoices[0]
    assert (inv.carrier, inv.account, inv.invoice_number) == (
        "Verizon", "enc-1479211609829366", "enc-5029012205720256")
    assert inv.invoice_date == date(2021, 8, 16) and inv.due_date == date(2021, 9, 8)
    # the first row (account itself) is all 0.00: only the second row has charges
    assert len(got.lines) == 3
    monthly = one(got.lines, charge_type=ChargeType.RECURRING)
    assert monthly.service_id == "enc-9729345087614266"
    assert monthly.amount == Decimal("66.30") and monthly.description == "Monthly Charges"
    assert (monthly.period_start, monthly.period_end) == (date(2021, 7, 17), date(2021, 8, 16))
    assert sorted(ln.amount for ln in got.lines if ln.charge_type == ChargeType.TAX) == [
        Decimal("1.22"), Decimal("2.98")]
    # each number's lines add up to the export's own "Total Charges" (the total is not melted)
    for row_no, row in rows_of(rel, "\t"):
        mine = [ln for ln in got.lines if ln.row == row_no]
        assert total(mine) == Decimal(row["Total Charges"]), row_no
    assert total(got.lines) == Decimal("70.50")


@needs_samples
def test_verizon_account_summary_lines_add_up_to_the_bill_total():
    got = read("verizon/AccountSummary_test.txt", "verizon_account_summary")
    [inv] = got.invoices
    assert inv.account == "enc-1479211609829366" and inv.invoice_number == "enc-5029012205720256"
    assert inv.stated_total == Decimal("36830.02")
    assert len(got.lines) == 5
    assert {ln.service_id for ln in got.lines} == {""}  # account-level
    usage = one(got.lines, charge_type=ChargeType.USAGE)
    # the bill's usage total, not its Voice (30.50) / International (153.55) breakdown as well
    assert usage.amount == Decimal("184.05")
    assert one(got.lines, description="Equipment Charges").amount == Decimal("2659.49")
    assert total(got.lines) == inv.stated_total


@needs_samples
def test_verizon_charges_detail_sample_is_all_within_allowance():
    got = read("verizon/Acct & Wireless Charges Detail Summary Usage_test.txt",
               "verizon_wireless_charges_detail")
    assert got.lines == []  # 3 rows, all Cost 0.00
    assert any("skipped 3 row(s) of 0.00" in n for n in got.notes)
    [inv] = got.invoices
    assert inv.invoice_number == "enc-5029012205720256" and inv.invoice_date == date(2021, 8, 16)


@needs_samples
def test_verizon_usage_detail_zero_rated_calls_are_not_charges():
    got = read("verizon/Wireless Usage Detail_test.txt", "verizon_wireless_usage_detail")
    assert got.errors == []  # "Rate" (Peak) is not read as a unit price
    assert got.lines == []
    assert any("skipped 3 row(s) of 0.00" in n for n in got.notes)


# --- AT&T -----------------------------------------------------------------------------------

@needs_samples
def test_att_raw_data_output_reads_bill_items_not_prior_balance():
    rel = "att/rawdataoutput_test.csv"
    got = read(rel, "att_mobility_raw_data")
    assert got.errors == []
    # BIL, IRA, the user-name label row and "Prior Activity / Previous Balance" are skipped,
    # the $0 SIM is skipped: the $0.99 phone is the only charge
    assert any("skipped 4 row(s)" in n for n in got.notes)
    [line] = got.lines
    assert line.amount == Decimal("0.99")
    assert line.charge_type == ChargeType.ONE_TIME
    assert line.description.startswith("PHO APL IPH 12 64GB BLK")
    assert line.service_id == "" and line.row == 7
    assert line.carrier == "AT&T" and line.invoice_date == date(2023, 2, 2)
    row = dict(rows_of(rel, "|"))[7]
    assert line.account == row["Billing Account Number"] and line.account.isdigit()
    assert line.invoice_number == f"{row['Billing Account Number']}-20230202"
    # the previous balance is not a charge of this bill
    assert Decimal("79140.26") not in {ln.amount for ln in got.lines}


@needs_samples
def test_att_call_detail_zero_rated_records_are_skipped():
    got = read("att/ENC1 Detail Mar.csv", "att_mobility_call_detail")
    assert got.lines == []
    assert any("skipped 9 row(s) of 0.00" in n for n in got.notes)
    [inv] = got.invoices
    assert (inv.account, inv.invoice_number, inv.invoice_date) == (
        "555000001", "555000001-20230302", date(2023, 3, 2))


@needs_samples
def test_att_pooling_report_has_no_dialect():
    # a pooling allocation report (overage and its pooling credit), not bill lines: see README
    path = SAMPLES / "att/ENC1 Pooling Mar.csv"
    got = read_invoice_table(path)
    assert not any("read as" in n for n in got.notes)
    assert got.lines == [] and got.errors


# --- Bell -----------------------------------------------------------------------------------

@needs_samples
def test_bell_acc_account_lines_add_up_to_current_charges():
    got = read("bell/double_header_ACC.csv", "bell_mobility_acc")
    assert any("second header row at row 2" in n for n in got.notes)
    [inv] = got.invoices
    assert (inv.carrier, inv.account, inv.invoice_number, inv.invoice_date) == (
        "Bell", "test-value-1", "test-value-1-20230201", date(2023, 2, 1))
    assert inv.stated_total == Decimal("13134.83")
    assert (inv.previous_balance, inv.payments, inv.amount_due) == (
        Decimal("13951.18"), Decimal("-13951.18"), Decimal("13134.83"))
    assert len(got.lines) == 9
    assert one(got.lines, description="Other Chg").amount == Decimal("-709.20")
    assert one(got.lines, description="Monthly Chg").charge_type == ChargeType.RECURRING
    taxes = [ln for ln in got.lines if ln.charge_type == ChargeType.TAX]
    assert total(taxes) == Decimal("1584.72")  # GST+HST+QST+BC PST+Manitoba; HST-ON is in HST
    assert total(got.lines) == inv.stated_total


@needs_samples
def test_bell_mob_lines_add_up_to_each_numbers_total():
    rel = "bell/double_header_MOB.csv"
    got = read(rel, "bell_mobility_mob")
    [inv] = got.invoices
    assert inv.account == "test-account" and inv.invoice_number == "test-account-20230201"
    assert len(got.lines) == 6
    m1 = [ln for ln in got.lines if ln.service_id == "mobile-1"]
    assert [(ln.description, ln.charge_type, ln.amount) for ln in m1] == [
        ("Mth Chg Ttl", ChargeType.RECURRING, Decimal("47.00")),
        ("GST", ChargeType.TAX, Decimal("2.35")),
        ("Manitoba", ChargeType.TAX, Decimal("3.29")),
    ]
    for row_no, row in rows_of(rel, ",", encoding="cp1252", skip=2):
        mine = [ln for ln in got.lines if ln.row == row_no]
        assert total(mine) == Decimal(row["Ttl Charges"]), row_no
    assert total(got.lines) == Decimal("105.28")


@needs_samples
def test_bell_dtl_zero_cost_calls_are_skipped():
    got = read("bell/double_header_DTL.csv", "bell_mobility_dtl")
    assert got.errors == []  # "Period" (Weekend) is not read as a service period
    assert got.lines == []
    assert sorted(i.account for i in got.invoices) == ["test-value-1", "test-value-2"]


@needs_samples
def test_bell_invoice_charge_report_separates_charge_discount_and_tax():
    rel = "bell/test-Invoice charge report.xlsx"
    got = read(rel, "bell_invoice_charge_report")
    [inv] = got.invoices
    assert (inv.account, inv.invoice_number, inv.invoice_date) == (
        "test-acc-number", "test-acc-number-20230201", date(2023, 2, 1))
    assert len(got.lines) == 6
    fee = one(got.lines, service_id="test-mobile-3", charge_type=ChargeType.RECURRING)
    assert fee.description == "Alberta Government 911 fee" and fee.amount == Decimal("0.95")
    assert (fee.period_start, fee.period_end) == (date(2023, 2, 1), date(2023, 2, 28))
    tax = one(got.lines, service_id="test-mobile-3", charge_type=ChargeType.TAX)
    assert tax.amount == Decimal("0.05")
    credit = one(got.lines, service_id="test-mobile-1", charge_type=ChargeType.CREDIT)
    assert credit.amount == Decimal("-5") and "Intl Long Distance Saver" in credit.description
    # lines add up to the report's own "Total before taxes" + "Charge taxes" of every row
    ws = openpyxl.load_workbook(SAMPLES / rel, read_only=True, data_only=True).active
    rows = list(ws.iter_rows(values_only=True))
    h = list(rows[0])
    want = sum(Decimal(repr(r[h.index("Total before taxes")])) + Decimal(repr(r[h.index("Charge taxes")]))
               for r in rows[1:] if any(r))
    assert total(got.lines) == want == Decimal("1.00")


# --- Telus ----------------------------------------------------------------------------------

@needs_samples
@pytest.mark.parametrize("name", ["Invoice_Summary_test.txt", "Account_Detail_test.txt"])
def test_telus_reports_are_not_tables(name):
    # report-style text (title block, then section after section, each with its own header
    # and a "Total ..." line): no dialect; the file is refused with a reason, not misread
    got = read_invoice_table(SAMPLES / "telus" / name)
    assert got.lines == [] and got.invoices == []
    assert [e.effect for e in got.errors] == ["file skipped"]


@needs_samples
def test_verizon_account_summary_beside_the_per_number_export_is_one_bill(tmp_path):
    """The same bill as Verizon's account summary (category totals) and its per-number summary:
    never added together; the finer export is audited and the totals compared in a note."""
    from reconcile.audit import run_audit

    folder = tmp_path / "verizon"
    folder.mkdir()
    for rel in ("verizon/AccountSummary_test.txt", "verizon/Account & Wireless Summary_test.txt"):
        (folder / Path(rel).name).write_bytes((SAMPLES / rel).read_bytes())
    inventory = tmp_path / "inventory.csv"
    inventory.write_text("Circuit ID,Account\nenc-9729345087614266,enc-1479211609829366\n")
    got = run_audit([folder], inventory, workers=1)
    [bill] = got.invoices
    assert len(got.lines) == 3 and got.total_billed == Decimal("70.50")
    assert not [f for f in got.findings if f.rule == "invoice-total-mismatch"]
    assert bill.copies and "account summary" in bill.copies[0]
    assert any("not added to it" in n and "differ by" in n for n in got.notes)
