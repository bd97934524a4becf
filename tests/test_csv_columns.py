"""The columnar CSV path (parsers/csv_columns.py) gives exactly the row loop's lines, bills,
errors and notes, or declines and leaves the file to the row loop: on every export the
fixtures write, on the real carrier samples, and on plain exports broken in the ways files
break (quotes, blank and ragged rows, TOTAL and subtotal rows, money and dates that cannot
be read, line ends, encodings)."""

from __future__ import annotations

import csv
import random
from decimal import Decimal
from pathlib import Path

import pytest

from fixtures import bulk, independent_scenario, scenario
from reconcile.core.lines import own_dictionaries
from reconcile.parsers import csv_columns
from reconcile.parsers.invoice_csv import read_invoice_table, read_invoice_tables

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "real-samples"
TEXT = {".csv", ".tsv", ".txt"}


def read_both(path: Path, monkeypatch) -> tuple[bool, object, object]:
    """(read as columns?, the row loop's result, the default read's result)."""
    rows = read_invoice_table(path, workbook=False, columns=False)
    took = []
    real = csv_columns.read_columns

    def spy(*args):
        lines = real(*args)
        took.append(lines is not None)
        return lines

    with monkeypatch.context() as m:
        m.setattr(csv_columns, "read_columns", spy)
        default = read_invoice_table(path, workbook=False)
    return bool(took and took[0]), rows, default


def assert_same(path: Path, rows, default) -> None:
    # files read together share their dictionaries: each file's own are compared
    assert own_dictionaries(default.lines.table).equals(own_dictionaries(rows.lines.table)), path
    assert default.lines.table.schema == rows.lines.table.schema, path
    assert [i.model_dump() for i in default.invoices] == [i.model_dump() for i in rows.invoices], path
    assert default.errors == rows.errors, path
    assert default.notes == rows.notes, path
    assert (default.rows_read, default.summary_rows) == (rows.rows_read, rows.summary_rows), path
    assert default.file_hash == rows.file_hash, path


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("exports")
    for seed in (1, 2):
        scenario.generate(out / f"scenario{seed}", seed=seed)
    for seed in (1, 2, 3):
        independent_scenario.generate(out / f"independent{seed}", seed=seed)
    bulk.generate_bulk(out / "bulk", n_lines=5000, n_services=200)
    found = [p for p in sorted(out.rglob("*")) if "invoices" in p.parts]
    found += sorted((REPO / "fixtures" / "sample" / "invoices").rglob("*"))
    if REAL.exists():
        found += sorted(REAL.rglob("*"))
    return [p for p in found if p.is_file() and p.suffix.lower() in TEXT]


def test_every_export_the_fixtures_write_reads_the_same_as_columns(exports, monkeypatch):
    fast = []
    for path in exports:
        took, rows, default = read_both(path, monkeypatch)
        assert_same(path, rows, default)
        fast.append(took)
        if "bulk" in path.parts and len(rows.lines):
            assert took, path  # the plain exports are the ones read as columns
    assert sum(fast) >= 0.9 * sum(1 for p in exports if REAL not in p.parents)


def test_exports_read_together_read_as_each_alone(exports, monkeypatch):
    """read_invoice_tables reads files of one header as one table: each file's lines, bills,
    errors, notes and counts are still exactly its own."""
    together = _spy_groups(monkeypatch)
    got = read_invoice_tables(exports)
    for path, many in zip(exports, got):
        assert_same(path, read_invoice_table(path, workbook=False), many)
    assert max(together) >= 10  # the bulk and scenario exports were read in groups


def _spy_groups(monkeypatch) -> list[int]:
    """The number of files of each group read together (declined groups are not counted)."""
    sizes: list[int] = []
    real = csv_columns._read

    def spy(parts, texts):
        got = real(parts, texts)
        if got is not None:
            sizes.append(len(parts))
        return got

    monkeypatch.setattr(csv_columns, "_read", spy)
    return sizes


# --- plain exports, broken ------------------------------------------------------------------

