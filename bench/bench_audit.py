"""Audit speed and memory at scale: `reconcile audit` on 1M (and 3M, 10M) invoice lines against
50,000 services, beside a columnar floor over the same files.

    .venv/bin/python bench/bench_audit.py               # 1M and 3M (make bench), time ratio 3M/1M
    .venv/bin/python bench/bench_audit.py --lines 1000000               # one size only
    .venv/bin/python bench/bench_audit.py --scale --lines 10000000      # 1M, 3M and 10M, ratio 10M/1M
    .venv/bin/python bench/bench_audit.py --lines 1000000 --bills-as-files  # 6,000 small files
      [--services 50000] [--seed 7] [--workers N] [--plain] [--force]

Data (fixtures/bulk.py, with its truth.json) is generated once per size into bench/data/
(git-ignored; 3M lines ~0.35 GB, 10M ~1.2 GB) and reused. For each size, in this order:

- floor: bench/floor.py in its own process (pyarrow read, DuckDB join and group-by);
- audit: the CLI as a user runs it, `reconcile audit INVOICES --inventory FILE --out TMP`, in
  its own process: wall seconds from start to exit (all reports written), lines/s, CPU seconds
  of the process tree, peak memory of the tree (the sum of its processes' RSS, reader workers
  included, sampled every 0.1 s; at least the largest single process's maximum RSS from
  wait4), bytes per line; findings.json and errors.json are compared with truth.json
  (fixtures/truth.py, rebuilt from the JSON: no engine objects). The command runs through
  bench/timed_cli.py, which calls the console script's own entry point and takes the phases
  (read / match / rules as `run_audit(..., timings=)` reports them, then reports) from the
  same run; --plain runs the installed `reconcile` script itself, without phases.

Each audit figure has its ratio to the floor's beside it. Targets (issue 8): 1M audited with all
reports in under 10 s, under 1 KB per line, 3M/1M time <= 3.3, 10M/1M <= 11. Each size's
figures are appended as one JSON line to bench/results.jsonl (git-ignored) to compare before
and after. A size whose estimated memory (bytes per line measured at a smaller size in this
run or at this commit before, else 2,600) exceeds what the machine has available is skipped
unless --force. The cores other processes kept busy during each run are printed: on a shared
machine wall times move with them, and CPU seconds too (shared caches), less so. So is this
machine's own speed before and after each size (bench/machine_speed.py: a Python loop alone,
against the fastest seen here, and two at once): its host makes it drift by half or more.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import machine_speed  # noqa: E402  (bench/, beside this file)

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results.jsonl"
DEFAULT_BYTES_PER_LINE = 2600  # today's engine (issue 8): 2.0-2.5 KB per line
MB = 1 << 20


# --- data ---------------------------------------------------------------------------------

def data_dir(lines: int, services: int, seed: int) -> Path:
    """The bulk batch for this size, generated on first use (truth.json is written last, and
    meta.json after it, so an interrupted generation is redone)."""
    from fixtures.bulk import bulk_months, generate_bulk

    out = DATA / f"bulk-{lines}-{services}-{seed}"
    months = bulk_months(lines, services)
    meta = out / "meta.json"
    # the data is kept only while the generator's source is the same: a changed generator
    # (new truth, new meanings) would otherwise be judged against an old truth.json
    made_by = hashlib.sha256((ROOT / "fixtures" / "bulk.py").read_bytes()).hexdigest()[:16]
    if meta.exists() and json.loads(meta.read_text()).get("months") == months and \
            json.loads(meta.read_text()).get("generator") == made_by:
        return out
    if out.exists():  # an older generator, or an interrupted generation
        shutil.rmtree(out)
    info = generate_bulk(out, n_lines=lines, n_services=services, seed=seed, months=months)
    meta.write_text(json.dumps({"lines": info["lines"], "services": info["services"],
                                "months": months, "truth": info["truth"],
                                "generator": made_by}) + "\n")
    print(f"generated {info['lines']:,} lines ({months} months), {info['services']:,} services "
          f"in {info['seconds']:.1f} s -> {out.relative_to(ROOT)}", flush=True)
    return out


def bills_as_files(folder: Path) -> Path:
    """The same batch with each bill in a file of its own (header, its rows, its TOTAL row):
    a folder of portal downloads, thousands of small files. Made once beside `folder`; the
    inventory and truth are the same (truth is by rule, invoice and service, not file)."""
    out = folder.with_name(folder.name + "-bills")
    made = out / "meta.json"
    if made.exists() and made.read_text() == (folder / "meta.json").read_text():
        return out
    if out.exists():
        shutil.rmtree(out)
    (out / "invoices").mkdir(parents=True)
    n = 0
    for src in sorted((folder / "invoices").iterdir()):
        with open(src, newline="") as fh:
            rows = csv.reader(fh)
            header = next(rows)
            bill, current = [], None
            for row in rows:
                number = row[2] if len(row) > 2 else ""
                if number and number != current and bill:
                    n = _write_bill(out, n, header, bill)
                    bill = []
                current = number or current
                bill.append(row)
            if bill:
                n = _write_bill(out, n, header, bill)
    for name in ("inventory.csv", "truth.json"):
        shutil.copyfile(folder / name, out / name)
    made.write_text((folder / "meta.json").read_text())
    print(f"split into {n:,} files, one bill each -> {out.relative_to(ROOT)}", flush=True)
    return out


def _write_bill(out: Path, n: int, header: list[str], rows: list[list[str]]) -> int:
    with open(out / "invoices" / f"bill_{n:06d}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return n + 1


# --- measuring a process tree ---------------------------------------------------------------

PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")


def _children_of() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(b")") + 2:].split()[1])
            kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def tree_rss(root: int) -> int:
    """Bytes resident in `root` and all its descendants now."""
    kids, todo, total = _children_of(), [root], 0
    while todo:
        pid = todo.pop()
        todo += kids.get(pid, [])
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            pass
    return total


def busy_cpu_seconds() -> float:
    """CPU seconds all processes on this machine have used since boot (not idle or iowait)."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


