"""Where an installed profview package finds its binary (the wheel's scripts entry, placed by
pip next to the install: --target DIR -> DIR/bin, --prefix P -> P's scripts dir), and
__version__'s one source. The real wheel is installed by scripts/test-wheel.sh."""

import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest

from conftest import PYTHON_DIR, REPO


def _layout(site, scripts):
    """Copy the package into SITE and put a fake (non-script) binary in SCRIPTS."""
    shutil.copytree(os.path.join(PYTHON_DIR, "profview"), os.path.join(site, "profview"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    os.makedirs(scripts, exist_ok=True)
    exe = os.path.join(scripts, "profview.exe" if os.name == "nt" else "profview")
    with open(exe, "wb") as f:
        f.write(b"\x7fELF fake")
    os.chmod(exe, 0o755)
    return exe


def _found(site, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PROFVIEW_BIN", "PYTHONPATH")}
    env["PYTHONPATH"] = site
    env["PATH"] = os.defpath
    out = subprocess.run([sys.executable, "-c",
                          "from profview import _cli; print(_cli.find_binary())"],
                         env=env, cwd=str(cwd), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(os.name == "nt", reason="POSIX layout")
def test_target_layout(tmp_path):
    target = str(tmp_path / "tgt")
    exe = _layout(target, os.path.join(target, "bin"))
    assert _found(target, tmp_path) == exe


@pytest.mark.skipif(os.name == "nt", reason="POSIX layout")
def test_prefix_layout(tmp_path):
    prefix = str(tmp_path / "pfx")
    v = {"base": prefix, "platbase": prefix}
    site = sysconfig.get_path("platlib", "posix_prefix", vars=v)
    exe = _layout(site, sysconfig.get_path("scripts", "posix_prefix", vars=v))
    assert exe == os.path.join(prefix, "bin", "profview")
    assert _found(site, tmp_path) == exe


def test_version_is_cargo_toml_workspace_version():
    import profview
    with open(os.path.join(REPO, "Cargo.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[workspace.package]", 1)[1].split("\n[", 1)[0]
    want = re.search(r'^version\s*=\s*"([^"]+)"', section, re.M).group(1)
    assert profview.__version__ == want
    assert "__version__" in profview.__all__