HEADER = ["Carrier", "Account", "Invoice Number", "Invoice Date", "Circuit ID", "Description",
          "Charge Type", "Period Start", "Period End", "Qty", "Rate", "Amount"]


def plain_rows(rng: random.Random) -> list[list[str]]:
    rows = []
    for bill in range(3):
        account, number = f"00{4400 + bill % 2}", f"INV-{bill}"
        for k in range(rng.randint(2, 6)):
            amount = f"{rng.choice([1, -1, 1]) * rng.randint(0, 99999) / 100:.2f}"
            rows.append(["Acme Tel", account, number, f"2024-0{bill + 1}-01", f"12.HCGS.{k:06d}..LY",
                         rng.choice(["DIA 100M", "Access Recovery Surcharge", "Credit", "Usage"]),
                         rng.choice(["MRC", "Tax", "", "Usage"]), "2024-01-01", "2024-01-31",
                         rng.choice(["", "1", "2"]), rng.choice(["", "12.50"]), amount])
        rows.append(["Acme Tel", account, number, "", "", "Invoice Total", "", "", "", "", "",
                     f"{rng.randint(0, 99999) / 100:.2f}"])
    return rows


def cell(rows, rng) -> tuple[int, int]:
    return rng.randrange(len(rows)), rng.randrange(len(HEADER))


BAD_MONEY = ["abc", "", "N/A", "-", "1,234", "1.234,50", "$1,234.50", "(12.00)", "12.00CR", "1e5",
             "0.0000001", "1e20", "12.5 USD", " 12.00 ", "+4.00", "$-3.00", "1,234.5678901"]
BAD_DATES = ["", "2024-13-01", "03/01/2024", "Mar 1, 2024", "MTM", " 2024-02-01", "N/A"]
TOTALS = [["Acme Tel", "TOTAL", "", "", "", "", "", "", "", "", "", "9.99"],
          ["Acme Tel", "0044001", "INV-9", "2024-05-01", "", "Invoice Total", "", "", "", "", "", "5.00"],
          ["Acme Tel", "0044000", "INV-1", "", "", "Total", "", "", "", "", "", ""],
          ["Acme Tel", "0044000", "", "", "Grand Total", "", "", "", "", "", "", "7.00"],
          ["Acme Tel", "0044000", "INV-0", "", "Total", "DIA", "MRC", "", "", "", "", "3.00"],
          ["Acme Tel", "0044000", "INV-0", "", "", "Subtotal recurring", "", "", "", "", "", "12.00"],
          ["", "", "", "", "", "Total", "", "", "", "", "", "abc"],
          ["Acme Tel", "0044000", "INV-0", "", "", "Previous Balance", "", "", "", "", "", "80.00"],
          ["Acme Tel", "0044001", "INV-1", "", "", "Payments Received", "", "", "", "", "", "-80.00"],
          ["Acme Tel", "0044000", "INV-2", "", "", "Total Current Charges", "", "", "", "", "", "9.00"]]


def mutate(rows: list[list[str]], rng: random.Random) -> list[list[str]]:
    """One way a real file differs from the plain export."""
    i, j = cell(rows, rng)
    row = rows[i]

    def put(at: int, value: str) -> None:
        if at < len(row):  # a short (ragged) row keeps its shortness
            row[at] = value

    kind = rng.randrange(12)
    if kind == 0:
        put(11, rng.choice(BAD_MONEY))
    elif kind == 1:
        put(rng.choice([3, 7, 8]), rng.choice(BAD_DATES))
    elif kind == 2:
        put(rng.choice([1, 2]), rng.choice(["", " ", "TOTAL"]))
    elif kind == 3:
        rows.insert(rng.randrange(len(rows) + 1), list(rng.choice(TOTALS)))
    elif kind == 4:
        put(7, "2024-01-31")  # ends before it starts
        put(8, "2024-01-01")
    elif kind == 5:
        put(rng.choice([9, 10]), rng.choice(BAD_MONEY))
    elif kind == 6:
        put(j, f"  {row[j]} " if j < len(row) else "")
    elif kind == 7:
        put(j, rng.choice(["a, b", 'say "hi"', "two\nlines", "é ü", "\u00a0x", "=1+2"]))
    elif kind == 8:
        rows.insert(rng.randrange(len(rows) + 1), rng.choice([[], [""] * len(HEADER), ["  "]]))
    elif kind == 9:
        rows[i] = row[:rng.randrange(len(HEADER))] if rng.random() < 0.5 else row + ["x"]
    elif kind == 10:
        put(j, "")
    else:
        put(4, rng.choice(["Total", "TOTAL", "invoice total", ""]))
    return rows


