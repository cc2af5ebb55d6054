"""python -m profview: help, and handing other commands to the profview binary."""

import os
import shutil
import stat
import subprocess
import sys

import pytest

from conftest import env_with_path
from profview import _cli


def run(args, env=None):
    return subprocess.run([sys.executable, "-m", "profview"] + args, env=env_with_path(env),
                          capture_output=True, text=True, timeout=60)


def test_help_lists_commands():
    p = run(["--help"])
    assert p.returncode == 0
    for cmd in ("record", "serve", "stats", "export"):
        assert cmd in p.stdout
    p = run(["record", "--help"])
    assert p.returncode == 0 and "--cprofile" in p.stdout and "--upload" in p.stdout


@pytest.mark.skipif(os.name == "nt", reason="POSIX exec")
def test_other_commands_exec_the_binary(tmp_path):
    fake = tmp_path / "fakebin"
    fake.write_text("#!/bin/sh\necho \"fake profview: $*\"\nexit 7\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    p = run(["stats", "--json", "some file.pvrec"], env={"PROFVIEW_BIN": str(fake)})
    assert p.returncode == 7
    assert p.stdout.strip() == "fake profview: stats --json some file.pvrec"


@pytest.mark.skipif(os.name == "nt", reason="POSIX paths")
def test_binary_on_path_and_scripts_skipped(tmp_path, monkeypatch):
    monkeypatch.delenv("PROFVIEW_BIN", raising=False)
    monkeypatch.setattr(_cli, "_scripts_dirs", lambda: [])
    d = tmp_path / "bin"
    d.mkdir()
    script = d / "profview"
    script.write_text("#!/bin/sh\nexec python -m profview \"$@\"\n")  # a wrapper, not the binary
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(d))
    found = _cli.find_binary()
    assert found != str(script)
    d2 = tmp_path / "bin2"
    d2.mkdir()
    real = d2 / "profview"
    shutil.copy(sys.executable if not os.path.islink(sys.executable)
                else os.path.realpath(sys.executable), str(real))
    monkeypatch.setenv("PATH", str(d) + os.pathsep + str(d2))
    assert _cli.find_binary() == str(real)
    # the scripts directories come before PATH
    d3 = tmp_path / "scripts"
    d3.mkdir()
    shutil.copy(str(real), str(d3 / "profview"))
    monkeypatch.setattr(_cli, "_scripts_dirs", lambda: [str(d3)])
    assert _cli.find_binary() == str(d3 / "profview")


def test_missing_binary_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setattr(_cli, "find_binary", lambda: None)
    assert _cli.main(["serve", "x.prof"]) == 127
    err = capsys.readouterr().err
    assert "PROFVIEW_BIN" in err and "serve" in err


def test_scripts_dirs_include_this_python():
    dirs = _cli._scripts_dirs()
    assert os.path.dirname(os.path.abspath(sys.executable)) in dirs
    import sysconfig
    assert sysconfig.get_path("scripts") in dirs
