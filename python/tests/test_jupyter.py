"""The IPython extension: ``%load_ext profview``, ``%profview`` / ``%%profview``.

- Argument parsing and the iframe need nothing.
- The magic's logic runs in an IPython ``InteractiveShell`` (skipped without IPython) against a
  fake ``profview`` binary (PROFVIEW_BIN: a script that answers ``export --format html`` with a
  known page naming the functions of the profile it was given), so the Rust side is not needed.
- A notebook built with nbformat is executed by nbclient on an ipykernel running this Python
  (with the fake binary, and with the real one: NOTEBOOK_REAL_BINARY below).
  scripts/test-python.sh installs IPython, ipykernel, nbclient and nbformat in the venv of the
  newest interpreter only and sets PROFVIEW_JUPYTER_TESTS=1 there: then these tests fail
  instead of skipping when those packages are missing.
"""

import html
import json
import marshal
import os
import pstats
import re
import subprocess
import sys
import textwrap

import pytest

import profview
from conftest import PYTHON_DIR, REPO, env_with_path
from profview._jupyter import SANDBOX, iframe_html, parse_args, MagicUsageError

# The notebook test against the real binary (`profview export --format html`, env PROFVIEW_BIN
# else target/release/profview): it FAILS when the binary is missing or cannot export HTML.
# False skips it (PROFVIEW_TEST_NOTEBOOK_REAL=1 runs it anyway).
NOTEBOOK_REAL_BINARY = True

REQUIRED = os.environ.get("PROFVIEW_JUPYTER_TESTS") == "1"


def need(module):
    if REQUIRED:
        return __import__(module)
    return pytest.importorskip(module)


# ---------------------------------------------------------------------------------------------
# parsing and the iframe


def test_parse_options_then_statement_verbatim():
    opts, stmt = parse_args("--sample --interval 0.005 -o out.pvrec  f(a,  'x  y') # c")
    assert opts["sample"] and opts["interval"] == 0.005 and opts["output"] == "out.pvrec"
    assert stmt == "f(a,  'x  y') # c"
    opts, stmt = parse_args("--height=400 --limit 5 --sort tottime --text --no-display x")
    assert (opts["height"], opts["limit"], opts["sort"], opts["text"], opts["display"]) == \
        (400, 5, "tottime", True, False)
    assert stmt == "x"
    opts, stmt = parse_args("-oprof.out --upload http://h:1 -- --sample")
    assert opts["output"] == "prof.out" and opts["upload"] == "http://h:1"
    assert stmt == "--sample" and not opts["sample"]
    opts, stmt = parse_args("-o 'my run.prof' --sort=calls f()")
    assert opts["output"] == "my run.prof" and opts["sort"] == "calls" and stmt == "f()"
    opts, stmt = parse_args("-x + 1")
    assert stmt == "-x + 1"
    opts, stmt = parse_args("--sample")
    assert opts["sample"] and stmt == ""


@pytest.mark.parametrize("line", ["--interval", "--interval 0", "--interval x", "--height 0",
                                  "--limit many", "--cprofile f()", "-o", "-o 'x"])
def test_parse_errors(line):
    with pytest.raises(MagicUsageError):
        parse_args(line)


def test_iframe_escapes_the_report():
    doc = '<!DOCTYPE html><html><body data-x="a&b">\'q\' "dq" </iframe><script>1<2</script>' \
        '<p>\u00b5s \u2192 \U0001f525 &amp;</p>'
    frame = iframe_html(doc, height=321)
    m = re.fullmatch(r'<iframe [^>]*srcdoc="([^"]*)"[^>]*></iframe>', frame)
    assert m, frame
    assert html.unescape(m.group(1)) == doc
    assert "<" not in m.group(1) and "'" not in m.group(1)
    assert frame.isascii() and "&#128293;" in frame
    assert 'sandbox="%s"' % SANDBOX in frame and "allow-scripts" in SANDBOX
    assert "allow-same-origin" not in frame
    assert "height:321px" in frame


