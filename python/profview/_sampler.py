"""The in-process thread sampler: a daemon thread that reads every thread's stack with
``sys._current_frames()`` at a fixed rate and aggregates what it saw.

The output is the recording dict described in docs/recording-format.md.
"""

import os
import platform
import random
import sys
import threading
import time

from . import _writer

__all__ = ["Sampler", "DEFAULT_INTERVAL", "DEFAULT_MAX_STACKS", "DEFAULT_MAX_DEPTH"]

DEFAULT_INTERVAL = 0.01
DEFAULT_JITTER = 0.1
DEFAULT_MAX_STACKS = 100_000
DEFAULT_MAX_DEPTH = 256
IDLE_CPU_SHARE = 0.1
SAMPLER_THREAD_NAME = "profview-sampler"

# Code flags of frames whose f_back changes when they are resumed: never reuse their stacks.
_CO_GENERATOR = 0x20
_CO_COROUTINE = 0x80
_CO_ASYNC_GENERATOR = 0x200
_RESUMABLE = _CO_GENERATOR | _CO_COROUTINE | _CO_ASYNC_GENERATOR

# Leaf frames that mean "waiting" when there is no CPU clock (the format doc's list).
_IDLE_LEAVES = {
    "threading.py": {"wait", "join", "_wait_for_tstate_lock"},
    "selectors.py": {"select"},
    "queue.py": {"get"},
    "socket.py": {"accept", "recv", "recv_into", "recvfrom", "recvfrom_into", "recvmsg",
                  "recvmsg_into"},
    "subprocess.py": {"wait", "communicate"},
}
_ASYNCIO_IDLE = {"_run_once", "select"}

IDLE_RULE_CPU = ("idle when the thread's CPU time grew by less than 10% of the wall time "
                 "since the previous sampling round")
IDLE_RULE_LEAF = ("idle when the leaf frame is a known standard-library wait (threading wait/join, "
                  "selectors select, queue get, socket accept/recv*, subprocess wait/communicate, "
                  "asyncio base_events _run_once/select)")


def is_idle_leaf(filename, name):
    """The leaf-name rule used without a CPU clock."""
    base = os.path.basename(filename)
    names = _IDLE_LEAVES.get(base)
    if names is not None and name in names:
        return True
    if base == "base_events.py" and "asyncio" in filename and name in _ASYNCIO_IDLE:
        return True
    return False


def _linux_thread_cpu_clock():
    """A function native_id -> CPU nanoseconds of that thread (raises OSError once it exited),
    or None when this platform has no such clock."""
    if not sys.platform.startswith("linux"):
        return None
    gettime = getattr(time, "clock_gettime_ns", None)
    get_native_id = getattr(threading, "get_native_id", None)
    if gettime is None or get_native_id is None:
        return None

    def cpu_ns(tid):
        return gettime(((~tid) << 3) | 6)

    try:
        cpu_ns(get_native_id())
    except (OSError, OverflowError, ValueError):
        return None
    return cpu_ns


