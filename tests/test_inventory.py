"""Reading the circuit inventory people keep: which column holds each service's ID."""

from __future__ import annotations

import pytest

from fixtures.tables import write_xlsx
from reconcile.parsers.inventory import InventoryUnusable, read_inventory, require_services, set_aside


def test_circuits_and_phone_lines_in_separate_id_columns_are_all_services(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,TN,BAN,MRC\n"
                    "12.HCGS.123456..LY,,0004471220,450.00\n"
                    ",(212) 555-0147,0004471220,35.00\n"
                    "A2/SBFS/201/981/3500//123,201-981-3500,0004471220,600.00\n"
                    ",,0004471220,10.00\n")
    services, errors, _ = read_inventory(path)
    assert [s.service_id for s in services] == ["12.HCGS.123456..LY", "(212) 555-0147",
                                                "A2/SBFS/201/981/3500//123"]
    assert services[2].extra == {"TN": "201-981-3500"}, "the other ID stays as evidence"
    assert [(e.row, e.reason) for e in errors] == [(5, "service ID is blank")]


# --- which row is the header ------------------------------------------------------------------

def test_an_inventory_of_text_columns_keeps_its_first_service(tmp_path):
    """Every column is text (no rate, no date): the first row is still a service, not a second
    header (it was taken for one, and its circuit then billed as unknown)."""
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID,BAN,Vendor,Product\n"
                    "12.HCGS.123456..LY,8310-4471-22,Lumen,MPLS port\n"
                    "47.KQGN.900211..LY,8310-4471-22,Lumen,DIA 50M\n")
    services, errors, notes = read_inventory(path)
    assert [s.service_id for s in services] == ["12.HCGS.123456..LY", "47.KQGN.900211..LY"]
    assert not errors and not any("second header" in n for n in notes)


def test_a_one_column_inventory_with_a_known_header_is_read(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("Circuit ID\n12.HCGS.123456..LY\n212-555-0147\n")
    inventory = read_inventory(path)
    assert [s.service_id for s in inventory.services] == ["12.HCGS.123456..LY", "212-555-0147"]
    assert inventory.columns == {"service_id": "Circuit ID"} and not inventory.errors


def test_a_second_header_row_is_one_of_header_names(tmp_path):
    """Bell repeats its header in French (no alias, but labels where the rows below hold money
    and dates); another export repeats it in English (aliases). Both are skipped."""
    french = tmp_path / "french.csv"
    french.write_text("Circuit ID,BAN,MRC,Install Date\n"
                      "Num circuit,Num compte,Frais mens,Date install\n"
                      "12.HCGS.123456..LY,8310-4471-22,450.00,2024-01-10\n"
                      "47.KQGN.900211..LY,8310-4471-22,310.00,2024-02-10\n")
    english = tmp_path / "english.csv"
    english.write_text("Circuit ID,BAN,Vendor\nCircuit,Account,Carrier\n12.HCGS.123456..LY,1,Lumen\n")
    for path in (french, english):
        services, errors, notes = read_inventory(path)
        assert services[0].service_id == "12.HCGS.123456..LY", path.name
        assert any("second header row at row 2" in n for n in notes), path.name


# --- an inventory that gives no service: why, and how to fix it -------------------------------

BILL_EXPORT = ("Account Number,Invoice No,Bill Date,Circuit ID,Charge Description,Type,"
               "Service Period,Charge Amount\n"
               "8310-4471-22,88231,04/01/2025,12/HCGS/123456/LY,MPLS port,MRC,04/01/25-04/30/25,450.00\n")
NO_SERVICE = [  # (file name, content or None for a workbook, --sheet, what the message must say)
    ("inventory.xlsx", None, "Circuts",
     ["no sheet named 'Circuts'", "its sheets are 'Notes', 'Circuits'", "--sheet"]),
    ("inventory.xlsx", None, "Notes",
     ["sheet 'Notes': 'Circuit inventory, updated monthly'", "'Notes', 'Circuits'", "--sheet"]),
    ("inventory.csv", "Ckt #,BAN,Vendor,MRC\nX1,1,Lumen,450.00\n", None,
     ["headers seen: 'Ckt #', 'BAN', 'Vendor', 'MRC'", '  inventory:\n    service_id: "Ckt #"',
      "--columns"]),
    ("inventory.csv", "Ckt #,Acct\nX1,1\n", None,
     ["first rows seen: 'Ckt #', 'Acct'", '  inventory:\n    service_id: "Ckt #"']),
    ("inventory.pdf", b"%PDF-1.7\n%\xe2\xe3\n", None, ["this is a PDF", "CSV or XLSX"]),
    ("inventory.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, None, ["save it as .xlsx"]),
    ("bills.csv", BILL_EXPORT, None,
     ["looks like an invoice export", "'Invoice No'", "'Charge Amount'", "invoice paths"]),
    ("inventory.csv", "", None, ["the file is empty"]),
    ("inventory.csv", "Circuit ID,BAN,MRC\n", None, ["no service row follows it"]),
    ("inventory.csv", "Circuit ID,BAN,TN\n,1,\n,2,\n", None,
     ["'Circuit ID' is blank on every row"]),
]


def write_no_service(tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        write_xlsx(path, {"Notes": [["Circuit inventory, updated monthly"]],
                         "Circuits": [["Circuit ID", "BAN"], ["X1", "1"]]})
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


@pytest.mark.parametrize("name,content,sheet,says", NO_SERVICE,
                         ids=[f"{n}-{s or ''}-{w[0][:30]}" for n, _, s, w in NO_SERVICE])
def test_an_inventory_that_gives_no_service_says_why_and_how_to_fix_it(tmp_path, name, content,
                                                                      sheet, says):
    path = write_no_service(tmp_path, name, content)
    inventory = read_inventory(path, sheet=sheet)
    assert inventory.services == []
    with pytest.raises(InventoryUnusable) as refused:
        require_services(inventory)
    message = str(refused.value)
    assert message.startswith(str(path))
    for words in says:
        assert words in message, message


def test_the_inventory_is_set_aside_from_the_invoice_files_by_path_and_by_content(tmp_path):
    folder = tmp_path / "bills"
    folder.mkdir()
    inventory = folder / "inventory.csv"
    inventory.write_text("Circuit ID,BAN\nX1,1\n")
    (folder / "inventory copy.csv").write_bytes(inventory.read_bytes())
    (folder / "april.csv").write_text("Circuit ID,BAN\nX2,1\n")  # same size, other content
    files = sorted(folder.iterdir())
    kept, notes = set_aside(files, [tmp_path / "bills" / ".." / "bills" / "inventory.csv"])
    assert kept == [folder / "april.csv"]
    assert notes == [f"{folder / n}: given as the inventory, not read as an invoice"
                     for n in ("inventory copy.csv", "inventory.csv")]
