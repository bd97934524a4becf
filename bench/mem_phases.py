"""Peak memory (RSS, sampled every 20 ms) of each phase of one `reconcile audit` run, in
this process: reading, each rule, each report writer. Not a test: it finds which phase sets
a peak that bench_audit.py measures.

    .venv/bin/python bench/mem_phases.py audit INVOICES --inventory FILE --out DIR
"""

from __future__ import annotations

import functools
import sys
import threading
import time

import reconcile.audit as audit
import reconcile.reports.outputs as outputs
from reconcile.cli import main
from reconcile.rules import RULES

PAGE = 4096
phase = ["reading"]
peaks: dict[str, int] = {}


def rss_mib() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * PAGE >> 20


def sample() -> None:
    while True:
        now, name = rss_mib(), phase[0]
        peaks[name] = max(peaks.get(name, 0), now)
        time.sleep(0.02)


def named(name: str, fn):
    @functools.wraps(fn)
    def run(*args, **kwargs):
        before, phase[0] = phase[0], name
        try:
            result = fn(*args, **kwargs)
            return list(result) if name.startswith("rule ") else result
        finally:
            phase[0] = before
    return run


def instrument() -> None:
    for name in dir(outputs):
        if name.startswith("write_"):
            setattr(outputs, name, named(name, getattr(outputs, name)))
    audit.audit_parsed = named("audit (split, match, merge)", audit.audit_parsed)
    for rule in RULES:
        object.__setattr__(rule, "check", named("rule " + rule.id, rule.check))


if __name__ == "__main__":
    threading.Thread(target=sample, daemon=True).start()
    instrument()
    sys.argv = ["reconcile", *sys.argv[1:]]
    try:
        main()
    except SystemExit:
        pass
    for name, mib in sorted(peaks.items(), key=lambda kv: -kv[1]):
        print(f"{name:36s} {mib:6,d} MiB", file=sys.stderr)
