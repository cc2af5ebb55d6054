#!/usr/bin/env bash
# README command 2: set up what is missing, build, then run every test (Rust, Python and browser).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
echo "== House rules (scripts/tidy.sh: file length, pure crates, testids, wasm32, clippy)" >&2
./scripts/tidy.sh
echo "== moto_server for the object-store tests (target/moto-venv, pinned; PROFVIEW_MOTO)" >&2
PROFVIEW_MOTO=$(./scripts/moto.sh)
export PROFVIEW_MOTO
echo "== Rust tests (release profile, sharing the binary's build)" >&2
cargo test --release --locked --workspace --exclude profview-app
echo "== Python recorder tests (every CPython 3.9-3.13 found; the round trip uses the release binary)" >&2
PROFVIEW_BIN="$PWD/target/release/profview" ./scripts/test-python.sh
echo "== Browser tests (headless Chromium against the release binary)" >&2
PROFVIEW_BIN="$PWD/target/release/profview" node --test --test-concurrency=1 tests/e2e/
./scripts/test-wheel.sh --no-app-build   # the wheel (pyproject.toml): pip install into a fresh venv, then serve from it
