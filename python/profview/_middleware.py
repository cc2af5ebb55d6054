"""WSGI and ASGI middleware that run cProfile over 1 in N requests (or those under a path
prefix) and keep one pstats dump per profiled request: in a directory (with an index.jsonl
line per dump) and/or POSTed to a profview server."""

import cProfile
import itertools
import json
import os
import re
import threading
import time

from ._targeted import profiler_busy, stats_bytes
from ._upload import UploadError, upload_bytes
from ._writer import atomic_write_bytes

__all__ = ["ProfileMiddleware", "ASGIProfileMiddleware", "profile_file_name"]

# One profiled request at a time in the process: on 3.12+ only one profiler can be active
# anyway, and before 3.12 this keeps the dumps of concurrent requests apart.
_request_lock = threading.Lock()
_unsafe = re.compile(r"[^A-Za-z0-9._-]+")


def profile_file_name(seq, method, path, status, duration, when=None):
    """``20250101T120000-000001-GET-api_items-200-12ms.prof``: everything but [A-Za-z0-9._-]
    becomes ``_``; the path part is at most 80 characters."""
    when = time.time() if when is None else when
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(when))
    p = _unsafe.sub("_", (path or "").strip("/")).strip("._") or "root"
    m = _unsafe.sub("_", method or "X")[:16] or "X"
    status_s = str(int(status)) if status is not None else "none"
    return "%s-%06d-%s-%s-%s-%dms.prof" % (stamp, seq, m, p[:80], status_s,
                                            int(round(duration * 1000)))


class _Base:
    def __init__(self, app, every=None, path_prefix=None, out_dir=None, url=None, token=None,
                 on_profile=None, upload_timeout=30.0):
        if every is None and path_prefix is None:
            every = 100
        if every is not None and int(every) < 1:
            raise ValueError("every must be >= 1")
        if out_dir is None and url is None and on_profile is None:
            raise ValueError("give out_dir=, url= (a profview server) or on_profile=")
        self.app = app
        self.every = int(every) if every is not None else None
        self.path_prefix = path_prefix
        self.out_dir = os.fspath(out_dir) if out_dir is not None else None
        self.url = url
        self.token = token
        self.on_profile = on_profile
        self.upload_timeout = upload_timeout
        self.requests = 0   # requests seen that could be profiled (path prefix matched)
        self.profiled = 0
        self.skipped = 0    # chosen, but another profile was running
        self.errors = []    # the last few upload/write errors, as text
        self._count = itertools.count()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        if self.out_dir is not None:
            os.makedirs(self.out_dir, exist_ok=True)

    def _choose(self, path):
        if self.path_prefix is not None and not (path or "").startswith(self.path_prefix):
            return False
        with self._lock:
            n = self.requests
            self.requests += 1
        return self.every is None or n % self.every == 0

    def _begin(self):
        """An enabled profiler holding the request lock, or None (counted as skipped)."""
        if not _request_lock.acquire(blocking=False):
            with self._lock:
                self.skipped += 1
            return None
        prof = None
        if not profiler_busy():
            prof = cProfile.Profile()
            try:
                prof.enable()
            except ValueError:  # 3.12+: another profiling tool is already active
                prof = None
        if prof is None:
            _request_lock.release()
            with self._lock:
                self.skipped += 1
        return prof

    def _finish(self, prof, method, path, query, status, duration):
        try:
            prof.disable()
        finally:
            _request_lock.release()
        data = stats_bytes(prof)
        with self._lock:
            self.profiled += 1
        seq = next(self._seq)
        now = time.time()
        name = profile_file_name(seq, method, path, status, duration, now)
        info = {"file": name, "method": method, "path": path, "query": query, "status": status,
                "duration": duration, "time": now, "bytes": len(data)}
        if self.out_dir is not None:
            try:
                info["path_written"] = atomic_write_bytes(os.path.join(self.out_dir, name), data)
                with self._lock, open(os.path.join(self.out_dir, "index.jsonl"), "a",
                                      encoding="utf-8") as f:
                    f.write(json.dumps({k: v for k, v in info.items() if k != "path_written"})
                            + "\n")
            except OSError as e:
                self._error("writing %s: %s" % (name, e))
        if self.url is not None:
            # Off the request path: a slow server must not hold the response.
            threading.Thread(target=self._upload, args=(data, name, info), daemon=True,
                             name="profview-upload").start()
        elif self.on_profile is not None:
            self._notify(info)

    def _upload(self, data, name, info):
        try:
            answer = upload_bytes(data, self.url, name, token=self.token,
                                  timeout=self.upload_timeout)
            info["uploaded"] = answer.get("link")
        except UploadError as e:
            info["upload_error"] = str(e)
            self._error(str(e))
        if self.on_profile is not None:
            self._notify(info)

    def _notify(self, info):
        try:
            self.on_profile(info)
        except Exception as e:
            self._error("on_profile: %r" % (e,))

    def _error(self, text):
        with self._lock:
            self.errors = (self.errors + [text])[-20:]


