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
from reconcile.audit import run_audit
from reconcile.reports.outputs import write_all


def _outcome(result):
    return ([ln.model_dump() for ln in result.lines],
            [(i.key, i.line_ids, i.stated_total) for i in result.invoices],
            sorted((f.id, f.rule, f.amount_at_issue, tuple(f.line_ids)) for f in result.findings),
            sorted(str(e) for e in result.errors))


def test_a_process_pool_reads_the_same_batch_as_one_process(tmp_path, monkeypatch):
    scenario = generate(tmp_path, 5)
    (tmp_path / "invoices" / "broken.csv").write_text("Account,Amount\n")  # an error crosses too
    files = scenario.invoice_files + [tmp_path / "invoices" / "broken.csv"]
    one = run_audit(files, tmp_path / "inventory.xlsx", workers=1)
    monkeypatch.setattr(audit_module, "POOL_MIN_BYTES", 0)  # small batch: force the pool
    pooled = run_audit(files, tmp_path / "inventory.xlsx", workers=2)
    assert _outcome(pooled) == _outcome(one)
    assert one.findings and any("broken.csv" in str(e) for e in one.errors)


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


@pytest.mark.parametrize("how, workers", [("raises", 1), ("raises", 2), ("dies", 2)])
def test_a_file_that_breaks_its_reader_is_one_error_and_the_batch_goes_on(tmp_path, monkeypatch,
                                                                        how, workers):
    scenario = generate(tmp_path, 5)
    files = scenario.invoice_files
    healthy = run_audit(files, tmp_path / "inventory.xlsx", workers=1)
    victim = files[len(files) // 2]
    monkeypatch.setattr(audit_module, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(audit_module, "read_invoice_file", _reader_failing_on(victim.name, how))
    result = run_audit(files, tmp_path / "inventory.xlsx", workers=workers)
    assert [e.file for e in result.errors] == [str(victim)]
    assert "file" in result.errors[0].reason and result.errors[0].effect == "file skipped"
    others = [ln.model_dump(exclude={"line_id"}) for ln in healthy.lines if ln.source != str(victim)]
    assert [ln.model_dump(exclude={"line_id"}) for ln in result.lines] == others
