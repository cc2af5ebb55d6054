#!/usr/bin/env bash
# The team-server load test (BENCHMARKS.md, "Team server"): moto_server and two replicas on one
# bucket, all on 127.0.0.1; table, tree and upload requests mixed for SECONDS (default 30) from
# CLIENTS (default 8) clients; then the same with one replica killed (kill -9) halfway.
# Fails on any error or lost profile. Not part of scripts/test.sh.
#   ./scripts/bench-team.sh            # builds bench-team and profview (release), installs moto
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
SECONDS_RUN=${SECONDS_RUN:-30}
CLIENTS=${CLIENTS:-8}
moto=$(./scripts/moto.sh)
cargo build --release --locked -q -p profview-server --bin profview --bin bench-team
echo "== two replicas" >&2
./target/release/bench-team --moto "$moto" --seconds "$SECONDS_RUN" --clients "$CLIENTS"
echo "== two replicas, one killed at $((SECONDS_RUN / 2)) s" >&2
./target/release/bench-team --moto "$moto" --seconds "$SECONDS_RUN" --clients "$CLIENTS" --kill-at "$((SECONDS_RUN / 2))"
