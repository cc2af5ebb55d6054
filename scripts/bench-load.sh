#!/usr/bin/env bash
# Loopback load test of the server: wrk against a function-table query of a real profile.
# Bounded (DURATION, default 60s) and local only (127.0.0.1). Not part of scripts/test.sh.
#   ./scripts/bench-load.sh                 # needs target/release/profview (./scripts/build.sh)
#   PROFVIEW_BIN=... DURATION=10s CONNECTIONS=32 THREADS=2 MIN_RPS=1000 ./scripts/bench-load.sh
# Fails unless the rate is at least MIN_RPS and there were no errors (socket or non-2xx).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${PROFVIEW_BIN:-$PWD/target/release/profview}
DURATION=${DURATION:-60s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
MIN_RPS=${MIN_RPS:-1000}
PROFILE=${PROFILE:-tests/fixtures/corpus/pstats/cprofile_black_one_file.prof}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk (scripts/setup.sh installs it)" >&2; exit 1; }

data=$(mktemp -d)
out=$(mktemp)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data" "$out"' EXIT
"$BIN" serve "$PROFILE" --host 127.0.0.1 --port 0 --no-browser --data-dir "$data" >"$out" 2>/dev/null &
pid=$!
for _ in $(seq 100); do grep -q "serving at" "$out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out" | head -1)
[ -n "$url" ] || { echo "server did not start" >&2; exit 1; }
origin=${url%/p/*}
id=${url##*/p/}
target="$origin/api/profiles/$id/functions?sort=cumtime&order=desc&limit=100"
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION $target" >&2
report=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$target")
echo "$report"
rps=$(awk '/^Requests\/sec:/ {print int($2)}' <<<"$report")
errors=$(awk '/Socket errors:/ {gsub(/[a-z ,:]+/, " "); s=0; for (i=1;i<=NF;i++) s+=$i; print s}' <<<"$report")
non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$report")
errors=$(( ${errors:-0} + ${non2xx:-0} ))
echo "requests/s: $rps, errors: $errors (minimum $MIN_RPS requests/s, 0 errors)"
[ "$rps" -ge "$MIN_RPS" ] && [ "$errors" -eq 0 ]
