"""The in-process sampler: threads, leaves, idle, weights, caps, the API."""

import gzip
import json
import sys
import threading
import time

import pytest

import profview
from profview import Sampler, read_recording
from conftest import func_name, stacks_of, thread_by_name


def spin_here(ready, flag):
    ready.set()
    x = 0
    while not flag[0]:
        x += 1
    return x


def sleep_here(ready, flag):
    ready.set()
    while not flag[0]:
        time.sleep(0.05)


def wait_here(ready, ev):
    ready.set()
    ev.wait()


def start_threads(*specs):
    """specs: (name, target, extra args); returns (threads, flag) once each thread is in its
    function."""
    flag = [False]
    threads = []
    for name, target in specs:
        ready = threading.Event()
        t = threading.Thread(target=target, args=(ready, flag), name=name, daemon=True)
        t.start()
        assert ready.wait(10)
        threads.append(t)
    return threads, flag


def stop_threads(threads, flag):
    flag[0] = True
    for t in threads:
        t.join(10)


def leaf_weights(rec, thread_name):
    by_leaf = {}
    for s in stacks_of(rec, thread_name):
        name = func_name(rec, s[1][-1])
        by_leaf[name] = by_leaf.get(name, 0.0) + s[6]
    return by_leaf


def test_names_leaf_idle_and_weights(tmp_path, linux_cpu_clock):
    threads, flag = start_threads(("spinner-A", spin_here), ("sleeper-B", sleep_here))
    out = tmp_path / "r.pvrec"
    try:
        with profview.sample(path=str(out)) as s:
            time.sleep(1.0)  # the workload: let the threads run under the sampler
    finally:
        stop_threads(threads, flag)
    rec = read_recording(str(out))
    assert rec is s.recording or rec == json.loads(json.dumps(s.recording))
    names = [t[2] for t in rec["threads"]]
    assert "spinner-A" in names and "sleeper-B" in names and "MainThread" in names
    assert "profview-sampler" not in names
    # the spinning thread's leaf is the spinning function
    spin = leaf_weights(rec, "spinner-A")
    assert max(spin, key=spin.get) == "spin_here", spin
    assert spin["spin_here"] >= 0.9 * sum(spin.values())
    # and it is mostly busy; the sleeper is idle (CPU clock)
    sp = stacks_of(rec, "spinner-A")
    busy = sum(x[6] for x in sp if x[3] == 0)
    assert busy >= 0.5 * sum(x[6] for x in sp), sp
    sl = stacks_of(rec, "sleeper-B")
    assert sl and all(x[3] == 1 for x in sl), sl
    assert all(func_name(rec, x[1][-1]) == "sleep_here" for x in sl)
    assert rec["meta"]["cpu_clock"] == "thread_cputime"
    # weights: each thread's wall sums to about the recorded duration
    dur = rec["meta"]["duration"]
    for name in ("spinner-A", "sleeper-B", "MainThread"):
        total = sum(x[6] for x in stacks_of(rec, name))
        assert abs(total - dur) <= 0.15 * dur, (name, total, dur)
        cpu = sum(x[7] for x in stacks_of(rec, name))
        assert cpu >= 0
    spin_cpu = sum(x[7] for x in sp)
    sleep_cpu = sum(x[7] for x in sl)
    assert spin_cpu > 10 * sleep_cpu


def test_format_and_indices(tmp_path):
    out = tmp_path / "r.pvrec.gz"
    threads, flag = start_threads(("w", spin_here))
    try:
        s = profview.start(path=str(out), interval=0.005)
        # Wait for the rounds the checks below need (not a fixed time: a loaded machine
        # schedules the sampler late).
        deadline = time.monotonic() + 30
        while s.snapshot()["meta"]["rounds"] <= 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        rec = profview.stop()
    finally:
        stop_threads(threads, flag)
    raw = gzip.decompress(out.read_bytes())
    assert raw.startswith(b'{"format":"profview-recording"')
    assert json.loads(raw) == json.loads(json.dumps(rec))
    assert rec["version"] == 1 and rec["cprofile"] is None
    nf, nt = len(rec["functions"]), len(rec["threads"])
    triples = [tuple(f) for f in rec["functions"]]
    assert len(set(triples)) == len(triples)
    keys = set()
    for thread, frames, line, idle, trunc, count, wall, cpu in rec["stacks"]:
        assert 0 <= thread < nt and frames and all(0 <= f < nf for f in frames)
        assert idle in (0, 1) and trunc in (0, 1) and count >= 1 and wall >= 0
        assert isinstance(line, int)
        key = (thread, tuple(frames), line, idle)
        assert key not in keys
        keys.add(key)
    m = rec["meta"]
    assert m["rounds"] > 10 and m["samples"] >= m["rounds"]
    assert m["exit"]["reason"] == "stop" and s.running is False
    assert m["interval"] == 0.005 and m["requested_hz"] == 200.0


def test_snapshot_reset_and_write(tmp_path):
    s = Sampler(interval=0.005)
    s.start()
    try:
        time.sleep(0.2)
        snap = s.snapshot(path=str(tmp_path / "snap.pvrec"))
        assert s.running
        assert snap["meta"]["rounds"] > 0
        assert read_recording(str(tmp_path / "snap.pvrec"))["meta"]["rounds"] == \
            snap["meta"]["rounds"]
        s.reset()
        after = s.snapshot()
        assert after["meta"]["rounds"] < snap["meta"]["rounds"]
        time.sleep(0.1)
        assert s.snapshot()["meta"]["rounds"] > 0
    finally:
        rec = s.stop()
    s.write(str(tmp_path / "final.pvrec"))
    assert read_recording(str(tmp_path / "final.pvrec")) == json.loads(json.dumps(rec))
    with pytest.raises(RuntimeError):
        profview.stop()


