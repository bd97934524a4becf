#!/bin/bash
# A/B on a machine whose speed drifts: two versions alternated run after run on the 1M bench
# batch (bench_audit.py generates it first); prints wall, CPU, largest RSS and phases per run.
#
#     bash bench/ab.sh [ROUNDS]            # HEAD (A) against the working tree's uncommitted change (B)
#     bash bench/ab.sh OLD NEW [ROUNDS]    # two commits checked out in turn (the tree clean)
#
# ROUNDS defaults to 3. With no commits, A runs with the change stashed (`git stash`) and B
# with it back; with two, each is checked out in turn (fixed before any checkout, so HEAD~1
# and HEAD mean what they meant). The tree as it was is restored on exit, also on Ctrl-C. The
# editable install runs whichever is in the tree, so two commits must install alike (the same
# pyproject.toml). Compare the rounds' means, not one run: back-to-back runs of one commit
# differed by up to 3 s here.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=bench/data/bulk-1000000-50000-7
PY=.venv/bin/python
[ -d "$DATA" ] || { echo "no $DATA: run $PY bench/bench_audit.py --lines 1000000 once" >&2; exit 2; }
OUT=$(mktemp -d)
if [ $# -ge 2 ]; then
  OLD=$(git rev-parse --short "$1") NEW=$(git rev-parse --short "$2") ROUNDS=${3:-3}
  git diff --quiet HEAD || { echo "the tree has uncommitted changes: commit or stash them" >&2; exit 2; }
  BACK=$(git symbolic-ref -q --short HEAD || git rev-parse HEAD)
  trap 'git checkout -q "$BACK"; rm -rf "$OUT"' EXIT
  a() { git checkout -q "$OLD"; printf 'A %-9s ' "$OLD"; }
  b() { git checkout -q "$NEW"; printf 'B %-9s ' "$NEW"; }
else
  ROUNDS=${1:-3}
  git diff --quiet HEAD && { echo "no uncommitted change to compare with HEAD" >&2; exit 2; }
  stashed=0
  trap 'if [ "$stashed" = 1 ]; then git stash pop -q; fi; rm -rf "$OUT"' EXIT
  a() { git stash -q; stashed=1; printf 'A (HEAD)   '; }
  b() { git stash pop -q; stashed=0; printf 'B (change) '; }
fi

one() {
  rm -rf "$OUT/run"
  # the checked-out modules compiled, as a user's first run leaves them (bench_audit.py: why)
  "$PY" -m compileall -q reconcile parsers rules reports fixtures >/dev/null
  /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB largest" "$PY" bench/timed_cli.py "$OUT/phases.json" \
    audit "$DATA/invoices" --inventory "$DATA/inventory.csv" --out "$OUT/run" 2>"$OUT/time" >/dev/null || true
  printf '%s | ' "$(tail -1 "$OUT/time")"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f'{k} {d.get(k+\"_s\",\"-\")}' for k in ('read','match','rules','reports')))" "$OUT/phases.json"
}

for _ in $(seq "$ROUNDS"); do
  a; one
  b; one
done