def write(rows, path: Path, rng: random.Random, header=HEADER) -> None:
    delimiter = rng.choice([",", ",", "\t", "|", ";"])
    end = rng.choice(["\n", "\r\n", "\r\n", "\r"])
    quote_all = rng.random() < 0.2

    def fmt(value: str) -> str:
        if quote_all or any(ch in value for ch in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    lines = [delimiter.join(fmt(c) for c in r) for r in [header, *rows]]
    if rng.random() < 0.2:
        lines = ["Acme Tel invoice detail export", "", *lines]  # title lines above the header
    text = end.join(lines) + (end if rng.random() < 0.8 else "")
    if rng.random() < 0.05:
        text = text.replace("INV-1", "INV\x00-1")
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "cp1252"])
    path.write_bytes(text.encode(encoding, errors="replace"))


@pytest.mark.parametrize("seed", range(40))
def test_a_broken_export_reads_the_same_or_is_left_to_the_row_loop(seed, tmp_path, monkeypatch):
    rng = random.Random(seed)
    for case in range(12):
        rows = plain_rows(rng)
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            rows = mutate(rows, rng)
        path = tmp_path / f"case{case}.csv"
        header = list(HEADER)
        if rng.random() < 0.15:  # one period column, or an invoice total on every row
            header[7:9] = ["Service Period", "Notes"]
            for r in rows:
                if len(r) > 8 and r[7]:
                    r[7], r[8] = rng.choice([f"{r[7]} - {r[8]}", "01/01/24-01/31/24", "soon"]), ""
        elif rng.random() < 0.15:
            header[6] = "Invoice Total"
            for r in rows:
                if len(r) > 6:
                    r[6] = rng.choice(["100.00", "100.00", "100.00", "100", "", "99.00"])
        write(rows, path, rng, header)
        took, by_rows, default = read_both(path, monkeypatch)
        assert_same(path, by_rows, default)


@pytest.mark.parametrize("seed", range(12))
def test_broken_exports_read_together_read_as_each_alone(seed, tmp_path, monkeypatch):
    """Files of one header read as one table, some of them broken: a TOTAL row never closes a
    bill of the file before, a file the group would decline is read as it is alone."""
    rng = random.Random(100 + seed)
    paths = []
    for case in range(16):
        rows = plain_rows(rng)
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            rows = mutate(rows, rng)
        if rng.random() < 0.5:  # other bill numbers than the file before's
            rows = [[c.replace("INV-", "INV-3") for c in r] for r in rows]
        if rng.random() < 0.3:  # a TOTAL row first: it must not close the file before's bill
            rows.insert(0, list(TOTALS[0]))
        if rng.random() < 0.3:  # a total for a bill number only an earlier file has
            rows.insert(rng.randrange(len(rows) + 1), ["Acme Tel", "0044009", "INV-0",
                                                       "2024-05-01", "", "Invoice Total", "", "",
                                                       "", "", "", "5.00"])
        if rng.random() < 0.3:  # the file ends with a total opening a bill of its own
            rows.append(list(TOTALS[1]))
        path = tmp_path / f"case{case:02d}.csv"
        write(rows, path, random.Random(rng.choice([1, 5])))  # two spellings of the file
        paths.append(path)
    together = _spy_groups(monkeypatch)
    got = read_invoice_tables(paths)
    monkeypatch.undo()
    for path, many in zip(paths, got):
        took, rows, alone = read_both(path, monkeypatch)
        assert_same(path, rows, many)
        assert_same(path, alone, many)
    if seed < 4:
        assert together and max(together) >= 2, together