def recurse(n, ready, flag):
    if n == 0:
        return spin_here(ready, flag)
    return recurse(n - 1, ready, flag)


def test_depth_cap_keeps_root_frames():
    flag = [False]
    ready = threading.Event()
    t = threading.Thread(target=recurse, args=(60, ready, flag), name="deep", daemon=True)
    t.start()
    assert ready.wait(10)
    try:
        with Sampler(interval=0.005, max_depth=10) as s:
            time.sleep(0.2)
    finally:
        flag[0] = True
        t.join(10)
    rec = s.recording
    deep = stacks_of(rec, "deep")
    assert deep
    for st in deep:
        assert st[4] == 1 and len(st[1]) == 10
        names = [func_name(rec, f) for f in st[1]]
        assert names[0] == "Thread._bootstrap" or names[0] == "_bootstrap"
        assert names[-1] == "recurse"
    assert rec["meta"]["truncated_samples"] >= len(deep)
    assert rec["meta"]["max_depth"] == 10


def varying(ready, flag):
    ready.set()
    n = 0
    while not flag[0]:
        n = (n + 1) % 40
        _down(n)


def _down(n):
    if n > 0:
        return _down(n - 1)
    x = 0
    for _ in range(2000):
        x += 1
    return x


def test_stack_cap_counts_what_is_dropped():
    threads, flag = start_threads(("varying", varying))
    try:
        with Sampler(interval=0.002, max_stacks=3) as s:
            time.sleep(0.5)
    finally:
        stop_threads(threads, flag)
    rec = s.recording
    m = rec["meta"]
    assert len(rec["stacks"]) <= 3
    assert m["dropped_samples"] > 0 and m["dropped_weight"] > 0
    kept = sum(x[5] for x in rec["stacks"])
    assert kept + m["dropped_samples"] == m["samples"]


def test_leaf_rule_without_cpu_clock():
    ev = threading.Event()
    flag = [False]
    r1, r2 = threading.Event(), threading.Event()
    waiter = threading.Thread(target=wait_here, args=(r1, ev), name="waiter", daemon=True)
    spinner = threading.Thread(target=spin_here, args=(r2, flag), name="spinner", daemon=True)
    waiter.start()
    spinner.start()
    assert r1.wait(10) and r2.wait(10)
    try:
        with Sampler(interval=0.005, cpu_clock=False) as s:
            time.sleep(0.3)
    finally:
        ev.set()
        flag[0] = True
        waiter.join(10)
        spinner.join(10)
    rec = s.recording
    assert rec["meta"]["cpu_clock"] == "none"
    w = stacks_of(rec, "waiter")
    assert w and all(x[3] == 1 and x[7] is None for x in w)
    assert all(func_name(rec, x[1][-1]).endswith("wait") for x in w)
    sp = stacks_of(rec, "spinner")
    assert sp and all(x[3] == 0 for x in sp)


def test_short_lived_threads_do_not_break_sampling():
    def short(i):
        x = 0
        for _ in range(1000 * (i % 5)):
            x += 1

    with Sampler(interval=0.001) as s:
        deadline = time.perf_counter() + 0.5
        i = 0
        while time.perf_counter() < deadline:  # the workload: churn threads for 0.5 s
            ts = [threading.Thread(target=short, args=(i + k,), name="short-%d" % (i + k))
                  for k in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            i += 4
    rec = s.recording
    assert rec["meta"]["rounds"] > 50
    assert getattr(s, "_errors", 0) == 0
    # only threads that existed: every stack belongs to a listed thread
    assert all(0 <= x[0] < len(rec["threads"]) for x in rec["stacks"])


def gen_worker(ready, flag):
    def gen():
        while True:
            x = 0
            for _ in range(500):
                x += 1
            yield x

    def consume_a(g):
        return next(g)

    def consume_b(g):
        return next(g)

    g = gen()
    ready.set()
    while not flag[0]:
        consume_a(g)
        consume_b(g)


def test_generator_frames_get_their_current_callers():
    threads, flag = start_threads(("gen", gen_worker))
    try:
        with Sampler(interval=0.001) as s:
            time.sleep(0.5)
    finally:
        stop_threads(threads, flag)
    rec = s.recording
    callers = set()
    for st in stacks_of(rec, "gen"):
        names = [func_name(rec, f) for f in st[1]]
        if names[-1].endswith("gen"):
            callers.add(names[-2].rsplit(".", 1)[-1])
    assert {"consume_a", "consume_b"} <= callers, callers


def test_sample_count_matches_rate_while_waiting():
    with Sampler(interval=0.01) as s:
        time.sleep(2.0)  # the workload: wait a known time
    rec = s.recording
    main = [x for x in stacks_of(rec, "MainThread")
            if func_name(rec, x[1][-1]).endswith("test_sample_count_matches_rate_while_waiting")]
    count = sum(x[5] for x in main)
    assert 180 <= count <= 220, (count, rec["meta"]["achieved_hz"])
    assert abs(rec["meta"]["achieved_hz"] - 100) <= 10
