"""@profview.targeted: cProfile over 1 in N calls, never failing a call."""

import asyncio
import cProfile
import os
import pstats
import random
import sys

import pytest

import profview


def work(n):
    return sum(i * i for i in range(n))


def key_for(stats, name):
    ks = [k for k in stats.stats if k[2] == name]
    assert len(ks) == 1, (name, list(stats.stats)[:20])
    return ks[0]


def test_every_10_over_100_profiles_10(tmp_path):
    @profview.targeted(every=10)
    def handler(n):
        return work(n)

    for i in range(100):
        assert handler(50) == work(50)
    t = handler.profview
    assert (t.calls, t.profiled, t.skipped) == (100, 10, 0)
    out = tmp_path / "merged.prof"
    handler.dump(str(out))
    st = pstats.Stats(str(out))
    cc, nc, tt, ct, callers = st.stats[key_for(st, "handler")]
    assert nc == 10
    assert st.stats[key_for(st, "work")][1] == 10


def test_rate_with_seed_is_repeatable():
    draws = random.Random(7)
    expected = sum(draws.random() < 0.3 for _ in range(200))

    @profview.targeted(rate=0.3, rng=random.Random(7))
    def f():
        return 1

    for _ in range(200):
        f()
    assert f.profview.profiled == expected and f.profview.calls == 200
    assert 0 < expected < 200


def test_per_call_dir(tmp_path):
    d = tmp_path / "calls"

    @profview.targeted(every=5, per_call_dir=str(d))
    def f(n):
        return work(n)

    for _ in range(20):
        f(10)
    files = sorted(os.listdir(str(d)))
    assert len(files) == 4 and all(x.endswith(".prof") for x in files)
    for x in files:
        st = pstats.Stats(str(d / x))
        assert st.stats[key_for(st, "f")][1] == 1


def test_nested_calls_are_skipped_not_failed():
    @profview.targeted(every=1)
    def rec(n):
        return 0 if n == 0 else 1 + rec(n - 1)

    assert rec(3) == 3
    t = rec.profview
    assert (t.calls, t.profiled, t.skipped) == (4, 1, 3)
    st = t.stats()
    assert st.stats[key_for(st, "rec")][1] == 4  # the outer profile saw the inner calls


def test_another_active_profiler_means_skipped():
    @profview.targeted(every=1)
    def f(n):
        return work(n)

    outer = cProfile.Profile()
    outer.enable()
    try:
        values = [f(10) for _ in range(5)]
    finally:
        outer.disable()
    assert values == [work(10)] * 5
    assert (f.profview.calls, f.profview.profiled, f.profview.skipped) == (5, 0, 5)
    # and once it is gone, profiling works again
    f(10)
    assert f.profview.profiled == 1


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_monitoring_tool_in_use_means_skipped():
    mon = sys.monitoring
    mon.use_tool_id(mon.PROFILER_ID, "someone-else")
    try:
        @profview.targeted(every=1)
        def f():
            return 2

        assert f() == 2
        assert (f.profview.profiled, f.profview.skipped) == (0, 1)
    finally:
        mon.free_tool_id(mon.PROFILER_ID)


def test_exceptions_pass_through_and_are_profiled():
    @profview.targeted(every=1)
    def boom():
        raise KeyError("x")

    with pytest.raises(KeyError):
        boom()
    assert boom.profview.profiled == 1


def test_methods_and_async():
    class C:
        @profview.targeted(every=2)
        def m(self, x):
            return x + 1

    c = C()
    assert [c.m(i) for i in range(4)] == [1, 2, 3, 4]
    assert C.m.profview.profiled == 2

    @profview.targeted(every=1)
    async def coro(x):
        await asyncio.sleep(0)
        return x * 2

    assert asyncio.run(coro(4)) == 8
    assert coro.profview.profiled == 1
    st = coro.profview.stats()
    assert any(k[2] == "coro" for k in st.stats)


def test_dump_before_any_profile_is_empty_pstats(tmp_path):
    @profview.targeted(every=3)
    def f():
        return 1

    out = tmp_path / "empty.prof"
    f.dump(str(out))
    import marshal
    assert marshal.loads(out.read_bytes()) == {}
