"""``python -m profview record``: runs a program like python does and always writes."""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import (env_with_path, func_name, read_recording, run_record, stacks_of,
                      write_script)


def test_argv_main_and_path(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    script = write_script(sub, """
        import json, os, sys
        import helper  # lives next to the script: sys.path[0] is the script's directory
        info = {"argv": sys.argv, "name": __name__, "file": __file__,
                "main_is_me": sys.modules["__main__"].__dict__ is globals(),
                "path0": sys.path[0], "helper": helper.VALUE}
        with open(os.path.join(os.path.dirname(__file__), "info.json"), "w") as f:
            json.dump(info, f)
    """)
    (sub / "helper.py").write_text("VALUE = 42\n")
    proc, rec = run_record(tmp_path, script, "a", "--b", "-c")
    assert proc.returncode == 0, proc.stderr
    info = json.loads((sub / "info.json").read_text())
    assert info["argv"] == [str(script), "a", "--b", "-c"]
    assert info["name"] == "__main__" and info["main_is_me"]
    assert info["file"] == str(script)
    assert info["path0"] == str(sub)
    assert info["helper"] == 42
    assert rec["meta"]["argv"] == [str(script), "a", "--b", "-c"]
    assert rec["meta"]["exit"] == {"reason": "exit", "code": 0, "signal": None}
    assert "profview serve" in proc.stderr and str(tmp_path / "out.pvrec") in proc.stderr


def test_module_mode(tmp_path):
    (tmp_path / "mymod.py").write_text(
        "import sys, json\n"
        "if __name__ == '__main__':\n"
        "    json.dump({'argv': sys.argv, 'name': __name__}, open('mod.json', 'w'))\n"
        "    sys.exit(5)\n")
    out = tmp_path / "m.pvrec"
    proc = subprocess.run([sys.executable, "-m", "profview", "record", "-o", str(out), "-m",
                           "mymod", "x", "y"], cwd=str(tmp_path), env=env_with_path(),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 5, proc.stderr
    info = json.loads((tmp_path / "mod.json").read_text())
    assert info["name"] == "__main__"
    assert info["argv"][0].endswith("mymod.py") and info["argv"][1:] == ["x", "y"]
    assert read_recording(str(out))["meta"]["exit"]["code"] == 5


@pytest.mark.parametrize("body, code, err", [
    ("sys.exit(3)", 3, None),
    ("sys.exit(None)", 0, None),
    ("raise SystemExit('bye now')", 1, "bye now"),
])
def test_exit_codes(tmp_path, body, code, err):
    script = write_script(tmp_path, "import sys\n" + body + "\n")
    proc, rec = run_record(tmp_path, script)
    assert proc.returncode == code, proc.stderr
    if err:
        assert err in proc.stderr
    assert rec is not None and rec["meta"]["exit"]["reason"] == "exit"
    assert rec["meta"]["exit"]["code"] == code


def test_exception_writes_and_exits_1(tmp_path):
    script = write_script(tmp_path, """
        import time
        def fail_here():
            time.sleep(0.2)
            raise ValueError("broken on purpose")
        fail_here()
    """)
    proc, rec = run_record(tmp_path, script)
    assert proc.returncode == 1
    assert "ValueError: broken on purpose" in proc.stderr
    assert "fail_here" in proc.stderr and "_cli.py" not in proc.stderr
    assert rec["meta"]["exit"] == {"reason": "exception", "code": 1, "signal": None}
    names = {func_name(rec, f) for s in rec["stacks"] for f in s[1]}
    assert "fail_here" in names


def test_missing_script_and_bad_usage(tmp_path):
    proc, rec = run_record(tmp_path, tmp_path / "nope.py")
    assert proc.returncode == 2 and "nope.py" in proc.stderr and rec is None
    proc = subprocess.run([sys.executable, "-m", "profview", "record", "--interval", "x", "a.py"],
                          cwd=str(tmp_path), env=env_with_path(), capture_output=True, text=True)
    assert proc.returncode == 2 and "--interval" in proc.stderr


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGINT"])
def test_signal_writes_recording(tmp_path, signame):
    if not hasattr(signal, signame):
        pytest.skip("no %s here" % signame)
    signum = getattr(signal, signame)
    script = write_script(tmp_path, """
        import time
        def wait_forever():
            time.sleep(0.5)  # workload: be sampled for a while before the signal
            print("ready", flush=True)
            while True:
                time.sleep(0.05)
        wait_forever()
    """)
    out = tmp_path / "sig.pvrec"

    def default_disposition():
        # A shell's background job inherits SIGINT ignored, and then neither Python nor the
        # recorder installs a handler (the recorder leaves a signal the user set alone): the
        # program under test gets the default disposition whatever ran the tests.
        signal.signal(signum, signal.SIG_DFL)

    p = subprocess.Popen([sys.executable, "-m", "profview", "record", "-o", str(out),
                          str(script)], cwd=str(tmp_path), env=env_with_path(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=default_disposition)
    try:
        assert p.stdout.readline().strip() == "ready"
        p.send_signal(signum)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode in (-signum, 128 + signum), (p.returncode, err)
    rec = read_recording(str(out))
    assert rec["meta"]["exit"]["reason"] == "signal"
    assert rec["meta"]["exit"]["signal"] == signame
    names = {func_name(rec, f) for s in rec["stacks"] for f in s[1]}
    assert "wait_forever" in names


def test_non_daemon_threads_are_waited_for(tmp_path):
    script = write_script(tmp_path, """
        import threading, time
        def late_worker():
            time.sleep(0.5)
        threading.Thread(target=late_worker, name="late-worker").start()
    """)
    proc, rec = run_record(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    late = stacks_of(rec, "late-worker")
    assert sum(s[6] for s in late) > 0.3


def test_cprofile_exact_ncalls_joined_with_samples(tmp_path):
    script = write_script(tmp_path, """
        import time
        def counted(n):
            t = time.perf_counter() + 0.002
            while time.perf_counter() < t:
                n += 1
            return n
        def main():
            for i in range(321):
                counted(i)
        main()
    """)
    proc, rec = run_record(tmp_path, script, record_args=["--cprofile"])
    assert proc.returncode == 0, proc.stderr
    cp = rec["cprofile"]
    assert cp is not None and rec["meta"]["cprofile"] is True
    funcs = rec["functions"]
    idx = [i for i, f in enumerate(funcs) if f[2] == "counted" and f[0] == str(script)]
    assert len(idx) == 1
    row = [r for r in cp["stats"] if r[0] == idx[0]]
    assert len(row) == 1 and row[0][2] == 321 and row[0][1] == 321
    # the sampled stacks use the same function index (joined on the pstats key)
    assert any(s[1][-1] == idx[0] for s in rec["stacks"])
    # edges: main -> counted, 321 calls
    main = [i for i, f in enumerate(funcs) if f[2] == "main" and f[0] == str(script)][0]
    e = [x for x in cp["edges"] if x[0] == main and x[1] == idx[0]]
    assert len(e) == 1 and e[0][3] == 321
    # built-ins that only cProfile saw are appended with their pstats key
    assert any(f[0] == "~" and "perf_counter" in f[2] for f in funcs)
    triples = [tuple(f) for f in funcs]
    assert len(set(triples)) == len(triples)
    n = len(funcs)
    assert all(0 <= r[0] < n for r in cp["stats"])
    assert all(0 <= x[0] < n and 0 <= x[1] < n for x in cp["edges"])
    assert cp["total_tt"] > 0
    # the sampler thread's own work is not in the cProfile numbers (3.12+ cProfile sees every
    # thread; the recorder takes the sampler's calls out)
    assert not [funcs[r[0]] for r in cp["stats"] if funcs[r[0]][0].endswith("_sampler.py")]


def test_default_output_name(tmp_path):
    script = write_script(tmp_path, "x = 1\n", name="tiny.py")
    proc = subprocess.run([sys.executable, "-m", "profview", "record", str(script)],
                          cwd=str(tmp_path), env=env_with_path(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    made = [p for p in os.listdir(str(tmp_path)) if p.startswith("profview-tiny-")
            and p.endswith(".pvrec")]
    assert len(made) == 1
    assert "profview serve " in proc.stderr and made[0] in proc.stderr


def test_waiting_program_sample_count(tmp_path):
    script = write_script(tmp_path, """
        import time
        def wait_known_time():
            time.sleep(2.0)
        wait_known_time()
    """)
    proc, rec = run_record(tmp_path, script)
    assert proc.returncode == 0
    n = sum(s[5] for s in rec["stacks"]
            if func_name(rec, s[1][-1]) == "wait_known_time")
    assert 180 <= n <= 220, (n, rec["meta"])
    assert all(s[3] == 1 for s in rec["stacks"]
               if func_name(rec, s[1][-1]) == "wait_known_time") or sys.platform != "linux"
