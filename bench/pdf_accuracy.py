"""Audit accuracy over PDF invoices: the scenario drawn in each layout, against truth.json.

    .venv/bin/python bench/pdf_accuracy.py [--seeds 7 1 2024] [--layouts known ledger grouped twoline]

For each layout and seed: recall and precision of the findings (rule, invoice, service and
money at issue to the cent; fixtures/truth.py score), input errors, invoices whose lines
failed their own printed totals, PDFs and pages. "known" draws each carrier in a layout
parsers/layouts has a YAML for; the others are fixtures/unseen_layouts.py, read by the
generic reader alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pypdfium2 as pdfium  # noqa: E402

from fixtures.scenario import CARRIERS  # noqa: E402
from fixtures.scenario_pdf import generate_pdf  # noqa: E402
from fixtures.truth import load_truth, score  # noqa: E402
from fixtures.unseen_layouts import UNSEEN, unseen_styles  # noqa: E402
from reconcile.audit import run_audit  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[7, 1, 2024])
    ap.add_argument("--layouts", nargs="+", default=["known", *sorted(UNSEEN)])
    args = ap.parse_args()
    names = {c.key: c.name for c in CARRIERS}
    print(f"{'layout':10} {'seed':>5} {'recall':>8} {'precision':>10} {'errors':>7} {'failed':>7} "
          f"{'pdfs':>5} {'pages':>6} {'audit s':>8}")
    for layout in args.layouts:
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                folder = Path(tmp)
                styles = None if layout == "known" else unseen_styles(layout, names)
                _, bills = generate_pdf(folder, seed, styles)
                pages = sum(len(pdfium.PdfDocument(b.path)) for b in bills)
                t = time.perf_counter()
                result = run_audit([folder / "pdf"], folder / "inventory.xlsx")
                took = time.perf_counter() - t
                s = score(load_truth(folder), result.findings)
                failed = sum(i.self_check_failed for i in result.invoices)
                print(f"{layout:10} {seed:>5} {s.recall:>8.1%} {s.precision:>10.1%} {len(result.errors):>7} "
                      f"{failed:>7} {len(bills):>5} {pages:>6} {took:>8.2f}")


if __name__ == "__main__":
    main()
