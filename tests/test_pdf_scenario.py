"""The whole audit over PDF invoices, against a scenario whose truth is known.

The scenario of tests/test_scenario.py (three carriers, fourteen months, planted errors, the
billed-ID spelling noise) is drawn as one multi-page PDF per invoice (fixtures/scenario_pdf.py)
and audited like the CSV exports: every planted error must be found with its money to the
cent and nothing else, the same lines and findings as from the CSV rendering of the same
bills, and every page of every PDF accounted for. Then the same over layouts no YAML in
parsers/layouts describes (fixtures/unseen_layouts.py), read by the generic reader alone.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pypdfium2 as pdfium
import pytest
from click.testing import CliRunner

from fixtures.pdf_invoices import Col, insert_page
from fixtures.scenario import CARRIERS
from fixtures.scenario_pdf import generate_pdf
from fixtures.truth import CENT, check_against_truth, differences, finding_key, load_truth, score
from fixtures.unseen_layouts import UNSEEN, unseen_styles
from reconcile.parsers.pdf.layout import find_layout
from reconcile.audit import run_audit
from reconcile.cli import main
from reconcile.core.ids import service_key

CARRIER_NAMES = {c.key: c.name for c in CARRIERS}


def page_texts(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(path.read_bytes())
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def audit_pdfs(folder: Path):
    return run_audit([folder / "pdf"], folder / "inventory.xlsx")


def assert_matches_truth(folder: Path, result) -> None:
    problems = check_against_truth(folder, result)
    assert not problems, (f"{score(load_truth(folder), result.findings)}; {len(problems)} difference(s) "
                          "from truth.json:\n" + "\n".join(problems[:30]))


def line_fields(ln) -> tuple:
    return (ln.invoice_number, service_key(ln.service_id) if ln.service_id else "", ln.description,
            ln.charge_type, ln.period_start, ln.period_end, ln.amount)


def found(result) -> Counter:
    """Findings as (rule, invoice, service, money): the carrier name is the layout's own."""
    return Counter((finding_key(f), f.amount_at_issue.quantize(CENT)) for f in result.findings)


def assert_same_as_csv(folder: Path, pdf_result) -> None:
    csv_result = run_audit([folder / "invoices"], folder / "inventory.xlsx")
    want, got = Counter(map(line_fields, csv_result.lines)), Counter(map(line_fields, pdf_result.lines))
    assert got == want, (f"lines only in the CSV: {list((want - got).elements())[:5]}; "
                         f"only in the PDFs: {list((got - want).elements())[:5]}")
    assert found(pdf_result) == found(csv_result)


def assert_every_page_accounted_for(bills, result) -> None:
    """Each charge line is read from the page it is printed on, each PDF's invoice spans all
    its pages, and a page that gave no line is one the bill printed no charge on (totals
    only) or is named in an error or note."""
    lines_by_source = Counter()
    for ln in result.lines:
        lines_by_source[(ln.source, ln.page, line_fields(ln)[1:])] += 1
    for bill in bills:
        src = str(bill.path)
        drawn = Counter((src, bill.page_of[i], line_fields(ln)[1:]) for i, ln in enumerate(bill.lines))
        read = Counter({k: n for k, n in lines_by_source.items() if k[0] == src})
        assert read == drawn, f"{bill.path.name}: lines read on the wrong page or not at all"
        n_pages = len(page_texts(bill.path))
        (inv,) = [i for i in result.invoices if i.source == src]
        named = {e.page for e in result.errors if e.file == src and e.page}
        named |= {p for p in range(1, n_pages + 1) for note in result.notes
                  if note.startswith(src) and re.search(rf"\bpage {p}\b", note)}
        assert inv.pages == n_pages or set(range(inv.pages + 1, n_pages + 1)) <= named, (
            f"{bill.path.name}: {n_pages} pages, the invoice read spans {inv.pages}")
        with_rows = set(bill.page_of.values())
        assert with_rows <= {k[1] for k in read}, bill.path.name
    assert sum(len(b.lines) for b in bills) == len(result.lines)


# -- the carrier layouts the reader has YAML files for ----------------------------------------

@pytest.fixture(scope="module", params=[7, 1, 2024])
def known_layouts(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"pdf-scenario-{request.param}")
    scenario, bills = generate_pdf(folder, request.param)
    return folder, scenario, bills, audit_pdfs(folder)


