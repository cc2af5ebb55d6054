#!/usr/bin/env bash
# The CLI against the tools in one run (BENCHMARKS.md, "A fast CLI"; issue 14 item 5):
#   - `profview stats P --json` on a 200k-function pstats file vs Python's pstats loading and sorting it;
#   - `profview stats F --limit 20` and `profview serve F` (to "serving at", to its first table answer and to its
#     first tree answer, and its peak RSS once its views are built: scripts/serve-timing.py) on folded files vs
#     `inferno-flamegraph F > /dev/null`;
#   - where the time goes: the phases `stats` and `serve` log (RUST_LOG=profview=debug).
# Each command runs RUNS times, interleaved; the table has the median and the range.
# Usage: scripts/bench-cli.sh DIR [RUNS] [--big]   (DIR gets the generated inputs; --big adds 1 GB folded)
# Needs: target/release/profview (scripts/build.sh), inferno-flamegraph 0.12.8 (cargo install --locked
# inferno --version 0.12.8), python3; the inputs come from ../shared/perf/gen.py (or $PROFVIEW_GEN).
set -euo pipefail
dir=${1:?usage: scripts/bench-cli.sh DIR [RUNS] [--big]}
runs=${2:-5}
big=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${PROFVIEW_BIN:-$here/target/release/profview}
gen=${PROFVIEW_GEN:-$here/../shared/perf/gen.py}
py=${PYTHON:-python3}
export PATH="$HOME/.cargo/bin:$PATH"
mkdir -p "$dir"
[[ -f $dir/p200k.prof ]] || "$py" "$gen" pstats "$dir/p200k.prof" 200000 > /dev/null
[[ -f $dir/f100m.folded ]] || "$py" "$gen" folded "$dir/f100m.folded" 100000000 --seed 1 > /dev/null
files=("$dir/f100m.folded")
if [[ $big == --big ]]; then
  [[ -f $dir/f1g.folded ]] || "$py" "$gen" folded "$dir/f1g.folded" 1073741824 --seed 3 > /dev/null
  files+=("$dir/f1g.folded")
fi

# One timed run: prints "SECONDS PEAK_KIB" (wall time, max RSS of the command).
timed() { /usr/bin/time -f '%e %M' -o "$dir/time" "$@" > /dev/null 2> "$dir/err" || { cat "$dir/err" >&2; exit 1; }; cat "$dir/time"; }
# Median and range of a list of numbers.
summary() { sort -g | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f (%.3f–%.3f)", m, a[1], a[NR]}'; }
# "phase 0.123 s; ..." from log lines on stdin, picked by a sed expression printing "phase|seconds".
phases_of() { sed 's/\x1b\[[0-9;]*m//g' | sed -n "$1" | awk -F'|' '{printf "%s %.3f s; ", $1, $2}'; }
stats_phases() { RUST_LOG=profview=debug "$bin" stats "$@" 2>&1 > /dev/null | phases_of 's/.*stats: \([a-z ]*\) seconds=\([0-9.]*\).*/\1|\2/p'; }
# `profview serve F` (scripts/serve-timing.py, one process: no polling between the steps):
# seconds to "serving at", to its first table answer and to its first tree answer, its peak
# RSS once its views are built, and the phases it logged.
serve_once() {
  local times; times=$("$py" "$here/scripts/serve-timing.py" "$bin" "$1" "$dir/serve.err") || { cat "$dir/serve.err" >&2; exit 1; }
  local phases; phases=$(phases_of 's/.*state: \(.*\) file=.* seconds=\([0-9.]*\).*/\1|\2/p' < "$dir/serve.err")
  echo "$times|$phases"
}

echo "| what | ours: median (range) s | peak | baseline: median (range) s | ratio |"
echo "|---|---|---|---|---|"
# pstats: stats --json (174 MB of JSON) vs pstats.Stats(f).sort_stats('cumulative').
ours=(); rss=(); base=()
for ((i = 0; i < runs; i++)); do
  read -r t m < <(timed "$bin" stats "$dir/p200k.prof" --json); ours+=("$t"); rss+=("$m")
  read -r t _ < <(timed "$py" -c 'import pstats,sys; pstats.Stats(sys.argv[1]).sort_stats("cumulative")' "$dir/p200k.prof"); base+=("$t")
done
mo=$(printf '%s\n' "${ours[@]}" | summary); mb=$(printf '%s\n' "${base[@]}" | summary)
echo "| 200k-function pstats: \`stats --json\` vs \`pstats.Stats(f).sort_stats\` | $mo | $(printf '%s\n' "${rss[@]}" | sort -g | tail -1 | awk '{printf "%d MiB", $1 / 1024}') | $mb | $(echo "${mb%% *} / ${mo%% *}" | bc -l | xargs printf '%.2f×') |"
echo "|   its phases (one run) | $(stats_phases "$dir/p200k.prof" --json) | | | |"
for f in "${files[@]}"; do
  name=$(basename "$f"); ours=(); rss=(); base=(); brss=(); serve=(); first=(); trees=(); srss=(); phases=""
  for ((i = 0; i < runs; i++)); do
    read -r t m < <(timed "$bin" stats "$f" --limit 20); ours+=("$t"); rss+=("$m")
    read -r t m < <(timed inferno-flamegraph "$f"); base+=("$t"); brss+=("$m")
    IFS='|' read -r t ft tt sm phases < <(serve_once "$f"); serve+=("$t"); first+=("$ft"); trees+=("$tt"); srss+=("$sm")
  done
  mo=$(printf '%s\n' "${ours[@]}" | summary); mb=$(printf '%s\n' "${base[@]}" | summary); ms=$(printf '%s\n' "${serve[@]}" | summary)
  peak=$(printf '%s\n' "${rss[@]}" | sort -g | tail -1); bpeak=$(printf '%s\n' "${brss[@]}" | sort -g | tail -1)
  echo "| $name: \`stats --limit 20\` vs \`inferno-flamegraph\` | $mo | $((peak / 1024)) MiB ($(echo "$peak * 1024 / $(stat -c %s "$f")" | bc -l | xargs printf '%.2f')× the file) | $mb, $((bpeak / 1024)) MiB | $(echo "${mb%% *} / ${mo%% *}" | bc -l | xargs printf '%.2f×') |"
  mf=$(printf '%s\n' "${first[@]}" | summary); mt=$(printf '%s\n' "${trees[@]}" | summary)
  echo "| $name: \`serve\` to serving vs \`inferno-flamegraph\` | $ms | | $mb | $(echo "${mb%% *} / ${ms%% *}" | bc -l | xargs printf '%.2f×') |"
  echo "| $name: \`serve\` to its first answer (the function table) | $mf | | $mb | $(echo "${mb%% *} / ${mf%% *}" | bc -l | xargs printf '%.2f×') |"
  speak=$(printf '%s\n' "${srss[@]}" | sort -g | tail -1)
  echo "| $name: \`serve\` to its first tree answer (the views built) | $mt | $((speak / 1024)) MiB ($(echo "$speak * 1024 / $(stat -c %s "$f")" | bc -l | xargs printf '%.2f')× the file), its views built | $mb | $(echo "${mb%% *} / ${mt%% *}" | bc -l | xargs printf '%.2f×') |"
  echo "|   $name \`stats\` phases (one run) | $(stats_phases "$f" --limit 20) | | | |"
  echo "|   $name \`serve\` phases (last run) | $phases | | | |"
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
