"""Pushing files to a profview server: path, body, token, errors, and record --upload."""

import subprocess
import sys
import urllib.parse

import pytest

import profview
from conftest import env_with_path, write_script


def test_upload_posts_raw_bytes_with_token(tmp_path, stub_server, monkeypatch):
    srv = stub_server()
    f = tmp_path / "my run.pvrec"
    f.write_bytes(b'{"format":"profview-recording"}')
    monkeypatch.setenv("PROFVIEW_TOKEN", "s3cret")
    answer = profview.upload(str(f), srv.url + "/")
    assert answer["link"] == srv.url + "/p/abc123" and answer["id"] == "abc123"
    (req,) = srv.requests
    u = urllib.parse.urlsplit(req["path"])
    assert u.path == "/api/profiles"
    assert urllib.parse.parse_qs(u.query) == {"name": ["my run.pvrec"]}
    assert req["body"] == f.read_bytes()
    assert req["headers"]["Authorization"] == "Bearer s3cret"


def test_no_token_no_header(tmp_path, stub_server, monkeypatch):
    monkeypatch.delenv("PROFVIEW_TOKEN", raising=False)
    srv = stub_server()
    profview.upload_bytes(b"xyz", srv.url, "a.prof")
    assert "Authorization" not in srv.requests[0]["headers"]


def test_401_says_what_to_do(stub_server, monkeypatch):
    monkeypatch.delenv("PROFVIEW_TOKEN", raising=False)
    srv = stub_server(status=401)
    with pytest.raises(profview.UploadError) as e:
        profview.upload_bytes(b"xyz", srv.url, "a.prof")
    assert e.value.status == 401
    assert "401" in str(e.value) and "PROFVIEW_TOKEN" in str(e.value)


def test_record_upload(tmp_path, stub_server):
    srv = stub_server()
    script = write_script(tmp_path, "import time\ntime.sleep(0.1)\n")
    out = tmp_path / "up.pvrec"
    p = subprocess.run([sys.executable, "-m", "profview", "record", "-o", str(out), "--upload",
                        srv.url, str(script)], cwd=str(tmp_path),
                       env=env_with_path({"PROFVIEW_TOKEN": "tok"}), capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "uploaded: " + srv.url + "/p/abc123" in p.stderr
    (req,) = srv.requests
    assert req["body"] == out.read_bytes()
    assert req["headers"]["Authorization"] == "Bearer tok"
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(req["path"]).query)["name"] == \
        ["up.pvrec"]


def test_record_upload_failure_keeps_file(tmp_path, stub_server):
    srv = stub_server(status=401)
    script = write_script(tmp_path, "x = 1\n")
    out = tmp_path / "kept.pvrec"
    p = subprocess.run([sys.executable, "-m", "profview", "record", "-o", str(out), str(script)],
                       cwd=str(tmp_path), env=env_with_path({"PROFVIEW_URL": srv.url}),
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0
    assert "401" in p.stderr and "PROFVIEW_TOKEN" in p.stderr
    assert "kept at " + str(out) in p.stderr
    assert out.exists() and profview.read_recording(str(out))["format"] == "profview-recording"
