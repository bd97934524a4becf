"""Writing every output of a run into one folder."""

from __future__ import annotations

from pathlib import Path

from reconcile.core.result import AuditResult
from reconcile.reports.glossary import write_glossary
from reconcile.reports.html import GLOSSARY_FILE, write_html
from reconcile.reports.parquet import write_lines_parquet
from reconcile.reports.tabular import (write_errors_json, write_findings_csv, write_findings_json,
                             write_invoices_csv, write_lines_csv)


def write_all(result: AuditResult, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in
             ("report.html", GLOSSARY_FILE, "findings.json", "findings.csv", "lines.csv",
              "lines.parquet", "invoices.csv", "errors.json")}
    write_findings_json(result, paths["findings.json"])
    write_findings_csv(result, paths["findings.csv"])
    write_lines_csv(result, paths["lines.csv"])
    write_lines_parquet(result, paths["lines.parquet"])
    write_invoices_csv(result, paths["invoices.csv"])
    write_errors_json(result, paths["errors.json"])
    write_html(result, paths["report.html"])
    write_glossary(paths[GLOSSARY_FILE])  # the report links each finding's rule here
    return paths
