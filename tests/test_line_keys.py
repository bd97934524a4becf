"""Every line has a key from its source: the file's content hash and the row (tables), or the
page and line on the page (PDF). Unique within a batch, the same across runs and folder moves,
and written to lines.csv beside line_id."""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from fixtures.scenario import generate
from pdf_cases import render
from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.parsers.readers import file_digest

# a Bell charge report workbook: each row melts into a charge, its discount and its tax
BELL = ("Invoice date,Account number,Mobile number,Charge type,Charge name,Charge amount,"
        "ADJ/Discount,Total before taxes,Charge taxes\n"
        "2025-03-01,555123,4165550101,Monthly Charge,Business plan,60.00,-10.00,50.00,6.50\n"
        "2025-03-01,555123,4165550102,Monthly Charge,Business plan,60.00,,60.00,7.80\n")


def batch(folder: Path) -> tuple[Path, Path]:
    """The scenario's exports (CSV, TSV, TXT), two PDF bills and a Bell workbook whose rows
    each give several lines."""
    generate(folder, 7)
    invoices = folder / "invoices"
    for layout, seed in (("northwind", 1), ("summit", 2)):
        render(invoices, layout, n_lines=30, name=f"{layout}.pdf", seed=seed)
    wb = openpyxl.Workbook()
    for row in BELL.splitlines():
        wb.active.append(row.split(","))
    wb.save(invoices / "bell_charges.xlsx")
    return invoices, folder / "inventory.xlsx"


def test_keys_are_unique_and_the_same_after_moving_the_files(tmp_path):
    invoices, inventory = batch(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    first = run_audit([invoices], inventory)
    moved = run_audit([tmp_path / "elsewhere" / "b" / "invoices"],
                      tmp_path / "elsewhere" / "b" / "inventory.xlsx", workers=1)

    keys = [ln.key for ln in first.lines]
    assert len(keys) == len(set(keys)) > 100
    assert [ln.key for ln in moved.lines] == keys
    kinds = {Path(ln.source).suffix for ln in first.lines}
    assert kinds >= {".csv", ".tsv", ".xlsx", ".pdf"}


def test_a_key_says_which_file_and_where_in_it(tmp_path):
    invoices, inventory = batch(tmp_path)
    result = run_audit([invoices], inventory, workers=1)
    digests = {ln.source: file_digest(Path(ln.source)) for ln in result.lines}
    for ln in result.lines:
        where = f"p{ln.page}:l{ln.row}" if ln.page is not None else f"r{ln.row}"
        assert re.fullmatch(rf"{digests[ln.source]}:{where}(:c\d+)?", ln.key), (ln.key, ln.where)
    bell = [ln.key.split(":", 1)[1] for ln in result.lines if ln.source.endswith("bell_charges.xlsx")]
    assert bell == ["r2:c6", "r2:c7", "r2:c9", "r3:c6", "r3:c9"]


def test_identical_files_have_the_same_hash_whatever_their_names(tmp_path):
    invoices, _ = batch(tmp_path)
    copy = tmp_path / "copy_of_northwind.pdf"
    shutil.copy(invoices / "northwind.pdf", copy)
    assert file_digest(copy) == file_digest(invoices / "northwind.pdf")
    assert file_digest(copy) != file_digest(invoices / "summit.pdf")


def test_lines_csv_has_the_key_beside_the_line_id(tmp_path):
    invoices, inventory = batch(tmp_path)
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["audit", str(invoices), "--inventory", str(inventory),
                                    "--out", str(out)])
    assert run.exit_code in (0, 1), run.output
    rows = list(csv.DictReader(open(out / "lines.csv", encoding="utf-8-sig")))
    assert list(rows[0])[:2] == ["line_id", "line_key"]
    assert len({r["line_key"] for r in rows}) == len(rows) and all(r["line_key"] for r in rows)