def test_files_read_together_keep_each_its_own_decimal_mark(tmp_path, monkeypatch):
    """Read together, a file's decimal mark is still decided by its own first rows: a
    semicolon file whose first rows show no decimal point is undecided (the row loop reads
    it, refusing 1.234), even when its later rows and the other files show points."""
    from reconcile.parsers import invoice_csv

    monkeypatch.setattr(invoice_csv, "DECIMAL_SAMPLE_ROWS", 3)
    header = "Account;Invoice Number;Description;Amount\n"
    bodies = {"points": ["12.50", "3.10", "1,234.00", "8.00", "7.25"],
              "points_too": ["2.50", "9.99", "10.00", "4", "1.5"],
              "late_points": ["12", "3", "1", "8.50", "7.25"],
              "no_points": ["12", "3", "1", "8", "1.234"],
              "commas": ["12,50", "3,10", "1", "8,00", "7,25"]}
    paths = []
    for name, amounts in bodies.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(header + "".join(f"111;A-1;Port {i};{a}\n" for i, a in enumerate(amounts)))
        paths.append(path)
    together = _spy_groups(monkeypatch)
    got = dict(zip(bodies, read_invoice_tables(paths)))
    monkeypatch.undo()
    monkeypatch.setattr(invoice_csv, "DECIMAL_SAMPLE_ROWS", 3)
    for many, path in zip(got.values(), paths):
        assert_same(path, read_invoice_table(path, workbook=False, columns=False), many)
    assert 2 in together  # the two files with points, as one table
    assert any("do not show" in n for n in got["late_points"].notes)  # undecided, alone
    assert [e.row for e in got["no_points"].errors] == [6]  # 1.234 is ambiguous


def test_a_summary_word_on_a_row_billed_to_a_service_is_a_charge_read_as_columns(tmp_path,
                                                                                 monkeypatch):
    """'Adjustment' as the charge type of a row billed to a circuit is a charge (a credit) to
    the row loop, and is read as columns with its file's group; a real summary row (no
    service, or a summary label where the service should be) still leaves its file to the
    row loop, the others read together without it."""
    header = "Account,Invoice Number,Circuit ID,Charge Type,Description,Amount\n"
    bodies = {"adjusted": "111,A-1,12.HCGS.000001..LY,Adjustment,Credit for outage,-12.00\n",
              "plain": "111,A-2,12.HCGS.000001..LY,MRC,Port,10.00\n",
              "balance": "111,A-3,,,Previous Balance,80.00\n",
              "as_service": "111,A-4,Balance Forward,Adjustment,Credit,-5.00\n",
              "plain_too": "111,A-5,12.HCGS.000002..LY,Adjustment,Port,-1.00\n"}
    paths = []
    for name, row in bodies.items():
        path = tmp_path / f"{name}.csv"
        path.write_text(header + "111,{},12.HCGS.000009..LY,MRC,DIA,100.00\n".format(
            row.split(",")[1]) + row)
        paths.append(path)
    together = _spy_groups(monkeypatch)
    got = dict(zip(bodies, read_invoice_tables(paths)))
    monkeypatch.undo()
    for (name, many), path in zip(got.items(), paths):
        took, rows, alone = read_both(path, monkeypatch)
        assert_same(path, rows, many)
        assert took == (name not in ("balance", "as_service")), name
    assert together == [3]  # adjusted, plain and plain_too, as one table
    assert [ln for ln in got["adjusted"].lines.table.column("amount").to_pylist()] == \
        [Decimal("100.00"), Decimal("-12.00")]


def test_a_plain_export_with_quoted_cells_and_total_rows_is_read_as_columns(tmp_path, monkeypatch):
    path = tmp_path / "plain.csv"
    rows = plain_rows(random.Random(3))
    rows[0][5] = "Port, 100M"  # quoted: it holds the delimiter
    path.write_text("\r\n".join(",".join(f'"{c}"' if "," in c else c for c in r)
                                 for r in [HEADER, *rows]) + "\r\n")
    took, by_rows, default = read_both(path, monkeypatch)
    assert took and len(default.lines) == len(rows) - 3  # three bills, each with a TOTAL row
    assert_same(path, by_rows, default)


