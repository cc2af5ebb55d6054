"""Round trips through the Rust binary (the recording importer, docs/recording-format.md).

It expects `profview stats --json FILE` to read a
recording and answer with the report of server/src/report.rs (`json_report`): exit 0 and
"functions" rows with name/file/line, `self`/`total` (sampled seconds) and, for a recording
with a cProfile section, `ncalls`/`primcalls`/`tottime`/`cumtime`.

The binary: env PROFVIEW_BIN, else target/release/profview in this repository. When it is
missing the tests FAIL (they are not skipped).
"""

import json
import os
import re
import subprocess
import urllib.request

import pytest

from conftest import REPO, run_record, write_script


def profview_binary():
    exe = os.environ.get("PROFVIEW_BIN") or os.path.join(REPO, "target", "release", "profview")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        pytest.fail("the profview binary is missing (%s): build it with ./scripts/build.sh or "
                    "set PROFVIEW_BIN; this round-trip test needs it" % exe)
    return exe


PROGRAM = """
    import threading, time
    def spin_for_roundtrip(seconds):
        end = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < end:
            n += 1
        return n
    def counted_for_roundtrip(i):
        return i * 2
    def main():
        t = threading.Thread(target=spin_for_roundtrip, args=(0.6,), name="rt-worker")
        t.start()
        for i in range(77):
            counted_for_roundtrip(i)
        spin_for_roundtrip(0.3)
        t.join()
    main()
"""


def stats_json(path):
    exe = profview_binary()
    p = subprocess.run([exe, "stats", "--json", str(path)], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, "profview stats --json failed (%d): %s" % (p.returncode, p.stderr)
    return json.loads(p.stdout)


def rows_named(report, name):
    return [r for r in report["functions"] if r.get("name") == name
            or str(r.get("name", "")).endswith("." + name)]


@pytest.mark.parametrize("gz", [False, True])
def test_sampled_recording_round_trip(tmp_path, gz):
    script = write_script(tmp_path, PROGRAM)
    proc, rec = run_record(tmp_path, script)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / ("rt.pvrec.gz" if gz else "rt.pvrec")
    from profview import write_recording
    write_recording(rec, str(path))
    report = stats_json(path)
    assert report["format"] == "recording"
    rows = rows_named(report, "spin_for_roundtrip")
    assert rows, [r.get("name") for r in report["functions"]][:50]
    row = rows[0]
    assert row["file"] == str(script)
    assert isinstance(row["self"], (int, float)) and row["self"] > 0
    assert isinstance(row["total"], (int, float)) and row["total"] >= row["self"]
    names = [t["name"] for t in report["threads"]]
    assert "rt-worker" in names and "MainThread" in names


def test_hybrid_recording_round_trip(tmp_path):
    script = write_script(tmp_path, PROGRAM)
    proc, rec = run_record(tmp_path, script, record_args=["--cprofile"])
    assert proc.returncode == 0, proc.stderr
    report = stats_json(tmp_path / "out.pvrec")
    counted = rows_named(report, "counted_for_roundtrip")
    assert counted and counted[0]["ncalls"] == 77
    spin = rows_named(report, "spin_for_roundtrip")[0]
    assert spin["ncalls"] >= 1 and spin["cumtime"] > 0
    assert spin["self"] is not None and spin["total"] > 0


def test_record_upload_to_a_real_server(tmp_path):
    """`record --upload` posts to a running `profview serve`: the link it prints serves the
    recording, listed as a hybrid (format recording, with calls)."""
    exe = profview_binary()
    server = subprocess.Popen([exe, "serve", "--in-memory", "--host", "127.0.0.1", "--port", "0",
                               "--no-browser"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        line = server.stdout.readline()
        while line and "serving at" not in line:
            line = server.stdout.readline()
        m = re.search(r"serving at (http://\S+)", line)
        assert m, "server did not start: %r" % line
        base = m.group(1).split("/p/")[0].rstrip("/")
        script = write_script(tmp_path, PROGRAM)
        proc, rec = run_record(tmp_path, script, record_args=["--cprofile", "--upload", base])
        assert proc.returncode == 0, proc.stderr
        link = re.search(r"(http://\S+/p/[0-9a-f]{32})", proc.stderr)
        assert link, proc.stderr
        pid = link.group(1).rsplit("/", 1)[1]
        with urllib.request.urlopen(base + "/api/profiles") as r:
            listed = json.loads(r.read())
        mine = [p for p in listed if p["id"] == pid]
        assert mine and mine[0]["format"] == "recording" and mine[0]["calls"] > 0, listed
        with urllib.request.urlopen(base + "/api/profiles/%s/functions?limit=500" % pid) as r:
            page = json.loads(r.read())
        counted = [row for row in page["rows"] if row["name"].endswith("counted_for_roundtrip")]
        assert counted and counted[0]["ncalls"] == 77, page["rows"][:5]
        # The local file is kept as well.
        assert rec is not None and rec["cprofile"] is not None
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_record_upload_sends_profview_token_to_a_server_with_a_token_file(tmp_path):
    """A server started with --token-file refuses `record --upload` without PROFVIEW_TOKEN (401,
    the message says to set it) and stores the recording when PROFVIEW_TOKEN holds a token."""
    exe = profview_binary()
    tokens = tmp_path / "tokens"
    tokens.write_text("# team\nrecorder-token-9\n")
    server = subprocess.Popen([exe, "serve", "--in-memory", "--host", "127.0.0.1", "--port", "0",
                               "--no-browser", "--token-file", str(tokens)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        while line and "serving at" not in line:
            line = server.stdout.readline()
        m = re.search(r"serving at (http://\S+)", line)
        assert m, "server did not start: %r" % line
        base = m.group(1).split("/p/")[0].rstrip("/")
        script = write_script(tmp_path, PROGRAM)
        proc, _ = run_record(tmp_path, script, record_args=["--upload", base])
        assert "401" in proc.stderr and "PROFVIEW_TOKEN" in proc.stderr, proc.stderr
        with urllib.request.urlopen(base + "/api/profiles") as r:
            assert json.loads(r.read()) == []
        proc, _ = run_record(tmp_path, script, record_args=["--upload", base],
                             env={"PROFVIEW_TOKEN": "recorder-token-9"})
        assert proc.returncode == 0, proc.stderr
        link = re.search(r"(http://\S+/p/[0-9a-f]{32})", proc.stderr)
        assert link, proc.stderr
        with urllib.request.urlopen(base + "/api/profiles") as r:
            listed = json.loads(r.read())
        assert [p["id"] for p in listed] == [link.group(1).rsplit("/", 1)[1]]
    finally:
        server.terminate()
        server.wait(timeout=30)
