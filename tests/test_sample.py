"""The bundled demo sample (fixtures/sample) is exactly what the generator makes for its seed,
and the engine finds exactly its truth. Regenerate with `make sample` after changing fixtures/."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from fixtures.scenario import SAMPLE_SEED, generate
from fixtures.truth import check_against_truth, load_truth
from reconcile.audit import run_audit
from reconcile.core.result import AuditOptions
from reconcile.sample import AS_OF

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "sample"
REGENERATE = "regenerate it with `make sample` (python -m fixtures.scenario --out fixtures/sample)"


def files_under(folder: Path) -> dict[str, Path]:
    # __init__.py makes the folder the installed package reconcile.sample; the generator's
    # output is everything else
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "__init__.py" and "__pycache__" not in p.parts}


def sheet_values(path: Path) -> dict[str, list[tuple]]:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    finally:
        wb.close()


def test_sample_is_what_the_generator_makes(tmp_path):
    assert SAMPLE.is_dir(), f"{SAMPLE} is missing; {REGENERATE}"
    generate(tmp_path, SAMPLE_SEED)
    committed, fresh = files_under(SAMPLE), files_under(tmp_path)
    assert sorted(committed) == sorted(fresh), f"file lists differ; {REGENERATE}"
    for name, path in fresh.items():
        if name.endswith(".xlsx"):  # compare cells: zip bytes may differ across openpyxl versions
            assert sheet_values(committed[name]) == sheet_values(path), f"{name} differs; {REGENERATE}"
        else:
            assert committed[name].read_bytes() == path.read_bytes(), f"{name} differs; {REGENERATE}"


def test_engine_finds_exactly_the_sample_truth():
    invoices = sorted(p for p in (SAMPLE / "invoices").rglob("*") if p.is_file())
    problems = check_against_truth(SAMPLE, run_audit(invoices, SAMPLE / "inventory.xlsx"))
    assert not problems, f"{len(problems)} difference(s) from truth.json:\n" + "\n".join(problems)


def test_engine_finds_exactly_the_sample_truth_with_its_records():
    """What `reconcile demo` audits: the contracts, orders and payments beside the sample add
    exactly truth_records.json (a renewal not applied, an NRC nobody ordered, terms to renew),
    and nothing on their look-alikes (a renewal applied, a discount credited, a cancelled
    order, the install orders behind the installation charges)."""
    invoices = sorted(p for p in (SAMPLE / "invoices").rglob("*") if p.is_file())
    result = run_audit(invoices, SAMPLE / "inventory.xlsx", options=AuditOptions(as_of=AS_OF),
                       contracts=SAMPLE / "contracts.xlsx", orders=SAMPLE / "orders.csv",
                       payments=SAMPLE / "payments.csv")
    problems = check_against_truth(SAMPLE, result, records=True)
    assert not problems, f"{len(problems)} difference(s) from the truth:\n" + "\n".join(problems)
    assert {"rate-above-contract", "nrc-without-order", "contract-expiring"} <= {
        t["rule"] for t in load_truth(SAMPLE, records=True)[len(load_truth(SAMPLE)):]}
    assert not [n for n in result.notes if "Not checked" in n or "not checked" in n]