def test_a_bill_total_row_above_its_lines_opens_that_bill(tmp_path, monkeypatch):
    path = tmp_path / "granite.txt"
    path.write_text("Account|Invoice Number|Bill Date|Circuit|Description|Amount\n"
                    "111|A-1|2024-03-01|||10.00\n"
                    "222|B-7|2024-03-01||Invoice Total|30.00\n"
                    "222|B-7|2024-03-01|CKT-1|Port|20.00\n"
                    "222|B-7|2024-03-01|CKT-2|Port|10.00\n"
                    "||||TOTAL|10.00\n")
    took, rows, default = read_both(path, monkeypatch)
    assert took
    assert_same(path, rows, default)
    # the summary row opens B-7 after A-1; the TOTAL row at the end closes the bill above it
    assert [(i.invoice_number, i.stated_total, i.total_where, i.line_ids)
            for i in default.invoices] == [("A-1", None, "", [0]),
                                           ("B-7", Decimal("10.00"), "TOTAL row 6", [1, 2])]


@pytest.mark.parametrize("limit", ["rows", "columns", "field_size"])
def test_a_file_past_a_limit_is_the_row_loops_one_error(limit, tmp_path):
    from reconcile.parsers.limits import Limits

    path = tmp_path / "plain.csv"
    rng = random.Random(1)
    write(plain_rows(rng), path, random.Random(0))
    limits = Limits(**{limit: {"rows": 5, "columns": 4, "field_size": 12}[limit]})
    try:
        rows = read_invoice_table(path, workbook=False, limits=limits, columns=False)
        default = read_invoice_table(path, workbook=False, limits=limits)
    finally:  # the csv module's field size limit is per process: the next file's sniff sees it
        csv.field_size_limit(Limits().field_size)
    assert [e.effect for e in rows.errors] == ["file skipped"]
    assert_same(path, rows, default)


def test_a_file_with_a_decimal_comma_reads_as_the_row_loop_reads_it(tmp_path, monkeypatch):
    path = tmp_path / "comma.csv"
    path.write_text("Account;Invoice Number;Description;Amount\n"
                    "111;A-1;Port;1.234,50\n111;A-1;Tax;12,40\n")
    took, rows, default = read_both(path, monkeypatch)
    assert not took and len(default.lines) == 2
    assert_same(path, rows, default)


def test_texts_passed_over_as_no_label_are_none_the_row_loop_would_take_for_one():
    """label_kinds asks the row loop's _label_kind only of texts that may be labels; every
    TOTAL word, subtotal and account summary label, however spelt, must be among them."""
    from reconcile.parsers.invoice_csv import _TOTAL_WORDS, _label_kind

    labels = [*_TOTAL_WORDS, "Sub-Total MPLS", "subtotal", "Previous Balance", "Balance Forward",
              "Payments Received - Thank You", "Payment Applied", "Total Adjustments",
              "Total Current Charges", "New Charges", "Total Amount Due", "Balance Due",
              "Payment Due Date", "Date Due", "ＴＯＴＡＬ", "Grand-Total:", "T.O.T.A.L", "Amount  Due"]
    rng = random.Random(8)
    texts = []
    for text in labels:
        texts += [text, text.upper(), " ".join(text), text.replace(" ", "_") + " #"]
    texts += ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz .-#0123456789é") for _ in range(rng.randrange(1, 30)))
              for _ in range(3000)]
    want = [_label_kind(t) for t in texts]
    assert sum(1 for k in want if k) >= len(labels) * 2  # most spellings are labels to the row loop
    assert len(texts) >= csv_columns.ARROW_MIN_TEXTS  # through Arrow's prefilter
    assert csv_columns.label_kinds(texts, _label_kind).tolist() == want
