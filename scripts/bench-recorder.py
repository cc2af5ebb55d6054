#!/usr/bin/env python3
"""Benchmarks of profview's Python recorder (python/profview). Prints Markdown.

    PYTHONPATH=python python3 scripts/bench-recorder.py [--quick] [--skip-memory]

1. cost of one sampling round (µs) for 1 thread x depth 20 and 8 threads x depth 100:
   profview's round with every stack walked (stacks changed since the last round), with the
   stacks reused (unchanged), and the talk's traceback.extract_stack() per thread;
2. overhead on a CPU-bound pure-Python program at the default interval, best of N runs,
   against the same program unprofiled (and pyinstrument's, when it is installed);
3. achieved sample rate when the threads are idle (sleep) or in I/O (socket recv);
4. memory of an hour-long 100 Hz recording of 8 threads: 360,000 rounds x 8 threads of
   synthetic, mostly distinct stacks fed through the sampler's own round code.
"""

import argparse
import gc
import os
import platform
import resource
import socket
import statistics
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

import profview  # noqa: E402
from profview import Sampler  # noqa: E402

try:
    import pyinstrument  # noqa: F401
except ImportError:
    pyinstrument = None


# ------------------------------------------------------------------------------------------
# 1. cost of one round


def _deep(n, ready, release):
    if n <= 1:
        ready.set()
        release.wait()
        return
    _deep(n - 1, ready, release)


def start_parked(threads, depth):
    """``threads`` threads each parked (Event.wait) under ``depth`` frames of _deep."""
    release = threading.Event()
    ts = []
    for i in range(threads):
        ready = threading.Event()
        # _deep adds `depth` frames; Thread bootstrap + Event.wait + Condition.wait add ~5
        t = threading.Thread(target=_deep, args=(depth - 5, ready, release),
                             name="parked-%d" % i, daemon=True)
        t.start()
        ready.wait()
        ts.append(t)
    return ts, release


def extract_stack_round(me):
    """The talk's way: traceback.extract_stack on every thread's frame."""
    out = []
    for ident, frame in sys._current_frames().items():
        if ident == me:
            continue
        out.append((ident, tuple((f.filename, f.lineno, f.name)
                                 for f in traceback.extract_stack(frame))))
    return out


def time_rounds(fn, rounds):
    best = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(rounds):
            fn()
        best.append((time.perf_counter() - t0) / rounds)
    return min(best) * 1e6, statistics.median(best) * 1e6


