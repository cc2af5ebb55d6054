"""Writing recordings: JSON ("format" first), gzipped when the name ends with .gz, atomically."""

import gzip
import json
import os
import tempfile

__all__ = ["write_recording", "dumps_recording", "atomic_write_bytes", "read_recording"]


def dumps_recording(recording):
    """The recording as UTF-8 JSON bytes, with "format" as the first key."""
    ordered = {"format": recording.get("format", "profview-recording")}
    for k, v in recording.items():
        if k != "format":
            ordered[k] = v
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def encode_recording(recording, path):
    data = dumps_recording(recording)
    if str(path).endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    return data


def atomic_write_bytes(path, data):
    """Write to a temporary file beside ``path``, then rename it over ``path``."""
    path = os.fspath(path)
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def write_recording(recording, path):
    """Write ``recording`` to ``path`` (gzipped for ``*.gz``) atomically; returns the path."""
    return atomic_write_bytes(path, encode_recording(recording, path))


def read_recording(path):
    """Read a recording written by write_recording (gzipped or not)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data.decode("utf-8"))
