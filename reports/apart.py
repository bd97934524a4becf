"""The findings' files another process writes while this one writes the other reports
(reconcile.reports.outputs): findings.xlsx (XlsxWriter, about 10 us a cell: 2-3 s at a
million lines), findings.csv, findings.json and invoices.csv (reconcile.reports.cells), from
plain records this process made: the findings and invoices (one dict each, for the CSVs,
the JSON and their sheets alike), and the workbook's Summary and Lines sheets.

    python -m reconcile.reports.apart  < the jobs, pickled

A job is (writer, arguments), the writers those of `run`. The process imports XlsxWriter and
the plain writers only, nothing of the audit: at a million lines it takes 2.6 CPU-s and 80 MB,
and the Python of these files, about 1 s beside the workbook's, is off the reports' path.
"""

from __future__ import annotations

import pickle
import sys


def run(jobs: list[tuple[str, tuple]]) -> None:
    """Write each job's file, in order."""
    from reconcile.reports import cells

    writers = {"findings_book": cells.write_findings_book_of,
               "findings_csv": cells.write_findings_csv_of,
               "findings_json": cells.write_findings_json_of,
               "invoices_csv": cells.write_invoices_csv_of}
    for name, args in jobs:
        writers[name](*args)


def _main() -> int:
    run(pickle.load(sys.stdin.buffer))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
