#!/usr/bin/env bash
# Collate and diff, measured against Python's pstats in the same run (BENCHMARKS.md, "Compare").
#   collate: 1,000 per-request dumps of ~500 functions: `profview collate` (CLI, to the first 50
#            rows) and POST /api/collections + GET its table (server, files already stored),
#            against `pstats.Stats(*files)` (which only sums).
#   diff:    two 200k-function profiles: `profview diff` and GET /api/compare (first 50 rows),
#            against loading both in pstats.
# Needs a release build (./scripts/build.sh). Usage: scripts/bench-compare.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${PROFVIEW_BIN:-$PWD/target/release/profview}"
PY="${PYTHON:-python3}"
W="${1:-$(mktemp -d)}"
mkdir -p "$W/req"
t() { /usr/bin/time -f "%e s, %M KB peak" "$@" 2>&1 >/dev/null | tail -1; }
[[ -f "$W/req/r00999.prof" ]] || "$PY" scripts/gen-compare.py requests "$W/req" 1000 500 --seed 7
[[ -f "$W/new.prof" ]] || "$PY" scripts/gen-compare.py pair "$W/base.prof" "$W/new.prof" 200000 --seed 3
echo "inputs: 1000 dumps of 500 functions ($(du -sh "$W/req" | cut -f1)); two profiles of 200k functions ($(du -h "$W/base.prof" | cut -f1) each)"
echo "collate  profview collate --json --limit 50 : $(t "$BIN" collate --json --limit 50 "$W"/req/*.prof)"
echo "collate  pstats.Stats(*files)               : $(t "$PY" -c 'import pstats,sys; pstats.Stats(*sys.argv[1:])' "$W"/req/*.prof)"
echo "diff     profview diff --json --limit 50    : $(t "$BIN" diff --json --limit 50 "$W/base.prof" "$W/new.prof")"
echo "diff     pstats.Stats(a); pstats.Stats(b)   : $(t "$PY" -c 'import pstats,sys; pstats.Stats(sys.argv[1]); pstats.Stats(sys.argv[2])' "$W/base.prof" "$W/new.prof")"

# The server: files stored first (not timed), then the first table.
LOG="$W/serve.log"
"$BIN" serve --in-memory --no-browser --port 0 "$W"/req/*.prof "$W/base.prof" "$W/new.prof" > "$LOG" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 600); do grep -q "serving at" "$LOG" && break; sleep 0.5; done
ORIGIN=$(grep -o 'http://[^/]*' "$LOG" | head -1)
IDS=$(curl -s "$ORIGIN/api/profiles" | "$PY" -c 'import json,sys; print(json.dumps({p["name"]: p["id"] for p in json.load(sys.stdin)}))')
REQ=$(echo "$IDS" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps([v for k,v in sorted(d.items()) if k.startswith("r")]))')
B=$(echo "$IDS" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["base.prof"])')
N=$(echo "$IDS" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["new.prof"])')
CID=$(curl -s -X POST -H 'content-type: application/json' -d "{\"name\":\"bench\",\"profiles\":$REQ}" "$ORIGIN/api/collections" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
echo "collate  GET /api/collections/{id}/table    : $(curl -s -o /dev/null -w '%{time_total} s (first), ' "$ORIGIN/api/collections/$CID/table?limit=50")$(curl -s -o /dev/null -w '%{time_total} s (again)' "$ORIGIN/api/collections/$CID/table?limit=50&sort=p95")"
echo "diff     GET /api/compare                   : $(curl -s -o /dev/null -w '%{time_total} s (first), ' "$ORIGIN/api/compare?base=$B&new=$N&limit=50")$(curl -s -o /dev/null -w '%{time_total} s (again)' "$ORIGIN/api/compare?base=$B&new=$N&limit=50&sort=relative")"
echo "server   peak RSS after both                : $(grep VmHWM /proc/$PID/status | awk '{print $2, $3}')"
