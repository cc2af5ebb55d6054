#!/usr/bin/env bash
# Runs the Python recorder's tests (python/tests) on every CPython 3.9-3.13 found: pyenv's versions
# (~/.pyenv/versions/3.X.*) and python3.X on PATH. Each interpreter gets a venv of its own under
# target/pyvenv-<version> with pytest and uvicorn (test-only) from PyPI; re-runs skip the install.
# The newest interpreter's venv also gets IPython, ipykernel, nbclient and nbformat for the
# Jupyter tests (python/tests/test_jupyter.py), which it runs with PROFVIEW_JUPYTER_TESTS=1.
# Fails when no interpreter is found or when any run fails. Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

declare -A seen=()
interps=()
add() {  # add INTERPRETER if it runs and is CPython 3.9-3.13 not seen yet
    local py="$1" ver
    ver=$("$py" -c 'import sys, platform
if sys.implementation.name == "cpython" and (3, 9) <= sys.version_info[:2] <= (3, 13):
    print(platform.python_version())' 2>/dev/null) || return 0
    [ -n "$ver" ] || return 0
    [ -z "${seen[$ver]:-}" ] || return 0
    seen[$ver]=1
    interps+=("$py")
}

pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}"
if command -v pyenv >/dev/null 2>&1; then
    pyenv_root="$(pyenv root 2>/dev/null || echo "$pyenv_root")"
fi
for d in "$pyenv_root"/versions/3.*; do
    [ -x "$d/bin/python3" ] && add "$d/bin/python3"
done
for m in 9 10 11 12 13; do
    if p=$(command -v "python3.$m" 2>/dev/null); then add "$p"; fi
done

if [ "${#interps[@]}" -eq 0 ]; then
    echo "test-python: no CPython 3.9-3.13 found (pyenv versions or python3.X on PATH)" >&2
    exit 1
fi

newest=$(printf '%s\n' "${!seen[@]}" | sort -V | tail -n 1)

failed=()
for py in "${interps[@]}"; do
    ver=$("$py" -c 'import platform; print(platform.python_version())')
    jupyter=0
    [ "$ver" = "$newest" ] && jupyter=1
    venv="$root/target/pyvenv-$ver"
    echo "== Python $ver ($py)" >&2
    if [ ! -x "$venv/bin/python" ]; then
        mkdir -p "$root/target"
        "$py" -m venv "$venv" || { failed+=("$ver (venv)"); continue; }
    fi
    if ! "$venv/bin/python" -c 'import pytest, uvicorn' >/dev/null 2>&1; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check pytest uvicorn \
            || { failed+=("$ver (pip install)"); continue; }
    fi
    if [ "$jupyter" = 1 ] && ! "$venv/bin/python" -c 'import IPython, ipykernel, nbclient, nbformat' >/dev/null 2>&1; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check ipython ipykernel nbclient nbformat \
            || { failed+=("$ver (pip install jupyter)"); continue; }
    fi
    if ! (cd "$root" && PROFVIEW_JUPYTER_TESTS=$jupyter PYTHONPATH="$root/python" "$venv/bin/python" -m pytest python/tests -q "$@"); then
        failed+=("$ver")
    fi
done

echo "== Python recorder tests: ${#interps[@]} interpreter(s)" >&2
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test-python: FAILED on ${failed[*]}" >&2
    exit 1
fi
echo "test-python: passed on ${!seen[*]}" >&2
