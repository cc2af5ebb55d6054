#!/usr/bin/env bash
# README command 1: set up what is missing, build, and serve the bundled example profile.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
exec target/release/profview serve examples/demo.prof "$@"