class Sampler:
    """Samples the stacks of every thread of this process from a daemon thread.

    ``start()`` / ``stop()`` (returns the recording dict), ``snapshot()`` (the recording so far,
    without stopping), ``write(path)``, ``reset()``. Usable as a context manager: on exit it
    stops and, when ``path`` was given, writes the recording there.
    """

    def __init__(self, interval=DEFAULT_INTERVAL, path=None, *, jitter=DEFAULT_JITTER,
                 max_stacks=DEFAULT_MAX_STACKS, max_depth=DEFAULT_MAX_DEPTH, cpu_clock=True,
                 seed=None):
        interval = float(interval)
        if not interval > 0:
            raise ValueError("interval must be > 0 seconds")
        if max_stacks < 1 or max_depth < 1:
            raise ValueError("max_stacks and max_depth must be >= 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.interval = interval
        self.path = path
        self.jitter = float(jitter)
        self.max_stacks = int(max_stacks)
        self.max_depth = int(max_depth)
        self._cpu_ns = _linux_thread_cpu_clock() if cpu_clock else None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._thread = None
        self._stop_lock = None
        self._boundary_codes = set()
        self.recording = None
        self.meta = {}
        self.cprofile = None
        self._reset_data()

    # -- state ---------------------------------------------------------------------------

    def _reset_data(self):
        self._functions = []          # [file, firstlineno, display name]
        self._func_keys = {}          # (file, firstlineno, co_name) -> index
        self._func_idle = []          # index -> leaf-name idle rule
        self._code_cache = {}         # code object -> index
        self._threads = []            # [ident, native_id, name]
        self._thread_keys = {}        # (ident, native_id) -> index
        self._stack_ids = {}          # tuple of func indices -> stack id
        self._stack_list = []         # stack id -> (tuple, truncated)
        self._agg = {}                # (thread, stack id, leaf line, idle) -> [count, wall, cpu]
        self._tstate = {}             # ident -> per-thread state (see _round)
        self._native = {}             # ident -> (native_id, name) from threading.enumerate()
        self._known_idents = frozenset()
        self._rounds = 0
        self._samples = 0
        self._dropped_stacks = 0
        self._dropped_samples = 0
        self._dropped_weight = 0.0
        self._truncated_samples = 0
        self._sampler_cpu = 0.0
        self._started_wall = None
        self._started = None
        self._last_round = None
        self._stopped_at = None

    def reset(self):
        """Forget everything sampled so far (keeps running if running)."""
        with self._lock:
            running_since = self._last_round
            self._reset_data()
            if running_since is not None and self.running:
                self._started_wall = time.time()
                self._started = self._last_round = time.perf_counter()
                self._baseline_cpu()

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def add_boundary(self, code):
        """Cut stacks at this code object: it and every frame rootward of it are not kept
        (used by ``record`` to hide its own frames below the profiled program)."""
        self._boundary_codes.add(code)

    # -- control -------------------------------------------------------------------------

    def start(self):
        if self._thread is not None:
            raise RuntimeError("this Sampler is already running")
        # Held while running; stop() releases it. The sampler thread sleeps in a timed
        # acquire of it (see _run).
        self._stop_lock = threading.Lock()
        self._stop_lock.acquire()
        with self._lock:
            self._started_wall = time.time()
            self._started = self._last_round = time.perf_counter()
            self._stopped_at = None
            self._baseline_cpu()
        t = threading.Thread(target=self._run, name=SAMPLER_THREAD_NAME, daemon=True)
        self._thread = t
        t.start()
        return self

    def stop(self, reason="stop", code=None, signal=None):
        """Stop sampling; returns the recording dict (also kept as ``self.recording``)."""
        t = self._thread
        if t is not None:
            try:
                self._stop_lock.release()
            except RuntimeError:
                pass
            if t is not threading.current_thread():
                t.join()
            self._thread = None
            self._stopped_at = time.perf_counter()
        self.meta["exit"] = {"reason": reason, "code": code, "signal": signal}
        self.recording = self.snapshot()
        return self.recording

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(reason="stop" if exc_type is None else "exception")
        if self.path is not None:
            self.write(self.path)
        return False

    def write(self, path=None, recording=None):
        """Write the recording (the last stopped one, else a snapshot) to ``path`` atomically:
        JSON, gzipped when the name ends with ``.gz``. Returns the path."""
        path = path if path is not None else self.path
        if path is None:
            raise ValueError("no path to write the recording to")
        if recording is None:
            recording = self.recording if (self.recording is not None and not self.running) \
                else self.snapshot()
        return _writer.write_recording(recording, path)

    # -- sampling ------------------------------------------------------------------------

    def _baseline_cpu(self):
        """CPU time of every live thread at the start, so the first sample of a thread that
        already ran counts only what it used since."""
        self._refresh_threads()
        cpu_ns = self._cpu_ns
        for ident, (native_id, _name) in self._native.items():
            st = self._tstate.setdefault(ident, [None, -1, None, 0, None, 0])
            if cpu_ns is not None and native_id is not None:
                try:
                    st[5] = cpu_ns(native_id)
                except (OSError, OverflowError):
                    st[5] = 0

    def _refresh_threads(self):
        native = {}
        for t in threading.enumerate():
            ident = t.ident
            if ident is not None:
                native[ident] = (getattr(t, "native_id", None), t.name)
        self._native = native

    def _thread_index(self, ident):
        native_id, name = self._native.get(ident, (None, None))
        key = (ident, native_id)
        idx = self._thread_keys.get(key)
        if idx is None:
            idx = len(self._threads)
            self._thread_keys[key] = idx
            self._threads.append([ident, native_id, name])
        return idx

    def _intern(self, code):
        key = (code.co_filename, code.co_firstlineno, code.co_name)
        idx = self._func_keys.get(key)
        if idx is None:
            idx = len(self._functions)
            self._func_keys[key] = idx
            name = getattr(code, "co_qualname", code.co_name)
            self._functions.append([code.co_filename, code.co_firstlineno, name])
            self._func_idle.append(is_idle_leaf(code.co_filename, code.co_name))
        if len(self._code_cache) >= 1_000_000:  # dynamically made code: keep the cache bounded
            self._code_cache.clear()
        self._code_cache[code] = idx
        return idx

    def _run(self):
        # The loop makes no call that cProfile would see while the thread waits or works:
        # the sleep is a timed acquire reached through map() (a C-level call, no Python frame
        # in progress), and each round is one Python-level call, _tick, in this file. On 3.12+
        # cProfile keeps one call stack for every thread, so a wait such as Event.wait() here
        # would show as the caller of everything the profiled program calls meanwhile; and
        # record --cprofile drops the calls made from this file (see _cprofile.without_files).
        me = threading.get_ident()
        self._cpu0 = time.thread_time()
        self._deadline = time.perf_counter()
        acquire = self._stop_lock.acquire
        tick = self._tick
        timeout = self._next_timeout()
        while timeout is not None:
            stop = False
            for stop in map(acquire, (True,), (timeout,)):
                pass
            if stop:
                break
            timeout = tick(me)

    def _next_timeout(self):
        """Seconds until the next round: absolute deadlines with jitter; when late (the GIL
        came late, or the last round was slow) no catch-up burst, a full step from now."""
        interval = self.interval
        jitter = self.jitter
        self._deadline += interval * (1.0 + self._rng.uniform(-jitter, jitter)) if jitter \
            else interval
        now = time.perf_counter()
        if self._deadline <= now:
            self._deadline = now + interval
        return self._deadline - now

    def _tick(self, me):
        """One round; returns the next timeout (None: stop)."""
        try:
            with self._lock:
                self._round(me)
                self._sampler_cpu = time.thread_time() - self._cpu0
        except Exception:  # never let a sampling bug kill the profiled program's recording
            self._errors = getattr(self, "_errors", 0) + 1
            if self._errors > 100:
                return None
        return self._next_timeout()

    def _round(self, me):
        now = time.perf_counter()
        dt = now - self._last_round
        self._last_round = now
        frames = sys._current_frames()
        frames.pop(me, None)
        if frames.keys() != self._known_idents:
            self._known_idents = frozenset(frames)
            self._refresh_threads()
            # forget threads that are gone (and the frames held for them)
            tstate = self._tstate
            for ident in [i for i in tstate if i not in frames]:
                del tstate[ident]
        self._rounds += 1
        cpu_ns = self._cpu_ns
        idle_floor_ns = dt * IDLE_CPU_SHARE * 1e9
        code_cache = self._code_cache
        intern = self._intern
        agg = self._agg
        tstate = self._tstate
        max_stacks = self.max_stacks
        for ident, frame in frames.items():
            st = tstate.get(ident)
            # st: [leaf frame, f_lasti, stack id, leaf line, thread index, cpu ns]
            if st is None:
                st = tstate[ident] = [None, -1, None, 0, None, 0]
            tidx = st[4]
            if tidx is None:
                tidx = st[4] = self._thread_index(ident)
            # CPU time since the previous round
            cpu = None
            if cpu_ns is not None:
                native_id = self._threads[tidx][1]
                if native_id is not None:
                    try:
                        c = cpu_ns(native_id)
                    except (OSError, OverflowError):
                        # that native thread exited: the ident was reused by a new thread
                        c = None
                        self._refresh_threads()
                        st[:] = [None, -1, None, 0, None, 0]
                        tidx = st[4] = self._thread_index(ident)
                        native_id = self._threads[tidx][1]
                        if native_id is not None:
                            try:
                                c = cpu_ns(native_id)
                            except (OSError, OverflowError):
                                c = None
                    if c is not None:
                        cpu = c - st[5] if c >= st[5] else 0
                        st[5] = c
            # the stack: reuse the previous one when the leaf has not moved
            lasti = frame.f_lasti
            if frame is st[0] and lasti == st[1] and st[2] is not None:
                sid = st[2]
                line = st[3]
            else:
                code = frame.f_code
                resumable = code.co_flags & _RESUMABLE
                line = frame.f_lineno or 0
                funcs = []
                boundary = self._boundary_codes
                f = frame
                while f is not None:
                    c = f.f_code
                    if c in boundary:
                        break
                    fi = code_cache.get(c)
                    if fi is None:
                        fi = intern(c)
                    funcs.append(fi)
                    f = f.f_back
                if not funcs:  # only frames below the boundary: keep the leaf
                    funcs.append(code_cache.get(code) if code in code_cache else intern(code))
                funcs.reverse()
                truncated = len(funcs) > self.max_depth
                if truncated:
                    funcs = funcs[:self.max_depth]
                    line = 0
                stack = tuple(funcs)
                sid = self._stack_ids.get(stack)
                if sid is None:
                    if len(self._stack_ids) >= max_stacks:
                        sid = -1
                    else:
                        sid = len(self._stack_list)
                        self._stack_ids[stack] = sid
                        self._stack_list.append((stack, truncated))
                if resumable:
                    st[0] = None
                    st[1] = -1
                else:
                    st[0] = frame
                    st[1] = lasti
                st[2] = sid
                st[3] = line
            self._samples += 1
            if sid < 0:
                self._dropped_samples += 1
                self._dropped_weight += dt
                continue
            stack, truncated = self._stack_list[sid]
            if truncated:
                self._truncated_samples += 1
            if cpu is not None:
                idle = 1 if cpu < idle_floor_ns else 0
            else:
                idle = 1 if self._func_idle[stack[-1]] else 0
            key = (tidx, sid, line, idle)
            v = agg.get(key)
            if v is None:
                if len(agg) >= max_stacks:
                    self._dropped_stacks += 1
                    self._dropped_samples += 1
                    self._dropped_weight += dt
                    continue
                agg[key] = [1, dt, cpu if cpu is not None else None]
            else:
                v[0] += 1
                v[1] += dt
                if cpu is not None:
                    v[2] = (v[2] or 0) + cpu
        del frames

    # -- output --------------------------------------------------------------------------

    def snapshot(self, path=None):
        """The recording so far as a dict (see docs/recording-format.md); written to ``path``
        too when given. Sampling goes on."""
        with self._lock:
            rec = self._build()
            keys = dict(self._func_keys)
        if self.cprofile is not None:
            from ._cprofile import attach_cprofile
            attach_cprofile(rec, self.cprofile, keys=keys, exclude_files=(__file__,))
        if path is not None:
            _writer.write_recording(rec, path)
        return rec

    def _build(self):
        end = self._stopped_at if self._stopped_at is not None else time.perf_counter()
        duration = (end - self._started) if self._started is not None else 0.0
        stacks = []
        stack_list = self._stack_list
        has_cpu = self._cpu_ns is not None
        for (tidx, sid, line, idle), (count, wall, cpu) in self._agg.items():
            stack, truncated = stack_list[sid]
            stacks.append([tidx, list(stack), line, idle, 1 if truncated else 0, count, wall,
                           (cpu / 1e9) if cpu is not None else None])
        rounds = self._rounds
        meta = {
            "python": platform.python_version(),
            "implementation": sys.implementation.name,
            "platform": sys.platform,
            "pid": os.getpid(),
            "argv": list(sys.argv),
            "started": self._started_wall,
            "duration": duration,
            "interval": self.interval,
            "requested_hz": 1.0 / self.interval,
            "achieved_hz": (rounds / duration) if duration > 0 else 0.0,
            "rounds": rounds,
            "samples": self._samples,
            "cpu_clock": "thread_cputime" if has_cpu else "none",
            "idle_rule": IDLE_RULE_CPU if has_cpu else IDLE_RULE_LEAF,
            "max_stacks": self.max_stacks,
            "dropped_stacks": self._dropped_stacks,
            "dropped_samples": self._dropped_samples,
            "dropped_weight": self._dropped_weight,
            "max_depth": self.max_depth,
            "truncated_samples": self._truncated_samples,
            "sampler_cpu": self._sampler_cpu,
            "cprofile": False,
        }
        meta.update(self.meta)
        return {
            "format": "profview-recording",
            "version": 1,
            "meta": meta,
            "functions": [list(f) for f in self._functions],
            "threads": [list(t) for t in self._threads],
            "stacks": stacks,
            "cprofile": None,
        }
