"""Bad input never crashes the batch and never disappears: one clear error each, the rest audited."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from reconcile.audit import run_audit

HEADER = "Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,Service Period,Charge Amount\n"
GOOD_ROW = "111-222,A1,04/01/2025,12.HCGS.123456..LY,MPLS port,MRC,04/01/25-04/30/25,450.00\n"
INVENTORY = "Circuit ID,BAN,Vendor,MRC,Install Date\n12.HCGS.123456..LY,111-222,Lumen,450.00,2024-01-01\n"


@pytest.fixture
def inventory(tmp_path) -> Path:
    p = tmp_path / "inventory.csv"
    p.write_text(INVENTORY)
    return p


def audit(tmp_path, inventory, files: dict[str, bytes | str]):
    folder = tmp_path / "bills"
    folder.mkdir(exist_ok=True)
    for name, content in files.items():
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    good = folder / "good.csv"
    good.write_text(HEADER + GOOD_ROW)
    return run_audit([folder], inventory)


def errors_for(result, name):
    return [e for e in result.errors if Path(e.file).name == name]


def assert_rest_audited(result):
    assert any(Path(ln.source).name == "good.csv" for ln in result.lines), "the good file must still be read"


@pytest.mark.parametrize("name,content,reason", [
    ("empty.csv", "", "file is empty"),
    ("header_only.csv", HEADER, "no charge rows"),
    ("unknown_columns.csv", "Foo,Bar,Baz\n1,2,3\n4,5,6\n", "no header row found"),
])
def test_unreadable_file_gives_one_error_naming_it(tmp_path, inventory, name, content, reason):
    result = audit(tmp_path, inventory, {name: content})
    errs = errors_for(result, name)
    assert len(errs) == 1 and reason in errs[0].reason and errs[0].effect == "file skipped"
    assert_rest_audited(result)


def test_missing_required_column_names_headers_seen_and_closest_alias(tmp_path, inventory):
    bad = "Account Number,Invoice No,Circuit ID,Charge Description,Amt Billed\n111,A2,X,Port,1.00\n"
    result = audit(tmp_path, inventory, {"no_amount.csv": bad})
    (err,) = errors_for(result, "no_amount.csv")
    assert "'amount' not found" in err.reason
    assert "'Amt Billed'" in err.reason and "--columns" in err.reason
    assert_rest_audited(result)


def test_columns_mapping_rescues_a_header_the_aliases_miss(tmp_path, inventory):
    bad = ("Account Number,Invoice No,Circuit ID,Charge Description,Amt Billed\n"
           "111-222,A2,12.HCGS.123456..LY,Port,1.00\n")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "b.csv").write_text(bad)
    mapping = tmp_path / "map.yaml"
    mapping.write_text("invoice:\n  amount: Amt Billed\n")
    result = run_audit([tmp_path / "bills"], inventory, columns=mapping)
    assert not result.errors and result.lines[0].amount == 1


def test_windows_1252_csv_is_read_with_its_accents(tmp_path, inventory):
    row = "111-222,A3,04/01/2025,12.HCGS.123456..LY,Frais de réseau,MRC,04/01/25-04/30/25,450.00\n"
    result = audit(tmp_path, inventory, {"latin.csv": (HEADER + row).encode("cp1252")})
    assert not errors_for(result, "latin.csv")
    assert any(ln.description == "Frais de réseau" for ln in result.lines)


def test_bad_date_and_blank_amount_are_row_errors_and_other_rows_are_audited(tmp_path, inventory):
    rows = (GOOD_ROW.replace("A1", "A4")
            + "111-222,A4,13/45/2025,12.HCGS.123456..LY,MPLS port,MRC,04/01/25-04/30/25,450.00\n"
            + "111-222,A4,04/01/2025,12.HCGS.123456..LY,MPLS port,MRC,04/01/25-04/30/25,\n")
    result = audit(tmp_path, inventory, {"rows.csv": HEADER + rows})
    errs = sorted(errors_for(result, "rows.csv"), key=lambda e: e.row)
    assert [(e.row, e.effect) for e in errs] == [(3, "row skipped"), (4, "row skipped")]
    assert "13/45/2025" in errs[0].reason and "amount is blank" in errs[1].reason
    assert sum(1 for ln in result.lines if ln.invoice_number == "A4") == 1
    assert not any(f.rule == "invoice-total-mismatch" for f in result.findings)


def test_duplicate_header_names_are_reported_and_the_first_is_used(tmp_path, inventory):
    text = HEADER.rstrip("\n") + ",Charge Amount\n" + GOOD_ROW.rstrip("\n").replace("A1", "A5") + ",999.00\n"
    result = audit(tmp_path, inventory, {"dups.csv": text})
    (err,) = errors_for(result, "dups.csv")
    assert "Charge Amount" in err.reason and err.effect == "value ignored"
    assert [ln.amount for ln in result.lines if ln.invoice_number == "A5"] == [450]


def test_directory_with_unsupported_files_reports_each_and_reads_the_rest(tmp_path, inventory):
    result = audit(tmp_path, inventory, {"scan.tiff": b"II*\x00", "notes.docx": b"PK", "edi.811": "ISA*00"})
    for name in ("scan.tiff", "notes.docx", "edi.811"):
        (err,) = errors_for(result, name)
        assert "not supported" in err.reason and ".csv, .pdf" in err.reason and err.effect == "file skipped"
    assert_rest_audited(result)


def test_inventory_on_the_second_sheet_is_found(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Notes"
    wb.active["A1"] = "Circuit inventory, updated monthly"
    ws = wb.create_sheet("Circuits")
    ws.append(["Circuit ID", "BAN", "MRC", "Install Date", "Term End"])
    ws.append(["12.HCGS.123456..LY", "0111-222", 450.0, None, "MTM"])
    path = tmp_path / "inventory.xlsx"
    wb.save(path)
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "good.csv").write_text(HEADER + GOOD_ROW)
    result = run_audit([tmp_path / "bills"], path)
    assert [s.service_id for s in result.services] == ["12.HCGS.123456..LY"]
    svc = result.services[0]
    assert svc.account == "0111-222" and svc.contract_end_text == "MTM" and svc.install_date is None
    assert not result.errors and any("Circuits" in n for n in result.notes)
    assert result.matches[0].service == 0


def test_excel_typed_cells_keep_ids_as_text(tmp_path):
    from datetime import datetime

    wb = openpyxl.Workbook()
    wb.active.append(["TN", "Account", "Monthly Charge", "Installed"])
    wb.active.append([2125551234, "00123", "$1,234.00", datetime(2024, 5, 1)])
    path = tmp_path / "inv.xlsx"
    wb.save(path)
    from reconcile.parsers.inventory import read_inventory

    services, errors, _ = read_inventory(path)
    assert not errors
    s = services[0]
    assert (s.service_id, s.account, str(s.monthly_rate), s.install_date.isoformat()) == \
        ("2125551234", "00123", "1234.00", "2024-05-01")


def test_inventory_bad_values_are_reported_and_the_row_kept(tmp_path):
    path = tmp_path / "inv.csv"
    path.write_text("Circuit ID,BAN,MRC,Install Date,Term End\nX1,1,abc,2024-01-01,someday\n,1,5,,\n")
    from reconcile.parsers.inventory import read_inventory

    services, errors, _ = read_inventory(path)
    assert [s.service_id for s in services] == ["X1"]
    assert sorted((e.row, e.effect) for e in errors) == [(2, "value ignored"), (2, "value ignored"),
                                                         (3, "row skipped")]


def test_unreadable_inventory_is_refused_before_any_invoice_line_is_called_unknown(tmp_path):
    from reconcile.parsers.inventory import InventoryUnusable

    inv = tmp_path / "inventory.xlsx"
    inv.write_bytes(b"not a zip")
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "good.csv").write_text(HEADER + GOOD_ROW)
    with pytest.raises(InventoryUnusable, match="not a readable Excel workbook.*save it again"):
        run_audit([tmp_path / "bills"], inv)


@pytest.mark.parametrize("workers", [1, 2])  # one file after the other, or threads reading ahead
def test_an_unusable_inventory_stops_the_invoices_being_read(tmp_path, monkeypatch, workers):
    """The inventory is read beside the invoices; when it gives no service the audit cannot
    happen, and the files not yet read are left unread (a big batch is not read for nothing)."""
    import time

    import reconcile.audit as audit_module
    from reconcile.parsers.inventory import InventoryUnusable

    inv = tmp_path / "inventory.csv"
    inv.write_text("Circuit ID,BAN,MRC\n")  # a header and no service
    (tmp_path / "bills").mkdir()
    for k in range(40):
        (tmp_path / "bills" / f"b{k:02d}.csv").write_text(HEADER + GOOD_ROW.replace("A1", f"A{k}"))
    read = []
    real = audit_module._read_quickly

    def slowly(path, **kwargs):
        read.append(path)
        time.sleep(0.05)
        return real(path, **kwargs)

    monkeypatch.setattr(audit_module, "_read_quickly", slowly)
    monkeypatch.setattr(audit_module, "READ_TOGETHER", 1)  # one file at a time
    with pytest.raises(InventoryUnusable, match="no service row follows it"):
        run_audit([tmp_path / "bills"], inv, workers=workers)
    assert len(read) < 40


def test_files_stop_being_taken_once_told(tmp_path):
    import threading

    from reconcile.audit import _take_files
    from reconcile.parsers.readers import ParsedInvoices

    stop = threading.Event()
    files = [tmp_path / f"f{k}.csv" for k in range(5)]

    def parsed():
        for k in range(5):
            if k == 2:
                stop.set()
            yield ParsedInvoices(notes=[f"file {k}"])

    read_files, errors, notes = _take_files(files, parsed(), None, stop)
    assert [f.path for f in read_files] == [str(f) for f in files[:3]]
    assert notes == ["file 0", "file 1", "file 2"] and errors == []
