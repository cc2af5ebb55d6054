"""``profview.__version__``, from the one place the version is written: ``[workspace.package]
version`` in the repository's Cargo.toml. An installed wheel carries it in its metadata (maturin
copies it there); a clone (``PYTHONPATH=python``) reads Cargo.toml itself."""

import os
import re


def _from_clone():
    pkg = os.path.dirname(os.path.abspath(__file__))
    python_dir = os.path.dirname(pkg)
    if os.path.basename(python_dir) != "python":
        return None
    try:
        with open(os.path.join(os.path.dirname(python_dir), "Cargo.toml"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r'^\[workspace\.package\]\s*$(.*?)^\[', text + "\n[", re.M | re.S)
    if m is None:
        return None
    v = re.search(r'^version\s*=\s*"([^"]+)"', m.group(1), re.M)
    return v.group(1) if v else None


def _from_metadata():
    try:
        from importlib.metadata import version
        return version("profview")
    except Exception:
        return None


def version():
    """The version: the clone's Cargo.toml, else the installed distribution's metadata."""
    return _from_clone() or _from_metadata() or "0+unknown"
