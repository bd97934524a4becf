"""The pipeline's plumbing: reading in a process pool changes nothing, and every output ties a
finding to exactly the lines it is about."""

from __future__ import annotations

import csv
import json
import os
import pickle

import pytest

import reconcile.audit as audit_module
from fixtures.scenario import generate
from fixtures.scenario_pdf import generate_pdf
from reconcile.audit import run_audit
from reconcile.reports.outputs import write_all


def _outcome(result):
    return ([ln.model_dump() for ln in result.lines],
            [(i.key, i.line_ids, i.stated_total) for i in result.invoices],
            sorted((f.id, f.rule, f.amount_at_issue, tuple(f.line_ids)) for f in result.findings),
            sorted(str(e) for e in result.errors))


def _mixed_batch(tmp_path) -> list:
    """PDFs (read by the pool) between table exports (read in the audit's own process)."""
    scenario, bills = generate_pdf(tmp_path, 5)
    pdfs = sorted(b.path for b in bills)[::12]
    tables = scenario.invoice_files[:-2:5] + scenario.invoice_files[-2:]  # .tsv, .txt, .csv
    files = [f for pair in zip(pdfs, tables) for f in pair]
    return files + pdfs[len(tables):] + tables[len(pdfs):]


def test_a_process_pool_reads_the_same_batch_as_one_process(tmp_path, monkeypatch):
    files = _mixed_batch(tmp_path)
    (tmp_path / "invoices" / "broken.csv").write_text("Account,Amount\n")  # an error crosses too
    files.insert(3, tmp_path / "invoices" / "broken.csv")
    one = run_audit(files, tmp_path / "inventory.xlsx", workers=1)
    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 0)  # small batch: force the pool
    pooled = run_audit(files, tmp_path / "inventory.xlsx", workers=2)
    assert _outcome(pooled) == _outcome(one)
    assert one.findings and any("broken.csv" in str(e) for e in one.errors)
    assert {ln.source[-4:] for ln in one.lines} == {".pdf", ".tsv", ".txt", ".csv"}


def test_only_the_pdfs_of_a_batch_are_read_by_the_pool(tmp_path, monkeypatch):
    """CSV/TSV/XLSX lines cost about as much to pickle as to read: a pool costs them 19-29 %
    more CPU for at most 20 % of wall time. A PDF is slow to read: the pool pays."""
    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 0)
    monkeypatch.setattr(audit_module, "POOL_MIN_BYTES", 0)
    files = _mixed_batch(tmp_path)
    with audit_module._FileReader(str, files, workers=2) as reader:
        assert [files[i].suffix for i in reader.pooled] == [".pdf"] * len(reader.pooled)
        assert len(reader.pooled) == sum(f.suffix == ".pdf" for f in files) >= 2
        assert list(reader) == [str(f) for f in files]  # in file order, pooled or not
    tables = [f for f in files if f.suffix != ".pdf"] + [tmp_path / "inventory.xlsx"]
    with audit_module._FileReader(str, tables, workers=2) as reader:
        assert reader.pool is None and list(reader) == [str(f) for f in tables]
    with audit_module._FileReader(str, files[:2], workers=2) as reader:  # one PDF, one table:
        assert reader.pooled == [0] and list(reader) == [str(f) for f in files[:2]]  # together