def test_pdf_invoices_give_exactly_the_planted_errors(known_layouts):
    folder, scenario, bills, result = known_layouts
    assert len(bills) == len(scenario.invoices) == len(result.invoices)
    assert {b.path.name.split("_")[0] for b in bills} == {"northwind", "bluepeak", "summit"}
    assert_matches_truth(folder, result)
    # the planted total mismatches come from the printed current charges disagreeing
    mismatches = {f.invoice_number for f in result.findings if f.rule == "invoice-total-mismatch"}
    assert len(mismatches) == 3
    assert all(any(n in note and "carrier's figures disagree" in note for note in result.notes)
               for n in mismatches)


def test_pdf_and_csv_renderings_give_the_same_lines_and_findings(known_layouts):
    folder, _, _, result = known_layouts
    assert_same_as_csv(folder, result)


def test_every_page_of_every_pdf_is_accounted_for(known_layouts):
    _, _, bills, result = known_layouts
    assert any(len(set(b.page_of.values())) >= 3 for b in bills), "some bills run to three pages"
    assert_every_page_accounted_for(bills, result)


def test_pages_without_charges_are_named_and_change_no_finding(tmp_path):
    """A blank page and a closing notice page in some bills: each is named in the notes, and
    the audit is unchanged."""
    _, bills = generate_pdf(tmp_path, 2024)
    changed = bills[::9]
    for bill in changed:
        n = len(page_texts(bill.path))
        insert_page(bill.path, n + 1, ["Important information about your bill",
                                       "Questions about your bill? Call 1-800-555-0100."])
        insert_page(bill.path, 2)
    result = audit_pdfs(tmp_path)
    assert_matches_truth(tmp_path, result)
    for bill in changed:
        n = len(page_texts(bill.path))
        notes = [note for note in result.notes if note.startswith(str(bill.path))]
        assert any(re.search(r"\bpage 2\b.*blank", note) for note in notes), notes
        assert any(re.search(rf"\bpage {n}\b.*Important information", note) for note in notes), notes


def test_cli_audits_a_folder_of_pdfs_like_csv(tmp_path):
    generate_pdf(tmp_path, 11)
    out = tmp_path / "report"
    res = CliRunner().invoke(main, ["audit", str(tmp_path / "pdf"), "--inventory",
                                    str(tmp_path / "inventory.xlsx"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "errors.json").read_text()) == []
    findings = [SimpleNamespace(**{**f, "amount_at_issue": Decimal(f["amount_at_issue"])})
                for f in json.loads((out / "findings.json").read_text())["findings"]]
    problems = differences(load_truth(tmp_path), findings)
    assert not problems, "\n".join(problems)


def test_pdf_scenario_without_planted_errors_has_no_findings(tmp_path):
    scenario, _ = generate_pdf(tmp_path, 7, plant_errors=False)
    result = audit_pdfs(tmp_path)
    assert scenario.truth == [] and not result.errors, [str(e) for e in result.errors]
    assert not result.findings, "\n".join(f"{f.rule} {f.invoice_number}: {f.explanation}"
                                          for f in result.findings)


# -- layouts no YAML describes: the generic reader alone -----------------------------------------

@pytest.mark.parametrize("seed", [7, 2024])
@pytest.mark.parametrize("layout", sorted(UNSEEN))
def test_unseen_layout_audits_like_csv(tmp_path, layout, seed):
    _, bills = generate_pdf(tmp_path, seed, unseen_styles(layout, CARRIER_NAMES))
    first_pages = [page_texts(b.path)[0] for b in bills[::14]]
    assert {find_layout(text).name for text in first_pages} == {"generic"}
    result = audit_pdfs(tmp_path)
    measured = score(load_truth(tmp_path), result.findings)
    assert measured.recall >= 0.95 and measured.precision >= 0.95, str(measured)
    assert_matches_truth(tmp_path, result)  # and in fact exactly, to the cent
    assert_same_as_csv(tmp_path, result)
    assert_every_page_accounted_for(bills, result)


def test_a_column_the_reader_cannot_name_is_reported_not_silently_dropped(tmp_path):
    """A service column titled in words no list or rule knows: its IDs can't be read, the
    totals still add up, so only a note can tell; it names the column."""
    ledger = UNSEEN["ledger"]
    odd = replace(ledger, columns=(Col("service_id", "Acct/Line Ref", 115),) + ledger.columns[1:])
    generate_pdf(tmp_path, 7, {key: replace(odd, carrier=name) for key, name in CARRIER_NAMES.items()})
    result = audit_pdfs(tmp_path)
    assert not result.errors
    assert all(not ln.service_id for ln in result.lines)
    noted = [n for n in result.notes if "'Acct/Line Ref'" in n and "not read" in n]
    assert len(noted) == len(result.invoices)