def run_measured(cmd: list[str], stdout: Path) -> dict:
    """Run cmd to completion: wall and CPU seconds, peak RSS of its tree, and how many cores
    other processes kept busy meanwhile."""
    peak = [0]
    done = threading.Event()
    busy0, load0, t0 = busy_cpu_seconds(), os.getloadavg()[0], time.perf_counter()
    own0 = sum(os.times()[:2])  # this process (its sampler) is not "other processes" either
    with open(stdout, "wb") as out, open(stdout.with_suffix(".err"), "wb") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)

        def sample() -> None:
            while not done.wait(0.1):
                peak[0] = max(peak[0], tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, busy_cpu_seconds() - busy0 - cpu - (sum(os.times()[:2]) - own0)) / wall
    largest = usage.ru_maxrss * 1024  # wait4: the largest of the process and its descendants
    return {"exit": proc.returncode, "wall_s": wall, "cpu_s": cpu, "peak_bytes": max(peak[0], largest),
            "largest_process_bytes": largest, "others_cores": others, "load_at_start": load0,
            "stderr": stdout.with_suffix(".err").read_text(errors="replace")[-2000:]}


# --- floor, audit (the CLI) ----------------------------------------------------------------

def floor(folder: Path, work: Path) -> dict:
    cmd = [sys.executable, str(ROOT / "bench" / "floor.py"), str(folder / "invoices"),
           "--inventory", str(folder / "inventory.csv"), "--json"]
    got = run_measured(cmd, work / "floor.out")
    if got["exit"] != 0:
        raise SystemExit(f"floor failed ({got['exit']}):\n{got['stderr']}")
    got["report"] = json.loads((work / "floor.out").read_text())
    return got


def reconcile_command() -> list[str]:
    script = Path(sys.executable).with_name("reconcile")
    if script.exists():
        return [str(script)]
    found = shutil.which("reconcile")
    return [found] if found else [sys.executable, "-m", "reconcile.cli"]


def audit_cli(folder: Path, work: Path, workers: int | None, plain: bool) -> dict:
    out, timings = work / "report", work / "phases.json"
    args = ["audit", str(folder / "invoices"), "--inventory", str(folder / "inventory.csv"),
            "--out", str(out)]
    if workers:
        args += ["--jobs", str(workers)]
    from reconcile.parsers.limits import Limits

    rows = _most_rows(folder / "invoices")
    if rows > Limits().rows:  # as a user with such files must: past the limit a file is refused
        args += ["--limit", f"rows={2 * rows}"]  # not near it either: there the row loop reads
    if plain:
        cmd = reconcile_command() + args
    else:
        cmd = [sys.executable, str(ROOT / "bench" / "timed_cli.py"), str(timings)] + args
    got = run_measured(cmd, work / "audit.out")
    if got["exit"] not in (0, 1) or not (out / "findings.json").exists():
        raise SystemExit(f"reconcile audit failed ({got['exit']}):\n{got['stderr']}")
    got["phases"] = json.loads(timings.read_text()) if timings.exists() else {}
    got.update(truth_check(folder, out))
    got["report_bytes"] = sum(p.stat().st_size for p in out.iterdir())
    shutil.rmtree(out)
    return got


