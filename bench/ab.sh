#!/bin/bash
# A/B on a machine whose speed drifts: the working tree's uncommitted change (B) alternated with
# HEAD (A), run after run, on the 1M bench batch (bench_audit.py generates it first).
#
#     bash bench/ab.sh [ROUNDS]        # default 3; prints wall, CPU, largest RSS and phases per run
#
# A is run with the change stashed (`git stash`), B with it back; the change is restored on
# exit, also on Ctrl-C. The editable install runs whichever is in the tree. Compare the rounds'
# means, not one run: back-to-back runs of one commit differed by up to 3 s here.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
DATA=bench/data/bulk-1000000-50000-7
PY=.venv/bin/python
[ -d "$DATA" ] || { echo "no $DATA: run .venv/bin/python bench/bench_audit.py --lines 1000000 once" >&2; exit 2; }
git diff --quiet HEAD && { echo "no uncommitted change to compare with HEAD" >&2; exit 2; }
OUT=$(mktemp -d)
stashed=0
restore() { if [ "$stashed" = 1 ]; then git stash pop -q; stashed=0; fi; rm -rf "$OUT"; }
trap restore EXIT

one() {
  rm -rf "$OUT/run"
  /usr/bin/time -f "%e s wall, %U+%S s CPU, %M KB largest" "$PY" bench/timed_cli.py "$OUT/phases.json" \
    audit "$DATA/invoices" --inventory "$DATA/inventory.csv" --out "$OUT/run" 2>"$OUT/time" >/dev/null || true
  printf '%s | ' "$(tail -1 "$OUT/time")"
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f'{k} {d.get(k+\"_s\",\"-\")}' for k in ('read','match','rules','reports')))" "$OUT/phases.json"
}

for _ in $(seq "$ROUNDS"); do
  git stash -q; stashed=1
  printf 'A (HEAD)   '; one
  git stash pop -q; stashed=0
  printf 'B (change) '; one
done
