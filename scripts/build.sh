#!/usr/bin/env bash
# Builds the web app (Trunk → dist/) and the release `profview` binary that embeds it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
log() { printf '\033[1;34m[build]\033[0m %s\n' "$*" >&2; }
cargo fetch --locked -q
log "trunk build --release (app → dist/)"
trunk build --release --offline --locked
log "cargo build --release --bin profview"
cargo build --release --locked --bin profview
log "built target/release/profview"