def _most_rows(invoices: Path) -> int:
    """The most lines one invoice file of the batch has (the bulk files: one row a line)."""
    most = 0
    for path in invoices.iterdir():
        with open(path, "rb") as fh:
            most = max(most, sum(block.count(b"\n") for block in iter(lambda: fh.read(1 << 24), b"")))
    return most


def truth_check(folder: Path, out: Path) -> dict:
    """findings.json and errors.json against truth.json, by fixtures/truth.py's rules."""
    from fixtures.truth import differences, load_truth

    data = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    findings = [SimpleNamespace(rule=f["rule"], invoice_number=f["invoice_number"],
                                service_id=f["service_id"], matched_service_id=f["matched_service_id"],
                                amount_at_issue=Decimal(f["amount_at_issue"]),
                                explanation=f["explanation"]) for f in data["findings"]]
    errors = json.loads((out / "errors.json").read_text(encoding="utf-8"))
    problems = [f"input error: {e.get('file')} {e.get('row') or e.get('page') or ''}: {e.get('reason')}"
                for e in errors] + differences(load_truth(folder), findings)
    summary = data.get("summary", {})
    return {"lines": summary.get("lines"), "invoices": summary.get("invoices"),
            "services": summary.get("services"), "findings": len(findings),
            "input_errors": len(errors), "truth_differences": len(problems),
            "first_differences": problems[:5]}


# --- one size, several sizes, the table -----------------------------------------------------

