#!/bin/bash
# A/B of two commits on a machine whose speed drifts: OLD and NEW checked out in turn, run
# after run, on the 1M bench batch (bench_audit.py generates it first).
#
#     bash bench/ab_commits.sh OLD NEW [ROUNDS]     # e.g. 06cfe4a main 4
#
# The editable install runs whichever is checked out, so the tree must be clean (commit or
# stash first) and the two commits must install alike (the same pyproject.toml). The branch
# checked out before is restored on exit, also on Ctrl-C. Compare the rounds' means.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=$(git rev-parse --short "$1") NEW=$(git rev-parse --short "$2") ROUNDS=${3:-3}  # fixed before any checkout
DATA=bench/data/bulk-1000000-50000-7
PY=.venv/bin/python
[ -d "$DATA" ] || { echo "no $DATA: run $PY bench/bench_audit.py --lines 1000000 once" >&2; exit 2; }
git diff --quiet HEAD || { echo "the tree has uncommitted changes: commit or stash them" >&2; exit 2; }
BACK=$(git symbolic-ref -q --short HEAD || git rev-parse HEAD)
OUT=$(mktemp -d)
trap 'git checkout -q "$BACK"; rm -rf "$OUT"' EXIT

one() {
  rm -rf "$OUT/run"
  /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB largest" "$PY" bench/timed_cli.py "$OUT/phases.json" \
    audit "$DATA/invoices" --inventory "$DATA/inventory.csv" --out "$OUT/run" 2>"$OUT/time" >/dev/null || true
  printf '%s | ' "$(tail -1 "$OUT/time")"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f'{k} {d.get(k+\"_s\",\"-\")}' for k in ('read','match','rules','reports')))" "$OUT/phases.json"
}

for _ in $(seq "$ROUNDS"); do
  git checkout -q "$OLD"; printf 'OLD %-8s ' "$OLD"; one
  git checkout -q "$NEW"; printf 'NEW %-8s ' "$NEW"; one
done
