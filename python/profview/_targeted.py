"""Targeted profiling: cProfile over 1 in N calls of a function (or a random share of them)."""

import cProfile
import functools
import inspect
import marshal
import os
import pstats
import random
import sys
import threading

from ._writer import atomic_write_bytes

__all__ = ["targeted", "Targeted", "try_enable", "profiler_busy"]

_local = threading.local()


def profiler_busy():
    """True when another profiler would clash with a new cProfile in this thread: one set with
    sys.setprofile here, or (3.12+) the sys.monitoring profiler tool id taken."""
    if sys.getprofile() is not None:
        return True
    mon = getattr(sys, "monitoring", None)
    if mon is not None:
        try:
            if mon.get_tool(mon.PROFILER_ID) is not None:
                return True
        except Exception:
            pass
    return False


def try_enable():
    """A new enabled cProfile.Profile, or None when profiling cannot start here (another
    profiler is active: on 3.12+ only one can be, and enabling raises ValueError)."""
    if getattr(_local, "active", False) or profiler_busy():
        return None
    prof = cProfile.Profile()
    try:
        prof.enable()
    except ValueError:  # "Another profiling tool is already active"
        return None
    _local.active = True
    return prof


def finish(prof):
    prof.disable()
    _local.active = False


def stats_bytes(prof):
    """The pstats file content (what Profile.dump_stats writes) of a stopped profile."""
    prof.create_stats()
    return marshal.dumps(prof.stats)


class Targeted:
    """The state behind a ``@targeted`` function: which calls to profile, the counters, and the
    accumulated stats. ``calls``: every call; ``profiled``: calls run under cProfile;
    ``skipped``: calls chosen for profiling that ran unprofiled because another profiler was
    active (3.12+: one at a time) or a profiled targeted call was already running in this
    thread."""

    def __init__(self, func, every=None, rate=None, rng=None, seed=None, per_call_dir=None,
                 on_profile=None):
        if every is None and rate is None:
            every = 100
        if every is not None and rate is not None:
            raise ValueError("give every=N or rate=R, not both")
        if every is not None and int(every) < 1:
            raise ValueError("every must be >= 1")
        if rate is not None and not 0.0 <= float(rate) <= 1.0:
            raise ValueError("rate must be in [0, 1]")
        self.func = func
        self.every = int(every) if every is not None else None
        self.rate = float(rate) if rate is not None else None
        self._rng = rng if rng is not None else random.Random(seed)
        self.per_call_dir = os.fspath(per_call_dir) if per_call_dir is not None else None
        self.on_profile = on_profile
        self._lock = threading.Lock()
        self.calls = 0
        self.profiled = 0
        self.skipped = 0
        self._stats = None
        self.name = getattr(func, "__qualname__", getattr(func, "__name__", "function"))
        if self.per_call_dir is not None:
            os.makedirs(self.per_call_dir, exist_ok=True)

    def _choose(self):
        with self._lock:
            n = self.calls
            self.calls += 1
            if self.every is not None:
                return n % self.every == 0
            return self._rng.random() < self.rate

    def _start(self):
        prof = try_enable()
        if prof is None:
            with self._lock:
                self.skipped += 1
        return prof

    def _done(self, prof):
        finish(prof)
        data = stats_bytes(prof)
        with self._lock:
            self.profiled += 1
            seq = self.profiled
            if self._stats is None:
                self._stats = pstats.Stats(prof)
            else:
                self._stats.add(prof)
        path = None
        if self.per_call_dir is not None:
            safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in self.name)[:80]
            path = os.path.join(self.per_call_dir, "%s-%06d.prof" % (safe, seq))
            atomic_write_bytes(path, data)
        if self.on_profile is not None:
            self.on_profile(prof, path)

    def __call__(self, *args, **kwargs):
        if not self._choose():
            return self.func(*args, **kwargs)
        prof = self._start()
        if prof is None:
            return self.func(*args, **kwargs)
        try:
            return self.func(*args, **kwargs)
        finally:
            self._done(prof)

    async def call_async(self, *args, **kwargs):
        """For coroutine functions: cProfile runs while the call is awaited, so other tasks
        that run on the loop meanwhile are profiled too."""
        if not self._choose():
            return await self.func(*args, **kwargs)
        prof = self._start()
        if prof is None:
            return await self.func(*args, **kwargs)
        try:
            return await self.func(*args, **kwargs)
        finally:
            self._done(prof)

    def stats(self):
        """The merged pstats.Stats of every profiled call (None before the first)."""
        with self._lock:
            return self._stats

    def dump(self, path):
        """Write the merged stats as one pstats file (empty stats before the first call)."""
        with self._lock:
            stats = dict(self._stats.stats) if self._stats is not None else {}
        return atomic_write_bytes(path, marshal.dumps(stats))

    def reset(self):
        with self._lock:
            self.calls = self.profiled = self.skipped = 0
            self._stats = None


def targeted(func=None, *, every=None, rate=None, rng=None, seed=None, per_call_dir=None,
             on_profile=None):
    """Decorator: run cProfile over 1 in ``every`` calls (the 1st, N+1th, ...) or over a random
    share ``rate`` of them (``rng`` / ``seed`` for repeatable choices). The decorated function
    keeps its signature and gains ``.profview`` (a :class:`Targeted`: the counters ``calls``,
    ``profiled``, ``skipped``, ``stats()``, ``dump(path)``, ``reset()``); ``dump``, ``stats`` and
    ``reset`` are also on the function itself. ``per_call_dir`` writes one .prof per profiled call.
    Coroutine functions are profiled while awaited. Defaults to every=100.
    """
    def wrap(f):
        t = Targeted(f, every=every, rate=rate, rng=rng, seed=seed, per_call_dir=per_call_dir,
                     on_profile=on_profile)
        if inspect.iscoroutinefunction(f):
            @functools.wraps(f)
            async def wrapper(*args, **kwargs):
                return await t.call_async(*args, **kwargs)
        else:
            @functools.wraps(f)
            def wrapper(*args, **kwargs):
                return t(*args, **kwargs)
        wrapper.profview = t
        wrapper.dump = t.dump
        wrapper.stats = t.stats
        wrapper.reset = t.reset
        return wrapper

    if func is not None:
        return wrap(func)
    return wrap
