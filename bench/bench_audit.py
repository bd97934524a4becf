"""Audit speed and memory: 1,000,000 invoice lines against 50,000 services.

    .venv/bin/python bench/bench_audit.py [--lines 1000000] [--services 50000] [--workers N]

The data (fixtures/bulk.py, with its truth.json) is generated once into bench/data/ and
reused. The audit runs in a fresh process, as `reconcile audit` does, and is timed by phase:
reading (files -> lines, a process pool over the files), matching and rules, writing the
reports. Peak memory is the audit process's maximum resident set plus its largest worker.
The findings are checked against truth.json, so a fast wrong answer doesn't pass unnoticed.
Target for issue 3: under 30 s and under 4 GB on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def data_dir(lines: int, services: int, seed: int) -> Path:
    out = ROOT / "bench" / "data" / f"bulk-{lines}-{services}-{seed}"
    if not (out / "truth.json").exists():
        from fixtures.bulk import generate_bulk

        info = generate_bulk(out, n_lines=lines, n_services=services, seed=seed)
        print(f"generated {info['lines']:,} lines, {info['services']:,} services in "
              f"{info['seconds']:.1f}s -> {out}")
    return out


def audit(folder: Path, workers: int | None) -> None:
    """Runs in its own process so peak memory is the audit's alone."""
    from fixtures.truth import check_against_truth
    from reconcile.audit import run_audit
    from reconcile.reports.outputs import write_all

    phases: dict[str, float] = {}
    t0 = time.perf_counter()
    result = run_audit([folder / "invoices"], folder / "inventory.csv", workers=workers,
                       timings=phases)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_all(result, Path(out))
        t2 = time.perf_counter()
    n = len(result.lines)
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    problems = check_against_truth(folder, result)
    print(json.dumps({
        "lines": n, "services": len(result.services), "invoices": len(result.invoices),
        "findings": len(result.findings), "input_errors": len(result.errors),
        "read_s": round(phases.get("read", 0), 2), "match_s": round(phases.get("match", 0), 2),
        "rules_s": round(phases.get("rules", 0), 2), "audit_s": round(t1 - t0, 2),
        "reports_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
        "lines_per_s": round(n / (t1 - t0)), "peak_mb": round(self_mb + child_mb),
        "truth_differences": len(problems), "first_differences": problems[:5],
    }))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--services", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=None, help="reader processes (default: all cores)")
    ap.add_argument("--_audit", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._audit:
        audit(args._audit, args.workers)
        return
    folder = data_dir(args.lines, args.services, args.seed)
    cmd = [sys.executable, __file__, "--_audit", str(folder)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    got = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"machine      : {os.cpu_count()} cores")
    print(f"input        : {got['lines']:,} lines, {got['invoices']:,} invoices, "
          f"{got['services']:,} services")
    print(f"read         : {got['read_s']:6.2f} s")
    print(f"match        : {got['match_s']:6.2f} s")
    print(f"rules        : {got['rules_s']:6.2f} s")
    print(f"audit total  : {got['audit_s']:6.2f} s   {got['lines_per_s']:,} lines/s")
    print(f"reports      : {got['reports_s']:6.2f} s   (lines.csv, findings, report.html)")
    print(f"peak memory  : {got['peak_mb']:,} MB")
    print(f"findings     : {got['findings']:,}; differences from truth.json: {got['truth_differences']}")
    for p in got["first_differences"]:
        print("   ", p)


if __name__ == "__main__":
    main()
