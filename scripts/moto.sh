#!/usr/bin/env bash
# Installs moto's S3 server (moto_server) into a venv of its own, target/moto-venv, pinned, for
# the object-store tests (server/tests/s3_store.rs) and the team load test (scripts/bench-team.sh).
# Idempotent. Prints the path of moto_server on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION=5.2.6
venv=target/moto-venv
if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
   || [ ! -x "$venv/bin/moto_server" ]; then
    printf '\033[1;34m[moto]\033[0m pip install moto[server]==%s into %s\n' "$MOTO_VERSION" "$venv" >&2
    rm -rf "$venv"
    PYENV_VERSION=3.12.1 python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
fi
echo "$PWD/$venv/bin/moto_server"
