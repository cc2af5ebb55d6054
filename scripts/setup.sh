#!/usr/bin/env bash
# Installs whatever this machine lacks to build and test profview. Idempotent: skips what is present.
# Proven recipe: ../shared/TOOLCHAIN.md (offline except the package registries).
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }
export PATH="$HOME/.cargo/bin:$PATH"

TRUNK_VERSION=0.21.14
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v chromedriver >/dev/null || need_apt+=(chromium-driver)
command -v wrk >/dev/null || need_apt+=(wrk)   # scripts/bench-load.sh (not part of the test run)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION"; then
  log "installing trunk $TRUNK_VERSION (about 10-20 minutes on a cold machine)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION"; then
  log "installing wasm-bindgen-cli $WB_VERSION (matches Cargo.lock)"
  # Without --locked: a dependency pinned in its lockfile is missing from the registry index.
  cargo install wasm-bindgen-cli --version "$WB_VERSION"
fi

if [ ! -x node_modules/.bin/wasm-opt ] || [ ! -f node_modules/d3/dist/d3.min.js ] || [ ! -d node_modules/playwright-core ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci (d3, binaryen/wasm-opt, playwright-core)"
  npm ci --no-audit --no-fund --loglevel=error
fi
log "toolchain ready"