def test_threads_read_the_tables_ahead_and_the_pdfs_are_read_by_the_caller(tmp_path, monkeypatch):
    """Without a pool, threads read the table exports a few files ahead (their Arrow and NumPy
    work overlaps); a PDF is read on the caller's thread (pdfium is not thread-safe). The
    files come back in file order, small files read together as before."""
    import threading

    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 10**6)  # no pool
    monkeypatch.setattr(audit_module, "POOL_MIN_BYTES", 10**12)
    monkeypatch.setattr(audit_module, "READ_TOGETHER", 2)  # runs of two small files
    files = _mixed_batch(tmp_path)
    where: dict[str, str] = {}

    def read(path):
        where[str(path)] = threading.current_thread().name
        return str(path)

    def read_many(paths):
        return [read(p) for p in paths]

    with audit_module._FileReader(read, files, workers=2, read_many=read_many) as reader:
        assert reader.pool is None and reader.threads == 2
        assert list(reader) == [str(f) for f in files]
    main = threading.main_thread().name
    assert {where[str(f)] for f in files if f.suffix == ".pdf"} == {main}
    tables = {where[str(f)] for f in files if f.suffix != ".pdf"}
    assert main not in tables and all(t.startswith("reconcile-read") for t in tables)
    with audit_module._FileReader(read, files, workers=1, read_many=read_many) as reader:
        assert reader.threads == 0 and list(reader) == [str(f) for f in files]


def test_threads_read_the_same_batch_as_one_thread(tmp_path, monkeypatch):
    files = _mixed_batch(tmp_path)
    (tmp_path / "invoices" / "broken.csv").write_text("Account,Amount\n")
    files.insert(3, tmp_path / "invoices" / "broken.csv")
    one = run_audit(files, tmp_path / "inventory.xlsx", workers=1)
    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 10**6)  # no pool: threads
    monkeypatch.setattr(audit_module, "POOL_MIN_BYTES", 10**12)
    monkeypatch.setattr(audit_module, "READ_TOGETHER", 2)
    threaded = run_audit(files, tmp_path / "inventory.xlsx", workers=2)
    assert _outcome(threaded) == _outcome(one)
    assert [e.file for e in threaded.errors] == [e.file for e in one.errors]
    assert threaded.notes == one.notes and any("broken.csv" in str(e) for e in one.errors)


def test_the_inventory_is_read_beside_the_invoices_but_never_beside_a_pool(tmp_path, monkeypatch):
    """Table exports only: the inventory is read on a thread while the invoices are read. With
    a pool reading PDFs, in the audit's own thread: a pool that a worker's death restarts
    forks this process, which no other thread may be running in."""
    import threading

    readers = []
    real = audit_module._read_known

    def noted(*args, **kwargs):
        readers.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(audit_module, "_read_known", noted)
    files = _mixed_batch(tmp_path)
    tables = [f for f in files if f.suffix != ".pdf"]
    alone = run_audit(tables, tmp_path / "inventory.xlsx", workers=2)
    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 0)
    pooled = run_audit(files, tmp_path / "inventory.xlsx", workers=2)
    assert readers == [False, True]
    assert alone.findings and pooled.findings


def test_a_line_survives_pickling_whole_and_editable(tmp_path):
    scenario = generate(tmp_path, 5)
    line = run_audit(scenario.invoice_files[:1], tmp_path / "inventory.csv").lines[3]
    copy = pickle.loads(pickle.dumps(line))
    assert copy == line and copy.model_dump() == line.model_dump() and copy.where == line.where
    copy.account = "changed"  # the pipeline edits lines after reading (split invoices)
    assert copy.account == "changed" and line.account != "changed"


def test_lines_csv_tags_exactly_the_lines_each_finding_is_about(tmp_path):
    scenario = generate(tmp_path / "in", 7)
    result = run_audit(scenario.invoice_files, tmp_path / "in" / "inventory.xlsx")
    write_all(result, tmp_path / "out")
    rows = list(csv.DictReader(open(tmp_path / "out" / "lines.csv", encoding="utf-8-sig")))
    tagged: dict[str, set[int]] = {}
    for r in rows:
        for fid in r["findings"].split():
            tagged.setdefault(fid, set()).add(int(r["line_id"]))
    findings = json.loads((tmp_path / "out" / "findings.json").read_text())["findings"]
    about_lines = [f for f in findings if f["line_ids"]]
    assert len(about_lines) >= 20  # every rule but missing-from-bill and the invoice totals
    for f in about_lines:
        assert tagged.get(f["id"]) == set(f["line_ids"]), f["explanation"]
        for i in f["line_ids"]:
            where = f"{rows[i]['source']} row {rows[i]['row']}"
            assert where in [ln["where"] for ln in f["evidence"]["lines"]]
    assert set(tagged) <= {f["id"] for f in about_lines}


