#!/usr/bin/env bash
# Time from `profview serve FILE` to "serving at" (store + import + index, as a user sees it) and
# the server's peak RSS then and 3 s later (after the dashboard's first slices are prepared).
# Usage: scripts/bench-serve.sh FILE [RUNS]   (needs target/release/profview: scripts/build.sh)
set -euo pipefail
file=${1:?usage: scripts/bench-serve.sh FILE [RUNS]}
runs=${2:-3}
bin=${PROFVIEW_BIN:-$(dirname "$0")/../target/release/profview}
size_kib=$(( $(stat -c %s "$file") / 1024 ))
for ((i = 1; i <= runs; i++)); do
  dir=$(mktemp -d); out="$dir/out"; : > "$out"
  start=$(date +%s.%N)
  "$bin" serve "$file" --no-browser --port 0 --data-dir "$dir/data" > "$out" 2> "$dir/err" &
  pid=$!
  until grep -q 'serving at' "$out"; do
    if ! kill -0 "$pid" 2> /dev/null; then cat "$dir/err" >&2; exit 1; fi
    sleep 0.02
  done
  ready=$(echo "$(date +%s.%N) - $start" | bc)
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  sleep 3
  hwm3=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"; wait "$pid" 2> /dev/null || true
  rm -rf "$dir"
  printf 'run %d: serving after %.2f s, peak RSS %d MiB (%.2fx the file), 3 s later %d MiB (%.2fx); load %s\n' \
    "$i" "$ready" $((hwm / 1024)) "$(echo "$hwm / $size_kib" | bc -l)" $((hwm3 / 1024)) "$(echo "$hwm3 / $size_kib" | bc -l)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
done