def bench_round_cost(quick):
    rows = []
    for threads, depth in ((1, 20), (8, 100)):
        ts, release = start_parked(threads, depth)
        try:
            rounds = 200 if quick else 1000
            me = threading.get_ident()
            s = Sampler()
            s._started = s._last_round = time.perf_counter()
            s._baseline_cpu()

            def walked():
                for st in s._tstate.values():  # forget the previous stacks: walk them all
                    st[0] = None
                s._round(me)

            def reused():
                s._round(me)

            s._round(me)
            depth_seen = max(len(x[1]) for x in s._build()["stacks"])
            w = time_rounds(walked, rounds)
            r = time_rounds(reused, rounds)
            e = time_rounds(lambda: extract_stack_round(me), max(20, rounds // 10))
            s_nocpu = Sampler(cpu_clock=False)
            s_nocpu._started = s_nocpu._last_round = time.perf_counter()

            def walked_nocpu():
                for st in s_nocpu._tstate.values():
                    st[0] = None
                s_nocpu._round(me)

            wn = time_rounds(walked_nocpu, rounds)
            rows.append((threads, depth_seen, w, wn, r, e))
        finally:
            release.set()
            for t in ts:
                t.join()
    print("### One sampling round\n")
    print("µs per round (all threads), best of 5 batches (median in brackets); threads parked "
          "in Event.wait under the given depth.\n")
    print("| threads × depth | profview, stacks walked | same, no CPU clock | profview, stacks "
          "unchanged (reused) | traceback.extract_stack | extract_stack ÷ profview walked |")
    print("|---|---|---|---|---|---|")
    for threads, depth, w, wn, r, e in rows:
        print("| %d × %d | %.1f (%.1f) | %.1f (%.1f) | %.1f (%.1f) | %.0f (%.0f) | %.1f× |" % (
            threads, depth, w[0], w[1], wn[0], wn[1], r[0], r[1], e[0], e[1], e[0] / w[0]))
    print()
    return rows


# ------------------------------------------------------------------------------------------
# 2. overhead on a CPU-bound program


def workload(n=23):
    """Pure-Python CPU work: recursion, dict and string ops."""
    def fib(k):
        return k if k < 2 else fib(k - 1) + fib(k - 2)

    d = {}
    for i in range(60000):
        d["k%d" % (i % 5000)] = d.get("k%d" % (i % 5000), 0) + i
    return fib(n) + len(d)


def timed(fn):
    """(wall seconds, process CPU seconds: every thread, the sampler's included)."""
    t0 = time.perf_counter()
    c0 = time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def bench_overhead(quick):
    runs = 5 if quick else 11
    reps = 3 if quick else 10

    def plain():
        for _ in range(reps):
            workload()

    def with_profview():
        with Sampler():
            plain()

    variants = [("unprofiled", plain), ("profview Sampler, 100 Hz", with_profview)]
    if pyinstrument is not None:
        from pyinstrument import Profiler

        def with_pyi(interval):
            def run():
                p = Profiler(interval=interval)
                p.start()
                plain()
                p.stop()
            return run

        variants.append(("pyinstrument, interval 0.01 (100 Hz)", with_pyi(0.01)))
        variants.append(("pyinstrument, default interval 0.001", with_pyi(0.001)))
    times = {name: [] for name, _ in variants}
    plain()  # warm up
    for _ in range(runs):  # interleaved, so drifts in machine load hit every variant
        for name, fn in variants:
            gc.collect()
            times[name].append(timed(fn))
    base = min(t[0] for t in times["unprofiled"])
    cbase = min(t[1] for t in times["unprofiled"])
    print("### Overhead on a CPU-bound pure-Python program\n")
    print("One thread, %d × `workload()` (recursive fib(23) + 60k dict updates), %d "
          "interleaved runs of each variant: best and median wall time, and best process CPU "
          "time (all threads, so the sampler's own CPU is in it).\n" % (reps, runs))
    print("| variant | best wall s | median wall s | wall overhead (best vs best) | "
          "best CPU s | CPU overhead (best vs best) |")
    print("|---|---|---|---|---|---|")
    out = {}
    for name, _ in variants:
        b = min(t[0] for t in times[name])
        m = statistics.median(t[0] for t in times[name])
        c = min(t[1] for t in times[name])
        out[name] = ((b - base) / base, (c - cbase) / cbase)
        print("| %s | %.3f | %.3f | %+.1f%% | %.3f | %+.1f%% |" % (
            name, b, m, 100 * (b - base) / base, c, 100 * (c - cbase) / cbase))
    print()
    return out


# ------------------------------------------------------------------------------------------
# 3. achieved rate, idle and I/O


def bench_rate(quick):
    secs = 2.0 if quick else 5.0
    print("### Achieved rate\n")
    print("Requested 100 Hz (interval 0.01 s, ±10%% jitter), %.0f s each.\n" % secs)
    print("| threads doing | rounds | achieved Hz | of requested |")
    print("|---|---|---|---|")
    results = {}

    def run(label, targets):
        stop = threading.Event()
        ts = [threading.Thread(target=t, args=(stop,), daemon=True) for t in targets]
        for t in ts:
            t.start()
        with Sampler() as s:
            time.sleep(secs)
        stop.set()
        for t in ts:
            t.join()
        m = s.recording["meta"]
        results[label] = m["achieved_hz"] / m["requested_hz"]
        print("| %s | %d | %.1f | %.0f%% |" % (label, m["rounds"], m["achieved_hz"],
                                               100 * results[label]))

    def sleeper(stop):
        while not stop.is_set():
            time.sleep(0.05)

    def io_reader(stop):
        a, b = socket.socketpair()
        a.settimeout(0.05)
        with a, b:
            while not stop.is_set():
                try:
                    a.recv(10)
                except socket.timeout:
                    pass

    def spinner(stop):
        n = 0
        while not stop.is_set():
            n += 1

    run("8 × time.sleep (idle)", [sleeper] * 8)
    run("8 × socket recv (I/O wait)", [io_reader] * 8)
    run("1 × CPU-bound pure Python (holds the GIL)", [spinner])
    print()
    return results


# ------------------------------------------------------------------------------------------
# 4. memory of an hour


class FakeFrame:
    __slots__ = ("f_code", "f_back", "f_lasti", "f_lineno")

    def __init__(self, code, back, lasti, lineno):
        self.f_code = code
        self.f_back = back
        self.f_lasti = lasti
        self.f_lineno = lineno


def rss_kib():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def bench_memory(quick):
    import random
    rounds = 36_000 if quick else 360_000
    threads = 8
    rng = random.Random(1)
    codes = []
    for i in range(3000):
        ns = {}
        exec(compile("def fn_%d():\n    pass\n" % i, "synthetic/mod_%d.py" % (i // 50), "exec"),
             ns)
        codes.append(ns["fn_%d" % i].__code__)
    # per thread: a fixed 12-frame root, then a random walk of 8-28 frames over 3000 functions:
    # most samples are a stack never seen before (the worst case for the aggregate)
    roots = []
    for t in range(threads):
        f = None
        for d in range(12):
            f = FakeFrame(codes[(t * 12 + d) % 100], f, 2 * d, 10 + d)
        roots.append(f)
    s = Sampler()
    s._started = s._last_round = time.perf_counter()
    real = sys._current_frames
    gc.collect()
    before = rss_kib()
    t0 = time.perf_counter()
    peak = before
    try:
        for r in range(rounds):
            frames = {}
            for t in range(threads):
                f = roots[t]
                for d in range(rng.randint(8, 28)):
                    f = FakeFrame(codes[rng.randrange(len(codes))], f, 2 * r, 1 + d)
                frames[1000 + t] = f
            sys._current_frames = lambda frames=frames: dict(frames)
            s._round(-1)
            if r % 20000 == 0:
                peak = max(peak, rss_kib())
    finally:
        sys._current_frames = real
    elapsed = time.perf_counter() - t0
    peak = max(peak, rss_kib())
    rec = s._build()
    m = rec["meta"]
    import json
    size = len(json.dumps(rec, separators=(",", ":")))
    import gzip
    gz = len(gzip.compress(json.dumps(rec, separators=(",", ":")).encode(), 6))
    print("### Memory of an hour at 100 Hz, 8 threads\n")
    print("%d rounds × %d threads = %s samples of synthetic stacks (20-40 frames over 3,000 "
          "functions, nearly all distinct), fed through `Sampler._round` with the default cap "
          "(max_stacks = %d); %.0f s.\n" % (rounds, threads, format(rounds * threads, ","),
                                            s.max_stacks, elapsed))
    print("| distinct stacks kept | dropped samples | dropped weight share | RSS growth | "
          "recording JSON | gzipped |")
    print("|---|---|---|---|---|---|")
    print("| %s | %s | %.0f%% | %.0f MiB | %.0f MiB | %.1f MiB |" % (
        format(len(rec["stacks"]), ","), format(m["dropped_samples"], ","),
        100 * m["dropped_samples"] / max(1, m["samples"]), (peak - before) / 1024,
        size / 2 ** 20, gz / 2 ** 20))
    print()
    return rec, peak - before


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs, a tenth of the hour")
    ap.add_argument("--skip-memory", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print("## bench-recorder: CPython %s on %s, %d CPUs, load average %.1f at start%s\n" % (
        platform.python_version(), sys.platform, os.cpu_count() or 0, load,
        ", pyinstrument %s" % pyinstrument.__version__ if pyinstrument else
        ", pyinstrument not installed"))
    bench_round_cost(args.quick)
    bench_overhead(args.quick)
    bench_rate(args.quick)
    if not args.skip_memory:
        bench_memory(args.quick)


if __name__ == "__main__":
    main()