def test_finding_ids_are_unique_and_survive_moving_the_files(tmp_path):
    import shutil

    generate(tmp_path / "a", 7)
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    first = run_audit([tmp_path / "a" / "invoices"], tmp_path / "a" / "inventory.xlsx")
    moved = run_audit([tmp_path / "elsewhere" / "b" / "invoices"],
                      tmp_path / "elsewhere" / "b" / "inventory.xlsx")
    ids = [f.id for f in first.findings]
    assert len(ids) == len(set(ids)) >= 20
    assert [(f.id, f.explanation) for f in moved.findings] == \
        [(f.id, f.explanation) for f in first.findings]


def _reader_failing_on(name: str, how: str):
    real = audit_module.read_invoice_file

    def read(path, **kwargs):
        if path.name == name:
            if how == "dies":
                os._exit(1)  # what a crash in a native PDF library does to its process
            raise RuntimeError("a bug in a reader")
        return real(path, **kwargs)
    return read


@pytest.mark.parametrize("how, workers, kind", [("raises", 1, ".pdf"), ("raises", 2, ".pdf"),
                                                ("dies", 2, ".pdf"), ("raises", 2, ".tsv")])
def test_a_file_that_breaks_its_reader_is_one_error_and_the_batch_goes_on(tmp_path, monkeypatch,
                                                                        how, workers, kind):
    files = _mixed_batch(tmp_path)
    healthy = run_audit(files, tmp_path / "inventory.xlsx", workers=1)
    victim = [f for f in files if f.suffix == kind][1]
    monkeypatch.setattr(audit_module, "POOL_MIN_PDFS", 0)
    monkeypatch.setattr(audit_module, "read_invoice_file", _reader_failing_on(victim.name, how))
    many = audit_module.read_invoice_files

    def read_together(paths, **kwargs):  # the bug hits a reading of several files at once
        if any(p.name == victim.name for p in paths):
            raise RuntimeError("a bug in a reader")
        return many(paths, **kwargs)

    monkeypatch.setattr(audit_module, "read_invoice_files", read_together)
    result = run_audit(files, tmp_path / "inventory.xlsx", workers=workers)
    assert [e.file for e in result.errors] == [str(victim)]
    assert "file" in result.errors[0].reason and result.errors[0].effect == "file skipped"
    others = [ln.model_dump(exclude={"line_id"}) for ln in healthy.lines if ln.source != str(victim)]
    assert [ln.model_dump(exclude={"line_id"}) for ln in result.lines] == others


def test_lines_csv_writes_amounts_as_the_carrier_did_by_arrow_as_by_python():
    """lines.csv's amounts are made by Arrow once per distinct value: the same text as the
    line records give (to the cent when exact, else without trailing zeros)."""
    import doctest
    import random
    from decimal import Decimal

    import pyarrow as pa

    import reconcile.reports.tabular as tabular
    from reconcile.core.lines import plain_amount

    rnd = random.Random(7)
    values = [Decimal(rnd.randint(-10**14, 10**14)) / Decimal(10**rnd.randint(0, 6))
              for _ in range(20_000)]
    values += [Decimal(0), Decimal("-0.000001"), Decimal("100"), Decimal("0.1"), Decimal("-0.10"),
               Decimal("0.0125"), Decimal("99999999999999.999999"), None]
    column = pa.array(values, pa.decimal128(38, 6))
    assert tabular.decimal_words(column).to_pylist() == [
        tabular.plain(plain_amount(v)) if v is not None else "" for v in column.to_pylist()]
    got = doctest.testmod(tabular)  # decimal_words' examples
    assert got.attempted >= 1 and got.failed == 0
