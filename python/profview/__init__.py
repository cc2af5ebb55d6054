"""profview's Python recorder.

- ``with profview.sample(path="run.pvrec"):`` samples every thread while the block runs and
  writes the recording on exit.
- ``profview.start(path=None)`` / ``profview.stop()`` do the same without a block;
  ``profview.Sampler`` is the class behind both (``start``, ``stop``, ``snapshot``, ``write``,
  ``reset``) for long-running processes.
- ``@profview.targeted(every=N)`` runs cProfile over 1 in N calls of a function.
- ``profview.ProfileMiddleware`` (WSGI) and ``profview.ASGIProfileMiddleware`` profile 1 in N
  requests.
- ``%load_ext profview`` in IPython/Jupyter: ``%profview STATEMENT`` and ``%%profview`` profile
  code and show the dashboard inline (docs/jupyter.md; IPython is imported only then).
- ``python -m profview record script.py`` records a whole program; ``python -m profview serve``
  (and every other command) runs the ``profview`` binary.

The file format is docs/recording-format.md; usage is docs/recorder.md.
"""

import threading as _threading

from ._cprofile import attach_cprofile
from ._middleware import ASGIProfileMiddleware, ProfileMiddleware
from ._sampler import DEFAULT_INTERVAL, Sampler
from ._targeted import Targeted, targeted
from ._upload import UploadError, upload, upload_bytes
from ._writer import read_recording, write_recording


def __getattr__(name):
    # ``__version__`` is computed on first use (Cargo.toml in a clone, else the installed
    # metadata; profview._version), so importing profview reads no file.
    if name == "__version__":
        from ._version import version
        v = globals()["__version__"] = version()
        return v
    raise AttributeError("module 'profview' has no attribute %r" % (name,))


__all__ = [
    "Sampler", "sample", "start", "stop", "targeted", "Targeted", "ProfileMiddleware",
    "ASGIProfileMiddleware", "upload", "upload_bytes", "UploadError", "write_recording",
    "read_recording", "attach_cprofile", "load_ipython_extension", "__version__",
]

_global_lock = _threading.Lock()
_global = None


def sample(path=None, interval=DEFAULT_INTERVAL, **options):
    """A :class:`Sampler` to use as a context manager: it samples while the ``with`` block
    runs and, when ``path`` is given, writes the recording there on exit (``.gz``: gzipped).
    The recording dict is the sampler's ``recording`` attribute afterwards."""
    return Sampler(interval=interval, path=path, **options)


def start(path=None, interval=DEFAULT_INTERVAL, **options):
    """Start the process-wide sampler; :func:`stop` ends it. Returns the Sampler."""
    global _global
    with _global_lock:
        if _global is not None and _global.running:
            raise RuntimeError("profview.start(): already sampling (call profview.stop())")
        _global = Sampler(interval=interval, path=path, **options)
        _global.start()
        return _global


def stop():
    """Stop the sampler started by :func:`start`; writes the recording to its ``path`` when
    one was given, and returns the recording dict."""
    global _global
    with _global_lock:
        s = _global
        _global = None
    if s is None:
        raise RuntimeError("profview.stop(): not sampling (call profview.start() first)")
    rec = s.stop()
    if s.path is not None:
        s.write(s.path, rec)
    return rec


def load_ipython_extension(ipython):
    """``%load_ext profview``: registers the ``%profview`` / ``%%profview`` magics."""
    from ._jupyter import load_ipython_extension as load
    load(ipython)
