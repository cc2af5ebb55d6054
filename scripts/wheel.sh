#!/usr/bin/env bash
# Builds the one wheel, target/wheels/profview-<version>-py3-none-<platform>.whl: the release
# `profview` binary (the web app embedded, symbols stripped) and the `profview` Python package
# (python/profview), with maturin (pyproject.toml, bindings = "bin"). Prints the wheel's path on
# stdout; progress goes to stderr.
#
# First it runs ./scripts/build.sh (the web app into dist/, which the binary embeds, and the
# release build); --no-app-build skips that when it has just run (./scripts/test.sh).
# maturin gets a venv of its own, target/maturin-venv, pinned to MATURIN_VERSION; it builds into
# the same target/ with the same release profile, so only the binary is relinked (stripped: its
# copy at target/release/profview is then the stripped one, same code, until build.sh relinks).
# The version is Cargo.toml's [workspace.package] version (maturin reads it).
# The platform tag is the lowest manylinux the binary's glibc symbols allow; '--auditwheel
# check' fails rather than repair, as the binary links only glibc (repair would need patchelf).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
MATURIN_VERSION=1.16.0
log() { printf '\033[1;34m[wheel]\033[0m %s\n' "$*" >&2; }

build_app=1
for a in "$@"; do
    case "$a" in
        --no-app-build) build_app=0 ;;
        *) echo "usage: scripts/wheel.sh [--no-app-build]" >&2; exit 2 ;;
    esac
done
if [ "$build_app" = 1 ]; then
    ./scripts/build.sh >&2
elif [ ! -f dist/index.html ]; then
    echo "wheel: dist/ has no app: run ./scripts/build.sh (or drop --no-app-build)" >&2
    exit 1
fi

venv=target/maturin-venv
if [ "$("$venv/bin/maturin" --version 2>/dev/null)" != "maturin $MATURIN_VERSION" ]; then
    log "pip install maturin==$MATURIN_VERSION into $venv"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin==$MATURIN_VERSION"
fi

version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
[ -n "$version" ] || { echo "wheel: no [workspace.package] version in Cargo.toml" >&2; exit 1; }
rm -f target/wheels/profview-"$version"-*.whl
log "maturin build (profview $version)"
"$venv/bin/maturin" build --release --auditwheel check --out target/wheels >&2
wheel=$(ls target/wheels/profview-"$version"-py3-none-*.whl)
# maturin copies target/release/profview, which a concurrent `cargo build` in the same target/
# can overwrite with the unstripped build between cargo's end and the copy: refuse that wheel.
"$venv/bin/python" - "$wheel" <<'PY' || { rm -f "$wheel"; exit 1; }
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    exe = [n for n in z.namelist() if n.endswith(".data/scripts/profview")]
    if len(exe) != 1:
        sys.exit("wheel: expected one .data/scripts/profview in the wheel, found %r" % exe)
    if b".symtab\0" in z.read(exe[0]):
        sys.exit("wheel: the binary in the wheel has a symbol table (not the stripped build: "
                 "another cargo build overwrote target/release/profview?); run again")
PY
log "built $wheel ($(du -k "$wheel" | cut -f1) KiB)"
echo "$wheel"