class ProfileMiddleware(_Base):
    """WSGI middleware: ``app = ProfileMiddleware(app, every=100, out_dir="profiles")``.

    Profiles 1 in ``every`` requests (the first, then every Nth), counting only requests whose
    path starts with ``path_prefix`` when given (without ``every``: all of those). cProfile
    runs during the app call and while each chunk of the response is produced; the dump is
    kept when the server closes the response. Writes ``<time>-<seq>-<METHOD>-<path>-<status>-
    <ms>ms.prof`` and a line in ``index.jsonl`` into ``out_dir``, and/or POSTs the dump to
    the profview server at ``url`` (Bearer ``token`` or env PROFVIEW_TOKEN). ``on_profile``
    is called with the dump's metadata dict after each one. One request is profiled at a
    time; on Python 3.12+ cProfile also records whatever other threads run meanwhile.
    """

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not self._choose(path):
            return self.app(environ, start_response)
        prof = self._begin()
        if prof is None:
            return self.app(environ, start_response)
        state = {"status": None}

        def sr(status, headers, exc_info=None):
            try:
                state["status"] = int(str(status).split(None, 1)[0])
            except ValueError:
                pass
            return start_response(status, headers, exc_info) if exc_info is not None \
                else start_response(status, headers)

        t0 = time.perf_counter()
        args = (environ.get("REQUEST_METHOD", ""), path, environ.get("QUERY_STRING", ""))

        def finish():
            self._finish(prof, args[0], args[1], args[2], state["status"],
                         time.perf_counter() - t0)

        try:
            result = self.app(environ, sr)
        except BaseException:
            prof.disable()
            if state["status"] is None:
                state["status"] = 500
            finish()
            raise
        prof.disable()
        return _ProfiledBody(result, prof, finish)


class _ProfiledBody:
    """The app's response iterable, producing each chunk under the profiler; the profile is
    finished when the server closes it (or when it is exhausted, if the server does not)."""

    def __init__(self, result, prof, finish):
        self._result = result
        self._it = None
        self._prof = prof
        self._finish = finish
        self._done = False

    def __iter__(self):
        self._it = iter(self._run(iter, self._result))
        return self

    def __next__(self):
        if self._it is None:
            self.__iter__()
        return self._run(next, self._it)

    def _run(self, fn, arg):
        prof = self._prof
        try:
            prof.enable()
        except ValueError:
            return fn(arg)
        try:
            return fn(arg)
        finally:
            prof.disable()

    def close(self):
        if self._done:
            return
        self._done = True
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                self._run(lambda _: close(), None)
        finally:
            self._finish()

    def __del__(self):
        if not self._done:
            try:
                self.close()
            except Exception:
                pass


class ASGIProfileMiddleware(_Base):
    """ASGI middleware (HTTP scopes), same options as :class:`ProfileMiddleware`.

    cProfile is enabled for the whole awaited app call, so whatever else runs on the event
    loop meanwhile (other requests' tasks) is in the dump too; one request is profiled at a
    time (others are not chosen while one runs). On 3.12+ other threads are recorded as well.
    """

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        if not self._choose(path):
            return await self.app(scope, receive, send)
        prof = self._begin()
        if prof is None:
            return await self.app(scope, receive, send)
        state = {"status": None}

        async def wrapped_send(message):
            if message.get("type") == "http.response.start":
                state["status"] = message.get("status")
            await send(message)

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, wrapped_send)
        except BaseException:
            if state["status"] is None:
                state["status"] = 500
            raise
        finally:
            query = scope.get("query_string", b"")
            if isinstance(query, bytes):
                query = query.decode("latin-1")
            self._finish(prof, scope.get("method", ""), path, query, state["status"],
                         time.perf_counter() - t0)
