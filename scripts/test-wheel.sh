#!/usr/bin/env bash
# The wheel test: builds the wheel once (scripts/wheel.sh; extra arguments go to it, e.g.
# --no-app-build right after ./scripts/build.sh), installs it with pip --no-index into a fresh
# virtualenv of one interpreter ($PYTHON, default python3) and checks what a user gets:
# `profview` on PATH, `import profview`, `python -m profview` running record itself and handing
# serve/stats/export to the installed binary, and `profview serve` serving a profile over HTTP
# (page and API). Then the other install layouts `python -m profview` must find the binary in:
# pip install --target DIR, --prefix DIR and --user. Prints the wheel's size and the time from
# pip install to the first page served (BENCHMARKS.md, "Wheel"). Everything goes in a temporary
# directory, removed at the end; nothing is fetched (maturin itself comes from PyPI once).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
fixture="$root/tests/fixtures/corpus/pstats/cprofile_tiny.prof"
PY="${PYTHON:-python3}"
real_py=$("$PY" -c 'import sys; print(sys.executable)')   # the interpreter itself (not a shim)

wheel="$root/$(./scripts/wheel.sh "$@" | tail -n 1)"
version=$(sed -n '/^\[workspace\.package\]/,/^\[/s/^version *= *"\([^"]*\)".*/\1/p' Cargo.toml)
echo "== wheel test: $(basename "$wheel") ($(stat -c %s "$wheel") bytes), Python $("$PY" -c 'import platform; print(platform.python_version())')" >&2

tmp=$(mktemp -d "${TMPDIR:-/tmp}/profview-wheel.XXXXXX")
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test-wheel: FAILED: $*" >&2; exit 1; }
# A PATH with neither the repository's target/release nor any venv: only what the step adds.
base_path="/usr/local/bin:/usr/bin:/bin"
unset PROFVIEW_BIN PYTHONPATH VIRTUAL_ENV PIP_USER PIP_TARGET PIP_PREFIX || true
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_ROOT_USER_ACTION=ignore
"$real_py" -m venv "$tmp/venv"
"$real_py" -m venv "$tmp/bare"   # an interpreter without profview, for the --target/--prefix runs
venv="$tmp/venv"
cd "$tmp"

# --- pip install -> first page served (timed) -------------------------------------------------
t0=$(date +%s.%N)
"$venv/bin/python" -m pip install --quiet --no-index "$wheel"
t_installed=$(date +%s.%N)
PATH="$venv/bin:$base_path" profview serve "$fixture" --port 0 --no-browser --in-memory \
    >"$tmp/serve.log" 2>&1 &
server=$!
url=""
for _ in $(seq 1 300); do
    url=$(sed -n 's/^profview .* serving at \(http[^ ]*\)$/\1/p' "$tmp/serve.log")
    [ -n "$url" ] && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/serve.log" >&2; fail "profview serve exited"; }
    sleep 0.02
done
[ -n "$url" ] || { cat "$tmp/serve.log" >&2; fail "profview serve printed no URL"; }
"$venv/bin/python" - "$url" <<'PY'
import sys, time, urllib.request
url = sys.argv[1]
for _ in range(500):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            body = r.read().decode("utf-8", "replace")
            if r.status == 200 and "<html" in body.lower():
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.02)
sys.exit("no page at %s" % url)
PY
t1=$(date +%s.%N)
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
first_page=$(secs "$t0" "$t1")
install_s=$(secs "$t0" "$t_installed")
serve_s=$(secs "$t_installed" "$t1")

# --- the served profile, from the installed binary ---------------------------------------------
grep -q "^profview $version serving at " "$tmp/serve.log" || fail "serve's banner is not version $version"
"$venv/bin/python" - "$url" <<'PY' || fail "the API of the installed binary"
import json, sys, urllib.parse, urllib.request
url = sys.argv[1]
pid = urllib.parse.urlparse(url).path.rsplit("/", 1)[-1]
base = url.split("/p/")[0]
with urllib.request.urlopen("%s/api/profiles/%s/functions?limit=50" % (base, pid)) as r:
    body = r.read().decode()
assert r.status == 200, r.status
assert "builtins.sum" in body or "<built-in method builtins.sum>" in body or "sum" in body, body[:500]
json.loads(body)
print("served %s: %d bytes of function table" % (url, len(body)), file=sys.stderr)
PY
kill "$server"; wait "$server" 2>/dev/null || true; server=""