def test_import_profview_does_not_import_ipython():
    p = subprocess.run([sys.executable, "-c", "import sys, profview; "
                        "print(any(m == 'IPython' or m.startswith('IPython.') "
                        "for m in sys.modules))"],
                       env=env_with_path(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "False"
    assert callable(profview.load_ipython_extension)


# ---------------------------------------------------------------------------------------------
# the magic in an InteractiveShell, with a fake binary

FAKE_BINARY = r'''#!{python}
import gzip, html, json, marshal, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_PROFVIEW_LOG"], "a") as log:
    log.write(json.dumps(args) + "\n")
mode = os.environ.get("FAKE_PROFVIEW_MODE", "ok")
if mode == "old":
    sys.stderr.write("error: invalid value 'html' for '--format <FORMAT>'\n"
                     "  [possible values: svg, folded, json, pstats]\n")
    sys.exit(2)
assert args[0] == "export" and args[args.index("--format") + 1] == "html", args
path, out = args[1], args[args.index("-o") + 1]
data = open(path, "rb").read()
if data[:2] == b"\x1f\x8b":
    data = gzip.decompress(data)
if data.lstrip().startswith(b"{{"):
    rec = json.loads(data)
    kind, names = "recording", [f[2] for f in rec["functions"]]
    if rec.get("cprofile"):
        kind = "hybrid"
else:
    kind, names = "pstats", [k[2] for k in marshal.loads(data)]
doc = ('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
       'content="default-src \'none\'"><title>fake "report" & co</title></head>'
       '<body data-testid="fake-report" data-kind="%s">%s</body></html>'
       % (kind, html.escape(" ".join(sorted(set(names))))))
with open(out, "w") as f:
    f.write(doc)
'''


@pytest.fixture
def fake_bin(tmp_path, monkeypatch):
    exe = tmp_path / "fake-profview"
    exe.write_text(FAKE_BINARY.format(python=sys.executable))
    exe.chmod(0o755)
    log = tmp_path / "fake.log"
    monkeypatch.setenv("PROFVIEW_BIN", str(exe))
    monkeypatch.setenv("FAKE_PROFVIEW_LOG", str(log))
    monkeypatch.delenv("FAKE_PROFVIEW_MODE", raising=False)
    monkeypatch.delenv("PROFVIEW_URL", raising=False)
    monkeypatch.delenv("PROFVIEW_TOKEN", raising=False)

    class Fake:
        path = exe

        @staticmethod
        def calls():
            if not log.exists():
                return []
            return [json.loads(x) for x in log.read_text().splitlines()]

    return Fake


@pytest.fixture(scope="session")
def shell_instance(tmp_path_factory):
    """IPython's InteractiveShell singleton, its profile in a temporary IPYTHONDIR and no
    history database."""
    need("IPython")
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config
    if InteractiveShell.initialized():
        return InteractiveShell.instance()
    old = os.environ.get("IPYTHONDIR")
    os.environ["IPYTHONDIR"] = str(tmp_path_factory.mktemp("ipython"))
    try:
        cfg = Config()
        cfg.HistoryManager.enabled = False
        return InteractiveShell.instance(config=cfg)
    finally:
        if old is None:
            os.environ.pop("IPYTHONDIR", None)
        else:
            os.environ["IPYTHONDIR"] = old


@pytest.fixture
def ip(shell_instance):
    shell = shell_instance
    if "profview" not in shell.magics_manager.magics["line"]:
        shell.run_line_magic("load_ext", "profview")
    shell.run_cell(textwrap.dedent("""\
        def jup_fib(n):
            return n if n < 2 else jup_fib(n - 1) + jup_fib(n - 2)
        def jup_spin(seconds):
            import time
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                jup_fib(8)
        """), store_history=False)
    return shell


def run(shell, code):
    """run_cell capturing stdout, stderr and rich displays: (result, captured)."""
    from IPython.utils.capture import capture_output
    with capture_output() as c:
        r = shell.run_cell(code, store_history=False)
    return r, c


def reports(captured):
    """The fake reports shown: each displayed iframe's srcdoc, unescaped."""
    out = []
    for o in captured.outputs:
        h = o.data.get("text/html", "")
        for m in re.finditer(r'<iframe [^>]*srcdoc="([^"]*)"', h):
            out.append(html.unescape(m.group(1)))
    return out


def test_line_magic_cprofile_shows_report_and_returns_value(ip, fake_bin):
    r, c = run(ip, "%profview jup_fib(15)")
    assert r.error_in_exec is None and r.error_before_exec is None, c.stderr
    assert r.result == 610
    (doc,) = reports(c)
    assert 'data-testid="fake-report"' in doc and 'data-kind="pstats"' in doc
    assert "jup_fib" in doc
    (call,) = fake_bin.calls()
    assert call[0] == "export" and call[call.index("--format") + 1] == "html"
    assert call[1].endswith(".prof")
    assert not os.path.exists(call[1]), "the temporary profile is removed"
    (o,) = [o for o in c.outputs if "text/html" in o.data]
    assert 'sandbox="%s"' % SANDBOX in o.data["text/html"]
    assert "profview report" in o.data["text/plain"]


def test_statement_is_not_expanded(ip, fake_bin):
    ip.user_ns["jup_x"] = "expanded"
    r, c = run(ip, '%profview --no-display jup_s = "$jup_x {jup_x}"')
    assert r.error_in_exec is None, c.stderr
    assert ip.user_ns["jup_s"] == "$jup_x {jup_x}"


def test_cell_magic_sample_runs_in_user_namespace(ip, fake_bin, tmp_path):
    out = tmp_path / "cell.pvrec"
    r, c = run(ip, "%%%%profview --sample --interval 0.002 -o %s --height 450\n"
                   "jup_spin(0.3)\njup_cell_value = 41\njup_cell_value + 1\n" % out)
    assert r.error_in_exec is None, c.stderr
    assert r.result == 42
    assert ip.user_ns["jup_cell_value"] == 41
    (doc,) = reports(c)
    assert 'data-kind="recording"' in doc and "jup_spin" in doc and "jup_fib" in doc
    assert "height:450px" in c.outputs[0].data["text/html"]
    assert "profile saved to %s" % out in c.stdout
    rec = profview.read_recording(str(out))
    assert rec["format"] == "profview-recording" and rec["meta"]["samples"] > 0
    names = {f[2] for f in rec["functions"]}
    assert "jup_spin" in names
    # The stacks start at the cell's code: the magic's own frames are cut.
    assert not any(rec["functions"][f][0].endswith("_jupyter.py")
                   for st in rec["stacks"] for f in st[1])
    assert fake_bin.calls()[0][1] == str(out)


def test_sample_with_cprofile_is_a_hybrid(ip, fake_bin, tmp_path):
    out = tmp_path / "h.pvrec.gz"
    r, c = run(ip, "%%%%profview --sample --cprofile -o %s\njup_spin(0.05)\n" % out)
    assert r.error_in_exec is None, c.stderr
    (doc,) = reports(c)
    assert 'data-kind="hybrid"' in doc
    rec = profview.read_recording(str(out))
    assert rec["cprofile"] and rec["meta"]["cprofile"] is True


def test_output_saves_pstats(ip, fake_bin, tmp_path):
    out = tmp_path / "saved.prof"
    r, c = run(ip, "%%profview -o %s --no-display jup_fib(12)" % out)
    assert r.result == 144 and not reports(c) and fake_bin.calls() == []
    st = pstats.Stats(str(out))
    assert any(k[2] == "jup_fib" for k in st.stats)
    gz = tmp_path / "saved.prof.gz"
    run(ip, "%%profview -o %s --no-display jup_fib(5)" % gz)
    import gzip
    assert any(k[2] == "jup_fib" for k in marshal.loads(gzip.decompress(gz.read_bytes())))


def test_exception_propagates_after_the_profile_is_shown(ip, fake_bin, tmp_path):
    out = tmp_path / "err.prof"
    r, c = run(ip, "%%%%profview -o %s\njup_fib(10)\nraise ValueError('boom from cell')\n" % out)
    assert isinstance(r.error_in_exec, ValueError)
    assert "boom from cell" in str(r.error_in_exec)
    (doc,) = reports(c)
    assert "jup_fib" in doc
    assert any(k[2] == "jup_fib" for k in pstats.Stats(str(out)).stats)
    r, c = run(ip, "%%profview --sample\nraise KeyError('k')\n")
    assert isinstance(r.error_in_exec, KeyError) and len(reports(c)) == 1


def test_binary_without_html_export_falls_back_to_text(ip, fake_bin, monkeypatch):
    monkeypatch.setenv("FAKE_PROFVIEW_MODE", "old")
    r, c = run(ip, "%profview --limit 7 jup_fib(11)")
    assert r.error_in_exec is None and r.result == 89
    assert not reports(c)
    assert "export --format html' failed (exit 2" in c.stderr
    assert "invalid value 'html'" in c.stderr and "text report" in c.stderr
    assert "function calls" in c.stdout and "jup_fib" in c.stdout


def test_missing_binary_falls_back_to_text(ip, fake_bin, monkeypatch, tmp_path):
    monkeypatch.setenv("PROFVIEW_BIN", str(tmp_path / "no-such-profview"))
    r, c = run(ip, "%%profview --sample --interval 0.002\njup_spin(0.05)\n")
    assert r.error_in_exec is None
    assert not reports(c)
    assert "could not run" in c.stderr and "text report" in c.stderr
    # (Which functions are listed depends on the CPU clock: a loaded machine can make the
    # cell's thread look idle. The table itself is tested below.)
    assert "samples over" in c.stdout and "self s" in c.stdout


def test_recording_text_table():
    from profview._jupyter import _recording_text
    rec = {"meta": {"samples": 5, "duration": 0.05, "achieved_hz": 100.0},
           "functions": [["a.py", 1, "outer"], ["a.py", 5, "inner"], ["t.py", 9, "wait"]],
           "threads": [[1, 1, "MainThread"], [2, 2, "other"]],
           "stacks": [[0, [0, 1], 6, False, 0, 3, 0.03, 0.03],
                      [0, [0], 2, False, 0, 1, 0.01, 0.01],
                      [1, [2], 10, True, 0, 1, 0.01, 0.0]]}
    lines = _recording_text(rec, 10).splitlines()
    assert lines[0].startswith("5 samples over 0.050 s (100 Hz); 0.040 s not idle")
    rows = [ln.split() for ln in lines[3:]]
    assert rows == [["0.0300", "0.0300", "inner", "(a.py:5)"],
                    ["0.0100", "0.0400", "outer", "(a.py:1)"]]


def test_text_option(ip, fake_bin):
    r, c = run(ip, "%profview --text --sort tottime --limit 3 jup_fib(10)")
    assert r.result == 55 and not reports(c) and fake_bin.calls() == []
    assert "Ordered by: internal time" in c.stdout and "jup_fib" in c.stdout


def test_upload(ip, fake_bin, stub_server, monkeypatch, tmp_path):
    srv = stub_server()
    monkeypatch.setenv("PROFVIEW_TOKEN", "jtok")
    out = tmp_path / "up.prof"
    r, c = run(ip, "%%profview -o %s --upload %s jup_fib(9)" % (out, srv.url))
    assert r.error_in_exec is None, c.stderr
    (req,) = srv.requests
    assert req["body"] == out.read_bytes()
    assert req["headers"]["Authorization"] == "Bearer jtok"
    assert "name=up.prof" in req["path"]
    link = srv.url + "/p/abc123"
    assert "uploaded: " + link in c.stdout
    assert any('href="%s"' % link in o.data.get("text/html", "") for o in c.outputs)
    # PROFVIEW_URL with "--upload -"; a failed upload does not fail the cell.
    bad = stub_server(status=401)
    monkeypatch.setenv("PROFVIEW_URL", bad.url)
    r, c = run(ip, "%profview --sample --upload - --no-display 1 + 1")
    assert r.error_in_exec is None and r.result == 2
    assert "401" in c.stderr and len(bad.requests) == 1


def test_usage_errors(ip, fake_bin):
    r, c = run(ip, "%profview --interval 0 f()")
    assert r.error_in_exec is not None and "--interval must be > 0" in str(r.error_in_exec)
    r, c = run(ip, "%profview")
    assert r.error_in_exec is not None and "nothing to profile" in str(r.error_in_exec)
    r, c = run(ip, "%profview --help")
    assert r.error_in_exec is None and "--sample" in c.stdout
    assert fake_bin.calls() == []


# ---------------------------------------------------------------------------------------------
# a notebook executed by nbclient


def execute_notebook(tmp_path, monkeypatch, binary, cells):
    nbformat = need("nbformat")
    nbclient = need("nbclient")
    need("ipykernel")
    kdir = tmp_path / "jupyter" / "kernels" / "profview-test"
    kdir.mkdir(parents=True)
    (kdir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "profview test (%s)" % sys.executable,
        "language": "python",
        "env": {"PYTHONPATH": PYTHON_DIR, "PROFVIEW_BIN": str(binary)},
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="profview-test",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    nbformat.validate(nb)
    nbformat.write(nb, str(tmp_path / "executed.ipynb"))
    return nb


NOTEBOOK_CELLS = [
    "%load_ext profview",
    """\
    import sys, time
    def nb_work(n):
        return sum(i * i for i in range(n))
    def nb_spin(seconds):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            nb_work(2000)
    sys.executable
    """,
    "%profview nb_work(200000)",
    "%%profview --sample --interval 0.002\nnb_spin(0.3)\n",
]


def notebook_reports(cell):
    docs = []
    for out in cell.get("outputs", []):
        h = out.get("data", {}).get("text/html", "")
        if isinstance(h, list):
            h = "".join(h)
        for m in re.finditer(r'<iframe [^>]*srcdoc="([^"]*)"', h):
            docs.append(html.unescape(m.group(1)))
    return docs


def test_notebook_with_fake_binary(tmp_path, monkeypatch, fake_bin):
    nb = execute_notebook(tmp_path, monkeypatch, fake_bin.path, NOTEBOOK_CELLS)
    # The kernel ran this Python.
    assert sys.executable in nb.cells[1].outputs[0]["data"]["text/plain"]
    (doc,) = notebook_reports(nb.cells[2])
    assert 'data-kind="pstats"' in doc and "nb_work" in doc
    (doc,) = notebook_reports(nb.cells[3])
    assert 'data-kind="recording"' in doc and "nb_spin" in doc
    assert len(fake_bin.calls()) == 2


def real_binary_with_html_export():
    exe = os.environ.get("PROFVIEW_BIN") or os.path.join(REPO, "target", "release", "profview")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        pytest.fail("the profview binary is missing (%s): build it with ./scripts/build.sh or "
                    "set PROFVIEW_BIN" % exe)
    p = subprocess.run([exe, "export", "--help"], capture_output=True, text=True, timeout=60)
    if "html" not in p.stdout:
        pytest.fail("%s has no 'export --format html' (the dashboard in a notebook needs it)"
                    % exe)
    return exe


@pytest.mark.skipif(not (NOTEBOOK_REAL_BINARY or
                         os.environ.get("PROFVIEW_TEST_NOTEBOOK_REAL") == "1"),
                    reason="notebook test with the real binary: NOTEBOOK_REAL_BINARY is False")
def test_notebook_with_real_binary(tmp_path, monkeypatch):
    exe = real_binary_with_html_export()
    monkeypatch.delenv("PROFVIEW_BIN", raising=False)
    nb = execute_notebook(tmp_path, monkeypatch, exe, NOTEBOOK_CELLS)
    for cell in (nb.cells[2], nb.cells[3]):
        (doc,) = notebook_reports(cell)
        assert doc.lstrip().lower().startswith("<!doctype html"), doc[:200]
        assert re.search(r'<meta[^>]+http-equiv="Content-Security-Policy"', doc, re.I), \
            "the report has no CSP meta tag"
        assert "</html>" in doc.lower()
        # The report's data blocks (server/src/html_report.rs): the profile and the app's WASM.
        assert 'id="profview-profile"' in doc and 'id="profview-wasm"' in doc
