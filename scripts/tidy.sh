#!/usr/bin/env bash
# The house rules, checked (ARCHITECTURE.md, "Invariants"). Run by scripts/test.sh before the
# tests; `scripts/tidy.sh --text` runs only the text rules (no cargo, under a second).
#
#   lines     no Rust source file in crates/ or server/ passes 1,000 lines
#   pure-io   model, import, index, answer, api and compare do no I/O (no fs, net, process, env, stdio, clocks)
#   deps      import depends on model alone among our crates, index on model and api (the
#             vocabulary: package classes, sort keys), api on serde alone,
#             answer on model, index and api, compare on model, index and api
#   app-http  only app/src/api.rs makes HTTP requests
#   app-js    only app/src/charts.rs binds JavaScript, only app/js/charts.js uses d3
#   unwrap    `unwrap` is allowed in test code through clippy.toml, nowhere else: no
#             allow/expect attribute for clippy::unwrap_used
#   testids   every data-testid the app sets is in tests/e2e/find.mjs, and the reverse
#   wasm32    the pure crates build for wasm32-unknown-unknown
#   clippy    `cargo clippy --workspace --all-targets -- -D warnings` is clean (the app too:
#             `--workspace` includes it, checked for the host like the rest)
#
# Every failed rule is reported (prefixed `tidy: <rule>:`) and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

failed=()
fail() { echo "tidy: $1: $2" >&2; [[ " ${failed[*]-} " == *" $1 "* ]] || failed+=("$1"); }

# --- lines
while read -r n f; do
    [[ $f == total ]] && continue
    ((n > 1000)) && fail lines "$f has $n lines (at most 1,000: split it along its seams)"
done < <(find crates server -name '*.rs' -not -path '*/target/*' -print0 | xargs -0 wc -l)

# --- pure-io (comment lines, doc examples included, are skipped)
pure_src=(crates/model/src crates/import/src crates/index/src crates/answer/src crates/api/src crates/compare/src)
io_pattern='std::(fs|net|process|env)\b|\btokio\b|std::io::(stdin|stdout|stderr)\b|\b(e?print(ln)?|dbg)!|\b(Instant|SystemTime)::now\b'
while IFS= read -r hit; do
    fail pure-io "$hit"
done < <(grep -rnE --include='*.rs' "$io_pattern" "${pure_src[@]}" | grep -vE '^[^:]+:[0-9]+:\s*//' || true)

# --- deps ([dependencies] and target-specific ones; dev-dependencies are free)
deps_of() {
    awk '/^\[/{on = ($0 ~ /dependencies\]$/ && $0 !~ /dev-dependencies/)} on && /^[A-Za-z0-9_-]+[ .=]/{sub(/[ .=].*/, ""); print}' "$1/Cargo.toml"
}
for c in model import index answer api compare; do
    for d in $(deps_of "crates/$c"); do
        case "$c:$d" in
            api:serde | import:profview-model | index:profview-model | index:profview-api) ;;
            answer:profview-model | answer:profview-index | answer:profview-api | answer:regex) ;;
            compare:profview-model | compare:profview-index | compare:profview-api | compare:hashbrown | compare:rustc-hash) ;;
            api:* | model:* | *:profview-* | *:tokio* | *:axum* | *:hyper* | *:reqwest* | *:redb*)
                fail deps "crates/$c depends on $d" ;;
        esac
    done
done

# --- app-http, app-js
while IFS= read -r hit; do
    fail app-http "$hit (HTTP goes through app/src/api.rs)"
done < <(grep -rnE --include='*.rs' 'gloo_net|XmlHttpRequest|web_sys::Request\b|fetch_with_' app/src | grep -v '^app/src/api.rs:' || true)
while IFS= read -r hit; do
    fail app-js "$hit (JavaScript is bound in app/src/charts.rs only)"
done < <(grep -rnE --include='*.rs' 'extern "C"|wasm_bindgen\((module|inline_js)|js_sys::(eval|Function::new)' app/src | grep -v '^app/src/charts.rs:' || true)
while IFS= read -r hit; do
    fail app-js "$hit (d3 is used by app/js/charts.js only)"
done < <(grep -rnwE 'd3' app/js app/src | grep -vE '^app/js/charts.js:|^[^:]+:[0-9]+:\s*//' || true)

