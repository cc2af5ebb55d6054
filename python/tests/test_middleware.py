"""WSGI and ASGI middleware under real servers (wsgiref, uvicorn) and real HTTP requests."""

import asyncio
import json
import marshal
import os
import socket
import threading
import urllib.error
import urllib.request
import wsgiref.simple_server

import pytest

import profview


def wsgi_app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/boom":
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [b"boom"]
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]
    status = "201 Created" if environ["REQUEST_METHOD"] == "POST" else "200 OK"
    start_response(status, [("Content-Type", "text/plain")])
    return body_chunks(path)


def body_chunks(path):
    for i in range(3):
        yield ("%s %d\n" % (path, sum(range(1000)))).encode()


def request(url, method="GET", data=None):
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Collector:
    """on_profile callback: collects the dumps' metadata, sets ``done`` at ``expected``."""

    def __init__(self, expected):
        self.infos = []
        self.expected = expected
        self.done = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, info):
        with self.lock:
            self.infos.append(info)
            if len(self.infos) >= self.expected:
                self.done.set()


class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *a):
        pass


@pytest.fixture
def wsgi_server():
    servers = []

    def make(app):
        srv = wsgiref.simple_server.make_server("127.0.0.1", 0, app,
                                                handler_class=QuietHandler)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        servers.append((srv, t))
        return "http://127.0.0.1:%d" % srv.server_address[1]

    yield make
    for srv, t in servers:
        srv.shutdown()
        srv.server_close()
        t.join(10)


def check_dump(path, expect_function):
    stats = marshal.loads(open(path, "rb").read())
    assert any(k[2] == expect_function for k in stats), sorted(k[2] for k in stats)[:30]


def test_wsgi_every_other_request(tmp_path, wsgi_server):
    out = tmp_path / "profiles"
    col = Collector(3)
    app = profview.ProfileMiddleware(wsgi_app, every=2, out_dir=str(out), on_profile=col)
    base = wsgi_server(app)
    calls = [("GET", "/hello/world?x=1"), ("GET", "/skipped"), ("POST", "/items"),
             ("GET", "/skipped2"), ("GET", "/boom"), ("GET", "/skipped3")]
    results = [request(base + p, m, b"payload" if m == "POST" else None) for m, p in calls]
    assert [r[0] for r in results] == [200, 200, 201, 200, 500, 200]
    assert results[0][1].startswith(b"/hello/world 499500")
    assert col.done.wait(30)
    assert app.profiled == 3 and app.requests == 6 and app.skipped == 0
    got = sorted((i["method"], i["path"], i["status"]) for i in col.infos)
    assert got == [("GET", "/boom", 500), ("GET", "/hello/world", 200), ("POST", "/items", 201)]
    files = sorted(os.listdir(str(out)))
    prof = [f for f in files if f.endswith(".prof")]
    assert len(prof) == 3 and "index.jsonl" in files
    assert any("-GET-hello_world-200-" in f for f in prof)
    assert any("-POST-items-201-" in f for f in prof)
    assert any("-GET-boom-500-" in f for f in prof)
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert sorted(i["file"] for i in index) == prof
    hello = [i for i in index if i["path"] == "/hello/world"][0]
    assert hello["query"] == "x=1" and hello["method"] == "GET" and hello["duration"] >= 0
    # the body was produced under the profiler
    check_dump(str(out / hello["file"]), "body_chunks")


def test_wsgi_path_prefix_and_upload(tmp_path, wsgi_server, stub_server):
    srv = stub_server()
    col = Collector(2)
    app = profview.ProfileMiddleware(wsgi_app, path_prefix="/api/", url=srv.url, token="tk",
                                     on_profile=col)
    base = wsgi_server(app)
    for p in ("/api/a", "/other", "/api/b/c", "/apix"):
        assert request(base + p)[0] == 200
    assert col.done.wait(30)
    assert app.profiled == 2
    assert sorted(i["path"] for i in col.infos) == ["/api/a", "/api/b/c"]
    assert all(i.get("uploaded") == srv.url + "/p/abc123" for i in col.infos), col.infos
    assert len(srv.requests) == 2
    for req in srv.requests:
        assert req["path"].startswith("/api/profiles?name=")
        assert req["headers"]["Authorization"] == "Bearer tk"
        stats = marshal.loads(req["body"])
        assert any(k[2] == "wsgi_app" for k in stats)


def test_file_names_are_sanitised():
    name = profview._middleware.profile_file_name(7, "GET", "/a b/../c?d=<e>", 200, 0.0123,
                                                  when=0)
    assert name == "19700101T000000-000007-GET-a_b_.._c_d_e-200-12ms.prof"
    assert "/" not in profview._middleware.profile_file_name(1, "G/T", "/" * 5, None, 0)


async def asgi_app(scope, receive, send):
    assert scope["type"] == "http"
    while True:
        msg = await receive()
        if not msg.get("more_body"):
            break
    path = scope["path"]
    status = 500 if path == "/err" else (201 if scope["method"] == "POST" else 200)
    await asyncio.sleep(0.01)
    body = ("%s %d" % (path, asgi_work())).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


def asgi_work():
    return sum(range(5000))


def test_asgi_under_uvicorn(tmp_path):
    uvicorn = pytest.importorskip("uvicorn")  # test-only dependency (scripts/test-python.sh)
    out = tmp_path / "aprof"
    col = Collector(3)
    app = profview.ASGIProfileMiddleware(asgi_app, every=1, out_dir=str(out), on_profile=col)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    try:
        base = "http://127.0.0.1:%d" % port
        assert request(base + "/x/y?q=1")[0] == 200
        assert request(base + "/post", "POST", b"data")[0] == 201
        assert request(base + "/err")[0] == 500
        assert col.done.wait(30)
    finally:
        server.should_exit = True
        t.join(30)
        sock.close()
    got = sorted((i["method"], i["path"], i["status"]) for i in col.infos)
    assert got == [("GET", "/err", 500), ("GET", "/x/y", 200), ("POST", "/post", 201)]
    prof = sorted(f for f in os.listdir(str(out)) if f.endswith(".prof"))
    assert len(prof) == 3
    assert any("-GET-x_y-200-" in f for f in prof) and any("-POST-post-201-" in f for f in prof)
    assert any("-GET-err-500-" in f for f in prof)
    xy = [f for f in prof if "-GET-x_y-200-" in f][0]
    check_dump(str(out / xy), "asgi_work")
    index = [json.loads(line) for line in (out / "index.jsonl").read_text().splitlines()]
    assert [i for i in index if i["path"] == "/x/y"][0]["query"] == "q=1"


def test_asgi_every_and_non_http_passthrough(tmp_path):
    col = Collector(1)
    seen = []

    async def app(scope, receive, send):
        seen.append(scope["type"])
        if scope["type"] == "http":
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    mw = profview.ASGIProfileMiddleware(app, every=3, out_dir=str(tmp_path), on_profile=col)

    async def drive():
        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(msg):
            pass

        await mw({"type": "lifespan"}, receive, send)
        for i in range(6):
            await mw({"type": "http", "method": "GET", "path": "/p%d" % i,
                      "query_string": b""}, receive, send)

    asyncio.run(drive())
    assert seen[0] == "lifespan" and mw.requests == 6 and mw.profiled == 2
    assert sorted(i["path"] for i in col.infos) == ["/p0", "/p3"]