def git_state() -> dict:
    def git(*args):
        r = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return r.stdout.strip()
    return {"commit": git("rev-parse", "--short", "HEAD"), "branch": git("branch", "--show-current"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def known_bytes_per_line(commit: str) -> int | None:
    if not RESULTS.exists():
        return None
    seen = [r for r in map(json.loads, RESULTS.read_text().splitlines())
            if r.get("commit") == commit and r.get("audit", {}).get("bytes_per_line")]
    return max(seen, key=lambda r: r["lines"])["audit"]["bytes_per_line"] if seen else None


def available_bytes() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def bench_size(lines: int, args, bytes_per_line: float, run: dict) -> dict | None:
    need, have = lines * bytes_per_line * 1.15, available_bytes()
    if need > have and not args.force:
        print(f"\n{lines:,} lines: skipped, would need ~{need / 2**30:.1f} GB at "
              f"{bytes_per_line:,.0f} B/line, {have / 2**30:.1f} GB available (--force to try)")
        return None
    folder = data_dir(lines, args.services, args.seed)
    if args.bills_as_files:
        folder = bills_as_files(folder)
    print(f"\n{lines:,} lines requested ({folder.relative_to(ROOT)}): machine speed ...", end="",
          flush=True)
    speed = {"before": machine_speed.probe()}
    print(" floor ...", end="", flush=True)
    with tempfile.TemporaryDirectory(dir=DATA) as tmp:
        work = Path(tmp)
        fl = floor(folder, work)
        print(f" {fl['wall_s']:.1f} s; reconcile audit ...", end="", flush=True)
        au = audit_cli(folder, work, args.workers, args.plain)
        print(f" {au['wall_s']:.1f} s", flush=True)
    speed["after"] = machine_speed.probe()
    n = au["lines"] or fl["report"]["lines"]
    audit = {"wall_s": round(au["wall_s"], 2), "cpu_s": round(au["cpu_s"], 2),
             "lines_per_s": round(n / au["wall_s"]), "peak_mb": round(au["peak_bytes"] / MB),
             "largest_process_mb": round(au["largest_process_bytes"] / MB),
             "bytes_per_line": round(au["peak_bytes"] / n), "others_cores": round(au["others_cores"], 2),
             "load_at_start": round(au["load_at_start"], 2), "exit": au["exit"],
             "report_mb": round(au["report_bytes"] / MB, 1)}
    flo = {"wall_s": round(fl["wall_s"], 2), "cpu_s": round(fl["cpu_s"], 2),
           "inner_s": fl["report"]["seconds"], "peak_mb": round(fl["peak_bytes"] / MB),
           "bytes_per_line": round(fl["peak_bytes"] / n), "others_cores": round(fl["others_cores"], 2),
           **{k: fl["report"][k] for k in ("read_s", "normalise_s", "join_group_s", "matched",
                                            "after_disconnect", "total_mismatch")}}
    rec = {**run, "lines": n, "lines_requested": lines, "services": au["services"],
           "invoices": au["invoices"], "months": json.loads((folder / "meta.json").read_text())["months"],
           "audit": audit, "floor": flo,
           "ratio": {"wall": round(au["wall_s"] / fl["wall_s"], 1),
                     "cpu": round(au["cpu_s"] / max(fl["cpu_s"], 1e-9), 1),
                     "peak": round(au["peak_bytes"] / fl["peak_bytes"], 1)},
           "phases": au["phases"], "plain": args.plain, "findings": au["findings"],
           "input_errors": au["input_errors"],
           "truth_differences": au["truth_differences"], "first_differences": au["first_differences"],
           "machine": speed}
    show_size(rec)
    return rec


def show_size(r: dict) -> None:
    a, f, x, ph = r["audit"], r["floor"], r["ratio"], r["phases"]
    print(f"  input        : {r['lines']:,} lines, {r['invoices']:,} invoices ({r['months']} months), "
          f"{r['services']:,} services")
    print(f"  audit (CLI)  : {a['wall_s']:7.2f} s wall  x{x['wall']} floor ({f['wall_s']:.2f} s)   "
          f"{a['lines_per_s']:,} lines/s   all reports written ({a['report_mb']:,} MB)")
    print(f"  cpu          : {a['cpu_s']:7.2f} s       x{x['cpu']} floor ({f['cpu_s']:.2f} s)")
    print(f"  peak memory  : {a['peak_mb']:7,} MB     x{x['peak']} floor ({f['peak_mb']:,} MB)   "
          f"{a['bytes_per_line']:,} B/line (floor {f['bytes_per_line']:,}); largest process "
          f"{a['largest_process_mb']:,} MB")
    if "reports_s" in ph:
        parts = ", ".join(f"{k[:-2]} {v:.2f}" for k, v in ph.items()
                          if k.endswith("_s") and k not in ("audit_s", "reports_s", "in_process_s"))
        print(f"  phases       : audit {ph['audit_s']:.2f} s ({parts or 'no timings= offered'}) + "
              f"reports {ph['reports_s']:.2f} s; interpreter start-up and exit "
              f"{a['wall_s'] - ph['in_process_s']:.2f} s")
        writers = sorted(ph.get("writers", {}).items(), key=lambda kv: -kv[1][0])
        if writers:
            main = ", ".join(f"{k} {w:.2f}" for k, (w, th) in writers if th == "main" and w >= 0.05)
            beside = ", ".join(f"{k} {w:.2f}" for k, (w, th) in writers if th != "main" and w >= 0.05)
            print(f"  reports      : {main}" + (f"; on a second thread meanwhile: {beside}" if beside else ""))
    elif ph:
        print(f"  phases       : not measured: {ph.get('error')}")
    print(f"  floor        : read {f['read_s']:.2f}, normalise {f['normalise_s']:.2f}, join+group "
          f"{f['join_group_s']:.2f} = {f['inner_s']:.2f} s in-process; {f['matched']:,} lines matched "
          f"by its cheap key, {f['after_disconnect']:,} after a disconnect, {f['total_mismatch']} totals off")
    print(f"  findings     : {r['findings']:,}; input errors {r['input_errors']}; "
          f"differences from truth.json: {r['truth_differences']}")
    for p in r["first_differences"]:
        print("      ", p)
    busy = a["others_cores"] > 0.25 * (os.cpu_count() or 1)
    print(f"  machine      : other processes kept {a['others_cores']:.1f} of {os.cpu_count()} cores busy "
          f"during the audit (load {a['load_at_start']:.1f} at its start)"
          f"{': BUSY, times are not comparable with a quiet run' if busy else ''}")
    probes = r.get("machine") or {}
    best = min([p["one_s"] for p in probes.values()] + [machine_speed.fastest_seen(RESULTS) or 1e9])
    for when, p in probes.items():
        print(f"  speed {when:6} : {machine_speed.describe(p, best)}")


def show_table(recs: list[dict]) -> None:
    print("\n   lines |  audit s  x floor | lines/s |  peak MB  x floor |  B/line | phases read/match/rules"
          "/reports s |  floor s | truth diffs | others' cores")
    for r in recs:
        a, f, x, ph = r["audit"], r["floor"], r["ratio"], r["phases"]
        phs = ("/".join(f"{ph[k]:.1f}" if k in ph else "-" for k in ("read_s", "match_s", "rules_s",
                                                                       "reports_s")) if ph else "-")
        print(f"{r['lines'] / 1e6:6.2f}M | {a['wall_s']:8.2f} {x['wall']:6.1f} | {a['lines_per_s']:7,} | "
              f"{a['peak_mb']:8,} {x['peak']:6.1f} | {a['bytes_per_line']:7,} | {phs:>28} | "
              f"{f['wall_s']:8.2f} | {r['truth_differences']:11} | {a['others_cores']:.1f}")
    base = next((r for r in recs if r["lines_requested"] == 1_000_000), None)
    for r in recs:
        if base and r is not base:
            k = r["lines_requested"] // 1_000_000
            target = {3: 3.3, 10: 11}.get(k)
            ratio = r["audit"]["wall_s"] / base["audit"]["wall_s"]
            ok = "" if target is None else f" (target <= {target}: {'met' if ratio <= target else 'NOT met'})"
            print(f"scale {k}M/1M: time x{ratio:.2f}{ok} for x{r['lines'] / base['lines']:.2f} lines; "
                  f"cpu x{r['audit']['cpu_s'] / base['audit']['cpu_s']:.2f}; floor time "
                  f"x{r['floor']['wall_s'] / base['floor']['wall_s']:.2f}; peak memory "
                  f"x{r['audit']['peak_mb'] / base['audit']['peak_mb']:.2f}")
    busiest = max(r["audit"]["others_cores"] for r in recs)
    if busiest > 0.25 * (os.cpu_count() or 1):
        print(f"the machine was busy (other processes kept up to {busiest:.1f} of {os.cpu_count()} cores "
              f"busy): wall times and ratios are noisy; compare CPU seconds, or rerun when quiet")


def compile_modules() -> None:
    """The project's modules compiled to bytecode, as a user's first run leaves them. Where
    PYTHONDONTWRITEBYTECODE is set (this machine's shells set it) no run writes them, and
    every timed run compiled about 100 modules from source first (0.08 s of 0.83 of imports,
    measured alternately here)."""
    for folder in ("reconcile", "parsers", "rules", "reports", "fixtures"):
        compileall.compile_dir(ROOT / folder, quiet=1)


def main() -> None:
    ap = argparse.ArgumentParser(description="reconcile audit at 1M/3M/10M lines beside a columnar "
                                 "floor (see the module docstring)")
    ap.add_argument("--lines", type=int, action="append",
                    help="invoice lines, repeatable (default: 1M and 3M, as --scale)")
    ap.add_argument("--scale", action="store_true", help="1M and 3M plus any --lines; time ratios to 1M")
    ap.add_argument("--services", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", type=int, default=None, help="reconcile audit --jobs (default: its own)")
    ap.add_argument("--plain", action="store_true",
                    help="run the installed reconcile script itself (no phase times)")
    ap.add_argument("--force", action="store_true", help="run sizes the memory estimate says won't fit")
    ap.add_argument("--bills-as-files", action="store_true",
                    help="each bill in a file of its own (6,000 small files at 1M lines)")
    args = ap.parse_args()
    scale = args.scale or not args.lines
    sizes = sorted(set((args.lines or []) + ([1_000_000, 3_000_000] if scale else [])))
    DATA.mkdir(parents=True, exist_ok=True)
    run = {"run": datetime.now(timezone.utc).isoformat(timespec="seconds"), **git_state(),
           "cores": os.cpu_count(), "python": sys.version.split()[0], "workers": args.workers,
           "bills_as_files": args.bills_as_files}
    print(f"reconcile {run['commit']}{' (dirty)' if run['dirty'] else ''} on {run['branch'] or '-'}; "
          f"{os.cpu_count()} cores, {available_bytes() / 2**30:.1f} GB available, "
          f"load {os.getloadavg()[0]:.1f}")
    compile_modules()
    bytes_per_line = known_bytes_per_line(run["commit"]) or DEFAULT_BYTES_PER_LINE
    recs = []
    for lines in sizes:
        rec = bench_size(lines, args, bytes_per_line, run)
        if rec is None:
            continue
        bytes_per_line = rec["audit"]["bytes_per_line"]
        recs.append(rec)
        with open(RESULTS, "a") as fh:
            fh.write(json.dumps(rec) + "\n")
    if recs:
        show_table(recs)
        print(f"appended {len(recs)} line(s) to {RESULTS.relative_to(ROOT)}")
    if any(r["truth_differences"] for r in recs):
        print("FINDINGS DIFFER FROM THE TRUTH: these times are not a result")


if __name__ == "__main__":
    main()