# --- unwrap
while IFS= read -r hit; do
    fail unwrap "$hit (unwrap in tests is allowed by clippy.toml; elsewhere say why with expect)"
done < <(grep -rnE --include='*.rs' '(allow|expect)\s*\([^)]*clippy::unwrap_used' crates server app || true)

# --- testids
# App side: data-testid="x" (an id), data-testid=format!("x-{..}") (a prefix x-), or any other
# expression, which needs a `// data-testid values: a, b` comment on one of the 3 lines above
# it whose values are string literals somewhere in app/src or crates/api/src (the API's
# vocabularies, such as the chart kinds, are enums there). find.mjs side: tid('x') (an id) and
# tid(`x-${..}`) (a prefix).
while IFS= read -r msg; do
    fail testids "$msg"
done < <(python3 - <<'EOF'
import pathlib, re
ids, prefixes, where = set(), set(), {}
sources = {path: path.read_text() for path in sorted(pathlib.Path("app/src").rglob("*.rs"))}
literals = set(re.findall(r'"([^"\\]*)"', "\n".join(sources.values())))
for path in sorted(pathlib.Path("crates/api/src").rglob("*.rs")):  # `Variant = "wire-name"`
    literals |= set(re.findall(r'^\s*[A-Z]\w* = "([^"]+)"', path.read_text(), re.M))
for path, text in sources.items():
    lines = text.split("\n")
    for no, line in enumerate(lines, 1):
        if line.lstrip().startswith("//"):
            continue
        for m in re.finditer(r'(?<!\[)data-testid=("([^"]*)"|format!\("([^"{]*)\{|[^\s>]+)', line):
            at = f"{path}:{no}"
            if m.group(2) is not None:
                ids.add(m.group(2)); where.setdefault(m.group(2), at)
            elif m.group(3) is not None:
                prefixes.add(m.group(3)); where.setdefault(m.group(3) + "*", at)
            else:
                note = next((re.search(r"// data-testid values:(.*)", l) for l in reversed(lines[max(0, no - 4):no - 1])
                             if "// data-testid values:" in l), None)
                if not note:
                    print(f"{at}: data-testid={m.group(1)} is not a literal: list its values in a `// data-testid values: a, b` comment on a line above")
                    continue
                for v in [v.strip() for v in note.group(1).split(",") if v.strip()]:
                    if v not in literals:
                        print(f"{at}: `// data-testid values:` names {v}, which is no string literal in app/src or wire name in crates/api/src")
                    ids.add(v); where.setdefault(v, at)
find = pathlib.Path("tests/e2e/find.mjs").read_text()
fids = set(re.findall(r"tid\('([^']*)'\)", find))
fprefixes = set(re.findall(r"tid\(`([^`$]*)\$\{", find))
for i in sorted(ids):
    if i not in fids and not any(i.startswith(p) for p in fprefixes):
        print(f"{where[i]}: data-testid {i!r} is not in tests/e2e/find.mjs")
for p in sorted(prefixes - fprefixes):
    print(f"{where[p + '*']}: data-testid {p}* is not in tests/e2e/find.mjs (as tid(`{p}${{...}}`))")
for i in sorted(fids):
    if i not in ids and not any(i.startswith(p) for p in prefixes):
        print(f"tests/e2e/find.mjs: tid('{i}') is set nowhere in app/src")
for p in sorted(fprefixes - prefixes):
    print(f"tests/e2e/find.mjs: tid(`{p}${{...}}`) is set nowhere in app/src")
EOF
)

if [[ ${1-} != --text ]]; then
    # --- wasm32 (a check builds everything but the code generation; the target is installed
    # by scripts/setup.sh)
    cargo check --locked --quiet --target wasm32-unknown-unknown \
        -p profview-model -p profview-import -p profview-index -p profview-answer -p profview-api -p profview-compare \
        || fail wasm32 "the pure crates do not build for wasm32-unknown-unknown (output above)"
    # --- clippy
    cargo clippy --locked --quiet --workspace --all-targets -- -D warnings \
        || fail clippy "cargo clippy --workspace --all-targets -- -D warnings is not clean (output above)"
fi

if ((${#failed[@]})); then
    echo "tidy: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "tidy: ok" >&2
