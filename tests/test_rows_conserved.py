"""On every CSV/TSV/TXT and XLSX invoice file the repository's generators write (the bundled
sample, the scenario and independent-scenario generators, the bulk generator, and a workbook
of each kind of export), rows in = lines + recognised summary rows + rows reported."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import openpyxl
import pytest

from fixtures.bulk import generate_bulk
from fixtures.independent_scenario import generate as generate_independent
from fixtures.scenario import generate as generate_scenario
from reconcile.core.values import parse_date, parse_money
from reconcile.parsers.invoice_csv import read_invoice_table
from reconcile.parsers.inventory import read_inventory
from tests.row_account import assert_conserved, data_rows

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample"
TABLES = (".csv", ".tsv", ".txt")


def tables(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in TABLES and p.is_file())


def check_folder(folder: Path) -> int:
    files = tables(folder)
    assert files
    for path in files:
        assert_conserved(read_invoice_table(path), data_rows(path))
    return len(files)


def test_rows_are_conserved_on_the_bundled_sample():
    assert check_folder(SAMPLE / "invoices") >= 3


@pytest.mark.parametrize("seed", [3, 11])
def test_rows_are_conserved_on_generated_scenarios(tmp_path, seed):
    generate_scenario(tmp_path, seed)
    check_folder(tmp_path / "invoices")


def test_rows_are_conserved_on_the_independent_scenario(tmp_path):
    generate_independent(tmp_path, 1)
    check_folder(tmp_path / "invoices")


def test_rows_are_conserved_on_bulk_files(tmp_path):
    info = generate_bulk(tmp_path, n_lines=5_000, n_services=300, seed=5)
    assert check_folder(tmp_path) >= 1 and info["lines"]


def as_workbook(src: Path, dest: Path) -> Path:
    """The export as a workbook, money and dates typed as Excel stores them."""
    text = src.read_text(encoding="utf-8-sig")
    delimiter = max("\t|,", key=text.count)
    wb = openpyxl.Workbook()
    ws = wb.active
    for i, cells in enumerate(csv.reader(text.splitlines(), delimiter=delimiter)):
        ws.append([typed(c) if i else c for c in cells])
    wb.save(dest)
    return dest


def typed(cell: str):
    for parse in (parse_date, parse_money):
        try:
            value = parse(cell)
        except ValueError:
            continue
        if value is not None and not cell.strip().isdigit():  # IDs stay text
            return float(value) if parse is parse_money else value
    return cell


def test_rows_are_conserved_on_workbooks_of_each_export(tmp_path):
    for src in [SAMPLE / "invoices" / "northwind_invoice_detail.csv",
                SAMPLE / "invoices" / "cascade_voice_export.txt",
                tables(SAMPLE / "invoices" / "bluestem")[0]]:
        book = as_workbook(src, tmp_path / (src.stem + ".xlsx"))
        parsed = read_invoice_table(book)
        assert parsed.lines.table.num_rows
        assert_conserved(parsed, data_rows(book, workbook=True))


def test_inventory_rows_are_each_a_service_or_an_error(tmp_path):
    generate_independent(tmp_path, 1)
    for path in [SAMPLE / "inventory.csv", SAMPLE / "inventory.xlsx", *tmp_path.glob("inventory*")]:
        inv = read_inventory(path)
        rows = [s.row for s in inv.services] + [e.row for e in inv.errors
                                               if e.row and e.effect != "value ignored"]
        assert len(rows) == len(set(rows))
        header = next((int(m.group(1)) for n in inv.notes
                       if (m := re.search(r"above the header at row (\d+)", n))), 1)
        if path.suffix == ".xlsx":
            ws = openpyxl.load_workbook(path, data_only=True).worksheets[0]
            rows_in = [r[0].row for r in ws.iter_rows() if any(c.value not in (None, "") for c in r)]
        else:
            with open(path, newline="", encoding="utf-8-sig") as fh:
                reader = csv.reader(fh)
                rows_in = [reader.line_num for r in reader if any(c.strip() for c in r)]
        assert sorted(rows) == [r for r in rows_in if r > header], path
