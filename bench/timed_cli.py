"""`reconcile` exactly as its console script runs it (reconcile.cli:run), plus phase times.

    python bench/timed_cli.py PHASES.json audit INVOICES --inventory FILE --out DIR ...

bench_audit.py runs the audit through this so one run gives both the user's wall time and the
phases: `reconcile.audit.run_audit` is wrapped (before reconcile.cli is imported, so either
import style sees the wrapper) to pass `timings=` when it takes one and to note when it
returns; what follows until the command exits is the reports (and the console summary).
PHASES.json gets {read_s, match_s, rules_s, ...} as run_audit reports them, audit_s, reports_s
and in_process_s. If the CLI stops calling run_audit, the command still runs and PHASES.json
says so: the bench then reports no phases rather than failing.
"""

from __future__ import annotations

import inspect
import json
import sys
import time
from pathlib import Path


def main() -> None:
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    t0 = time.perf_counter()
    phases: dict[str, float] = {}
    marks: dict[str, float] = {}
    try:
        import reconcile.audit as audit_module

        original = audit_module.run_audit
        takes_timings = "timings" in inspect.signature(original).parameters

        def run_audit(*args, **kwargs):
            if takes_timings and kwargs.get("timings") is None:
                kwargs["timings"] = phases
            marks["audit_start"] = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                marks["audit_end"] = time.perf_counter()

        audit_module.run_audit = run_audit
    except (ImportError, AttributeError):
        pass
    writers = _time_writers()
    import reconcile.cli as cli

    # the console script's entry point (reconcile.cli:run, once reconcile.cli:main)
    reconcile_main = getattr(cli, "run", cli.main)
    leave = getattr(cli, "_leave", None)
    code: int | str | None = 0
    sys.argv = ["reconcile", *argv]

    def write_phases() -> None:
        end = time.perf_counter()
        got: dict = {f"{k}_s": round(v, 3) for k, v in phases.items()}
        if "audit_end" in marks:
            got["audit_s"] = round(marks["audit_end"] - marks["audit_start"], 3)
            got["reports_s"] = round(end - marks["audit_end"], 3)
        else:
            got["error"] = "the CLI did not call reconcile.audit.run_audit"
        got["in_process_s"] = round(end - t0, 3)
        if writers:  # {name: [wall s, thread]}: the line tables run on a thread of their own
            got["writers"] = writers
        out.write_text(json.dumps(got) + "\n")

    if leave is not None:  # the console script ends the process there: the phases first
        def leave_after_phases(status: int) -> int:
            write_phases()
            return leave(status)

        cli._leave = leave_after_phases
    try:
        reconcile_main()
    except SystemExit as e:
        code = e.code
    finally:
        write_phases()
    sys.exit(code)


def _time_writers() -> dict:
    """Wall seconds of each report writer `reconcile.reports.outputs` calls (write_*), and the
    thread it ran on; {} when the module has none (the bench then prints no breakdown)."""
    import threading

    try:
        import reconcile.reports.outputs as outputs
    except ImportError:
        return {}
    got: dict = {}
    for name in [n for n in dir(outputs) if n.startswith("write_") and n != "write_all"]:
        real = getattr(outputs, name)
        if not callable(real):
            continue

        def timed(*args, _real=real, _name=name, **kwargs):
            t = time.perf_counter()
            try:
                return _real(*args, **kwargs)
            finally:
                thread = "main" if threading.current_thread() is threading.main_thread() else "thread"
                got[_name[len("write_"):]] = [round(time.perf_counter() - t, 3), thread]

        setattr(outputs, name, timed)
    return got


if __name__ == "__main__":
    main()
