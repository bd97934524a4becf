"""How fast this machine is right now, so a bench figure can be read against it.

This 2-vCPU machine's speed drifts with its host: the same commit took 10.4 s at 1M lines one
hour and 15 s the next, with nothing else running here. `probe()` times a fixed pure-Python
loop alone, and two copies of it at once (each in its own process), in about 2 s:

- `one_s`: the loop alone. Against the fastest `one_s` in bench/results.jsonl it says how much
  slower than its best the machine is now;
- `two_s`: the two copies' times; `cores` = 2 x the fastest single copy / the slower copy of
  the pair is how many cores' work the two vCPUs give together now (2.0 on two free cores;
  1.5-1.8 seen here).

    .venv/bin/python bench/machine_speed.py     # one probe, printed
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

LOOP = 4_000_000  # iterations: about 0.4 s on this machine at its fastest
_CODE = f"""
import time
t = time.perf_counter()
x = 0
for i in range({LOOP}):
    x += i
print(time.perf_counter() - t)
"""


def _start() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", _CODE], stdout=subprocess.PIPE, text=True)


def _seconds(proc: subprocess.Popen) -> float:
    out, _ = proc.communicate()
    return float(out)


def probe() -> dict:
    """The loop alone (the faster of two runs, one each side of the pair: a single run
    moved by a fifth within seconds), and two copies at once."""
    first = _seconds(_start())
    pair = [_start(), _start()]
    two = sorted(_seconds(p) for p in pair)
    one = min(first, _seconds(_start()))
    # a copy of the pair may beat the loop alone (the alone runs were slowed): the fastest
    # copy is then what one core does, so `cores` stays at most 2
    return {"one_s": round(one, 3), "two_s": [round(t, 3) for t in two],
            "cores": round(2 * min(one, two[0]) / two[-1], 2)}


def fastest_seen(results: Path) -> float | None:
    """The fastest `one_s` any run in results.jsonl measured (before or after its audit)."""
    best = None
    if results.exists():
        for line in results.read_text().splitlines():
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            for p in (rec.get("machine") or {}).values():
                if isinstance(p, dict) and p.get("one_s"):
                    best = p["one_s"] if best is None else min(best, p["one_s"])
    return best


def describe(p: dict, best: float | None) -> str:
    best = p["one_s"] if best is None else min(best, p["one_s"])
    slower = f", x{p['one_s'] / best:.2f} of the fastest seen here ({best:.2f} s)" if best else ""
    return (f"a Python loop {p['one_s']:.2f} s alone{slower}; two at once "
            f"{p['two_s'][0]:.2f}/{p['two_s'][1]:.2f} s: {p['cores']:.1f} cores' work")


if __name__ == "__main__":
    started = time.perf_counter()
    got = probe()
    print(describe(got, fastest_seen(Path(__file__).resolve().parent / "results.jsonl")),
          f"(probe {time.perf_counter() - started:.1f} s)")
