import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
REPO = os.path.dirname(PYTHON_DIR)

sys.path.insert(0, PYTHON_DIR)

import profview  # noqa: E402
from profview import read_recording  # noqa: E402


def env_with_path(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = PYTHON_DIR + (os.pathsep + env["PYTHONPATH"]
                                      if env.get("PYTHONPATH") else "")
    env.pop("PROFVIEW_URL", None)
    env.pop("PROFVIEW_TOKEN", None)
    if extra:
        env.update(extra)
    return env


def write_script(tmp_path, text, name="prog.py"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def run_record(tmp_path, script, *args, record_args=(), env=None, timeout=120, **kw):
    """Run ``python -m profview record -o OUT [record_args] script args``; returns
    (CompletedProcess, recording dict or None)."""
    out = tmp_path / "out.pvrec"
    cmd = [sys.executable, "-m", "profview", "record", "-o", str(out)] + list(record_args) \
        + [str(script)] + list(args)
    proc = subprocess.run(cmd, cwd=str(tmp_path), env=env_with_path(env), capture_output=True,
                          text=True, timeout=timeout, **kw)
    rec = read_recording(str(out)) if out.exists() else None
    return proc, rec


def thread_by_name(rec, name):
    idx = [i for i, t in enumerate(rec["threads"]) if t[2] == name]
    assert idx, "no thread named %r in %r" % (name, rec["threads"])
    return idx


def stacks_of(rec, thread_name):
    idx = set(thread_by_name(rec, thread_name))
    return [s for s in rec["stacks"] if s[0] in idx]


def func_name(rec, fi):
    return rec["functions"][fi][2]


@pytest.fixture
def linux_cpu_clock():
    if not sys.platform.startswith("linux"):
        pytest.skip("the per-thread CPU clock is Linux only")


class StubProfviewServer:
    """A tiny stand-in for ``profview serve``'s upload endpoint, in a thread on 127.0.0.1:0.
    Records each request (method, path, headers, body) and answers ``status`` with ``answer``.
    ``got`` is set on every request."""

    def __init__(self, status=201, answer=None):
        import http.server
        import threading

        self.requests = []
        self.got = threading.Event()
        self.status = status
        self.answer = answer if answer is not None else {"id": "abc123", "url": "/p/abc123"}
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                stub.requests.append({"method": "POST", "path": self.path,
                                      "headers": dict(self.headers), "body": body})
                import json as _json
                data = _json.dumps(stub.answer if stub.status < 400 else
                                   {"error": "unauthorized"}).encode()
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                stub.got.set()

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def stub_server():
    servers = []

    def make(**kw):
        s = StubProfviewServer(**kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