# --- profview on PATH, import profview, python -m profview ----------------------------------
export PATH="$venv/bin:$base_path"
[ "$(command -v profview)" = "$venv/bin/profview" ] || fail "profview is not the venv's: $(command -v profview)"
profview --help | grep -q serve || fail "profview --help"
[ "$(profview --version)" = "profview $version" ] || fail "profview --version: $(profview --version)"
"$venv/bin/python" - "$venv" "$version" <<'PY' || fail "import profview"
import os, sys
import profview
from profview import _cli
venv, version = sys.argv[1:]
assert profview.__file__.startswith(os.path.realpath(venv)) or profview.__file__.startswith(venv), profview.__file__
assert profview.__version__ == version, (profview.__version__, version)
assert _cli.find_binary() == os.path.join(venv, "bin", "profview"), _cli.find_binary()
PY
help=$(python -m profview --help)
for c in record serve stats export; do
    grep -q "^  $c" <<<"$help" || fail "python -m profview --help lacks $c"
done
python -m profview stats "$fixture" | grep -q "builtins.sum" || fail "python -m profview stats"
python -m profview export "$fixture" --format folded -o "$tmp/tiny.folded"
grep -q "sum" "$tmp/tiny.folded" || fail "python -m profview export"
cat >"$tmp/prog.py" <<'PY'
import time
def spin(n):
    end = time.perf_counter() + n
    while time.perf_counter() < end:
        pass
spin(0.3)
PY
python -m profview record -o "$tmp/prog.pvrec" "$tmp/prog.py" 2>/dev/null
python -m profview stats "$tmp/prog.pvrec" | grep -q spin || fail "record, then stats of the recording"

# --- other layouts: --target, --prefix, --user --------------------------------------------
check_layout() {  # check_layout NAME EXPECTED_BINARY [VAR=VALUE...] -- runs the bare python
    local name="$1" expected="$2"; shift 2
    local found
    found=$(env PATH="$base_path" "$@" "$tmp/bare/bin/python" -c \
        'from profview import _cli; print(_cli.find_binary())')
    [ "$found" = "$expected" ] || fail "$name: python -m profview finds $found, not $expected"
    env PATH="$base_path" "$@" "$tmp/bare/bin/python" -m profview stats "$fixture" \
        | grep -q "builtins.sum" || fail "$name: python -m profview stats"
    echo "$name: python -m profview runs $found" >&2
}
# (installed with the bare venv's pip: the first venv's would see profview installed and skip)
"$tmp/bare/bin/python" -m pip install --quiet --no-index --target "$tmp/tgt" "$wheel"
check_layout "pip install --target" "$tmp/tgt/bin/profview" PYTHONPATH="$tmp/tgt"

"$tmp/bare/bin/python" -m pip install --quiet --no-index --prefix "$tmp/pfx" "$wheel"
init=$(find "$tmp/pfx" -path '*-packages/profview/__init__.py' | head -n 1)
[ -n "$init" ] || fail "pip install --prefix: no profview package under $tmp/pfx"
site=$(dirname "$(dirname "$init")")
check_layout "pip install --prefix" "$tmp/pfx/bin/profview" PYTHONPATH="$site"

# --user: a base interpreter (venvs refuse it) with the user base moved into $tmp.
if PYTHONUSERBASE="$tmp/user" "$real_py" -c 'import site, sys; sys.exit(not site.ENABLE_USER_SITE)' 2>/dev/null &&
   PYTHONUSERBASE="$tmp/user" "$real_py" -m pip --version >/dev/null 2>&1; then
    PYTHONUSERBASE="$tmp/user" "$real_py" -m pip install --quiet --no-index --user "$wheel"
    found=$(cd "$tmp" && PATH="$base_path" PYTHONUSERBASE="$tmp/user" "$real_py" -c \
        'from profview import _cli; print(_cli.find_binary())')
    [ "$found" = "$tmp/user/bin/profview" ] || fail "pip install --user: finds $found"
    (cd "$tmp" && PATH="$base_path" PYTHONUSERBASE="$tmp/user" "$real_py" -m profview stats "$fixture") \
        | grep -q "builtins.sum" || fail "pip install --user: python -m profview stats"
    echo "pip install --user: python -m profview runs $found" >&2
else
    echo "pip install --user: skipped ($real_py has no user site or no pip)" >&2
fi

echo "== wheel: $(stat -c %s "$wheel") bytes; pip install -> first page served: ${first_page} s (pip install ${install_s} s, serve to first page ${serve_s} s)" >&2
echo "test-wheel: OK" >&2
