"""The command line: ``python -m profview record ...``; other commands go to the binary."""

import os
import shlex
import shutil
import signal
import sys
import sysconfig
import threading
import time
import traceback

USAGE = """\
usage: python -m profview <command> [options]

commands:
  record [-o OUT] [--interval S] [--cprofile] [--upload URL] (script.py | -m module) [args...]
            run a Python program under the sampler (every thread, every INTERVAL seconds)
            and write a recording (.pvrec) when it ends, however it ends
  serve [FILE]...          open profiles and recordings in the browser   (profview binary)
  stats FILE... [--json]   print the function table                      (profview binary)
  export FILE --format F   write an SVG, folded stacks, pstats or JSON    (profview binary)

Commands other than 'record' run the profview binary: $PROFVIEW_BIN, else the 'profview'
executable installed with this package (pip puts it in the scripts directory of the same
install: the environment's, --user's, --prefix's, or DIR/bin for --target DIR), else one in this
Python's scripts directories, else on PATH, else target/release/profview of the repository
this package sits in.

'python -m profview record --help' lists record's options.
"""

RECORD_USAGE = """\
usage: python -m profview record [options] (script.py | -m module) [args...]

Runs the program as 'python script.py args' (or 'python -m module args') would, with the
profview sampler on, and writes the recording when the program ends: on a normal exit, on
sys.exit (its code is kept), on an uncaught exception (traceback printed, exit 1) and on
SIGINT/SIGTERM (then it exits as the signal would).

options:
  -o, --output OUT   where to write (default ./profview-<program>-<time>.pvrec; a name
                     ending in .gz is gzipped)
  --interval S       seconds between samples (default 0.01, with +-10% jitter)
  --cprofile         also run cProfile over the program: exact call counts and times next to
                     the samples (Python 3.12+: every thread; before 3.12: the main thread)
  --upload URL       then POST the recording to a running 'profview serve' at URL (default:
                     env PROFVIEW_URL when set); bearer token from env PROFVIEW_TOKEN
  --max-stacks N     cap on distinct stacks kept (default 100000)
  --max-depth N      frames kept per stack, root first (default 256)
  -h, --help         this text
"""


class _Signalled(BaseException):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class _UsageError(Exception):
    pass


def _exec_user(code, globs):
    exec(code, globs)


# ---------------------------------------------------------------------------------------------
# the binary


def _is_script(path):
    try:
        with open(path, "rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return True


def _scripts_dirs():
    dirs = [os.path.dirname(os.path.abspath(sys.executable))]
    schemes = [None]
    user = None
    get_pref = getattr(sysconfig, "get_preferred_scheme", None)
    if get_pref is not None:
        try:
            user = get_pref("user")
        except Exception:
            user = None
    if user is None:
        user = "nt_user" if os.name == "nt" else ("osx_framework_user"
                                                  if sys.platform == "darwin" and
                                                  sys._framework else "posix_user")
    schemes.append(user)
    for scheme in schemes:
        try:
            dirs.append(sysconfig.get_path("scripts", scheme) if scheme else
                        sysconfig.get_path("scripts"))
        except (KeyError, ValueError):
            pass
    try:
        dirs.append(sysconfig.get_path("scripts", vars={"base": sys.prefix,
                                                        "platbase": sys.prefix}))
    except (KeyError, ValueError):
        pass
    seen = []
    for d in dirs:
        if d and d not in seen:
            seen.append(d)
    return seen


def _install_scripts_dirs():
    """The scripts directories that go with the site directory this package was installed in.
    pip installs a wheel's package into a site directory and its binary into the scripts
    directory of the same scheme and base: ``--target DIR`` gives DIR/profview and DIR/bin;
    ``--prefix P`` gives P/lib/pythonX.Y/site-packages and P/bin; ``--user`` the user base's.
    Each scheme's site path is matched against the package's location to find its base."""
    site = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = [os.path.join(site, "bin")]  # pip install --target
    mark = os.path.join(os.path.abspath(os.sep), "profview-base-7f3a")
    names = ("base", "platbase", "userbase", "installed_base", "installed_platbase")
    marked = dict.fromkeys(names, mark)
    norm_site = os.path.normcase(os.path.normpath(site))
    for scheme in sysconfig.get_scheme_names():
        for key in ("platlib", "purelib"):
            try:
                tmpl = os.path.normcase(os.path.normpath(
                    sysconfig.get_path(key, scheme, vars=marked, expand=True)))
            except (KeyError, ValueError):
                continue
            norm_mark = os.path.normcase(mark)
            if not tmpl.startswith(norm_mark + os.sep):
                continue
            rel = tmpl[len(norm_mark):]
            if not norm_site.endswith(rel):
                continue
            base = site[:len(site) - len(rel)] or os.sep
            try:
                d = sysconfig.get_path("scripts", scheme, vars=dict.fromkeys(names, base),
                                       expand=True)
            except (KeyError, ValueError):
                continue
            if d not in dirs:
                dirs.append(d)
    return dirs


def find_binary():
    """The profview binary's path, or None. Order: $PROFVIEW_BIN, the scripts directory of
    the install this package came with (a wheel's binary; see _install_scripts_dirs), this
    Python's scripts directories (default, user and current-prefix schemes), PATH, the clone's
    target/release/profview."""
    env = os.environ.get("PROFVIEW_BIN")
    if env:
        return env
    exe = "profview.exe" if os.name == "nt" else "profview"
    for d in _install_scripts_dirs() + _scripts_dirs():
        p = os.path.join(d, exe)
        if os.path.isfile(p) and os.access(p, os.X_OK) and not _is_script(p):
            return p
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        p = shutil.which(exe, path=d) if d else None
        if p and not _is_script(p):  # skip wrapper scripts (e.g. one that runs python -m profview)
            return p
    here = os.path.dirname(os.path.abspath(__file__))
    repo = os.path.dirname(os.path.dirname(here))
    p = os.path.join(repo, "target", "release", exe)
    if os.path.isfile(os.path.join(repo, "Cargo.toml")) and os.path.isfile(p):
        return p
    return None


def run_binary(argv):
    exe = find_binary()
    if exe is None:
        sys.stderr.write(
            "profview: '%s' needs the profview binary, and none was found: set PROFVIEW_BIN, "
            "install it (it goes next to this Python's scripts), put it on PATH, or build it in "
            "a clone with ./scripts/build.sh (target/release/profview).\n" % argv[0])
        return 127
    if os.name == "nt":
        import subprocess
        return subprocess.call([exe] + list(argv))
    try:
        os.execv(exe, [exe] + list(argv))
    except OSError as e:
        sys.stderr.write("profview: cannot run %s: %s\n" % (exe, e))
        return 126


# ---------------------------------------------------------------------------------------------
# record


def _parse_record(argv):
    opts = {"out": None, "interval": 0.01, "cprofile": False, "upload": None,
            "max_stacks": 100_000, "max_depth": 256, "module": None, "script": None,
            "args": []}
    i = 0

    def value(name):
        nonlocal i
        if i + 1 >= len(argv):
            raise _UsageError("%s needs a value" % name)
        i += 1
        return argv[i]

    while i < len(argv):
        a = argv[i]
        if "=" in a and a.startswith("--"):
            a, v = a.split("=", 1)
            argv = argv[:i] + [a, v] + argv[i + 1:]
        if a in ("-h", "--help"):
            sys.stdout.write(RECORD_USAGE)
            raise SystemExit(0)
        elif a in ("-o", "--output"):
            opts["out"] = value(a)
        elif a == "--interval":
            try:
                opts["interval"] = float(value(a))
            except ValueError:
                raise _UsageError("--interval takes seconds, e.g. 0.01")
            if not opts["interval"] > 0:
                raise _UsageError("--interval must be > 0")
        elif a == "--cprofile":
            opts["cprofile"] = True
        elif a == "--upload":
            opts["upload"] = value(a)
        elif a in ("--max-stacks", "--max-depth"):
            try:
                n = int(value(a))
            except ValueError:
                raise _UsageError("%s takes a whole number" % a)
            if n < 1:
                raise _UsageError("%s must be >= 1" % a)
            opts[a[2:].replace("-", "_")] = n
        elif a == "-m":
            opts["module"] = value(a)
            opts["args"] = argv[i + 1:]
            return opts
        elif a == "--":
            i += 1
            break
        elif a.startswith("-") and a != "-":
            raise _UsageError("unknown option %s" % a)
        else:
            break
        i += 1
    if i >= len(argv):
        raise _UsageError("give a script to run (or -m module)")
    opts["script"] = argv[i]
    opts["args"] = argv[i + 1:]
    return opts


def _default_out(opts):
    stem = opts["module"] or os.path.splitext(os.path.basename(opts["script"]))[0]
    stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem) or "program"
    return "profview-%s-%s.pvrec" % (stem, time.strftime("%Y%m%d-%H%M%S"))


def _exit_code(e):
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _trim_tb(tb, boundaries):
    """The traceback from the frame after the last boundary (the user's own frames)."""
    t = tb
    start = tb
    while t is not None:
        if t.tb_frame.f_code in boundaries:
            start = t.tb_next
        t = t.tb_next
    return start if start is not None else tb


def _print_exc(et, ev, tb, boundaries):
    """Print the traceback as python would: from the program's own frames on."""
    tb = _trim_tb(tb, boundaries)
    try:
        ev = ev.with_traceback(tb)
    except Exception:
        pass
    sys.excepthook(et, ev, tb)


def _join_threads():
    """Wait for non-daemon threads, as the interpreter does before it exits."""
    me = threading.current_thread()
    while True:
        alive = [t for t in threading.enumerate()
                 if t is not me and not t.daemon and t.is_alive()]
        if not alive:
            return
        for t in alive:
            t.join()


def record(argv):
    try:
        opts = _parse_record(list(argv))
    except _UsageError as e:
        sys.stderr.write("profview record: %s\n\n%s" % (e, RECORD_USAGE))
        return 2
    import runpy
    from ._sampler import Sampler

    out = os.path.abspath(opts["out"] or _default_out(opts))
    upload_url = opts["upload"] or os.environ.get("PROFVIEW_URL") or None

    boundaries = {_exec_user.__code__}
    run_code = getattr(runpy, "_run_code", None)
    if run_code is not None and hasattr(run_code, "__code__"):
        boundaries.add(run_code.__code__)

    if opts["module"] is not None:
        import importlib.util
        modname = opts["module"]
        try:
            spec = importlib.util.find_spec(modname)
        except (ImportError, ValueError) as e:
            spec = None
            err = str(e)
        else:
            err = "No module named %s" % modname
        if spec is None:
            sys.stderr.write("profview record: %s\n" % err)
            return 1
        sys.argv = [modname] + list(opts["args"])

        def run():
            runpy.run_module(modname, run_name="__main__", alter_sys=True)
    else:
        script = opts["script"]
        try:
            import io
            with io.open_code(script) as f:
                source = f.read()
            compiled = compile(source, script, "exec")
        except OSError as e:
            sys.stderr.write("profview record: can't open file %r: %s\n" % (script, e.strerror))
            return 2
        except SyntaxError:
            traceback.print_exc(limit=0)
            return 1
        sys.argv = [script] + list(opts["args"])
        sys.path[0] = os.path.dirname(os.path.abspath(script))
        import builtins
        import types
        main_mod = types.ModuleType("__main__")
        main_mod.__dict__.update({"__file__": script, "__builtins__": builtins,
                                  "__cached__": None, "__package__": None, "__spec__": None})

        def run():
            sys.modules["__main__"] = main_mod
            _exec_user(compiled, main_mod.__dict__)

    sampler = Sampler(interval=opts["interval"], max_stacks=opts["max_stacks"],
                      max_depth=opts["max_depth"])
    for c in boundaries:
        sampler.add_boundary(c)
    sampler.meta["argv"] = list(sys.argv)

    # Signals: while the program runs, SIGTERM raises (so the recording gets written) and
    # SIGINT is KeyboardInterrupt as usual; afterwards both are held until the file is written.
    state = {"running": True, "pending": None}

    def on_signal(signum, frame):
        if state["running"]:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise _Signalled(signum)
        if state["pending"] is None:
            state["pending"] = signum

    installed = {}
    for name in ("SIGTERM", "SIGINT", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            current = signal.getsignal(signum)
        except (ValueError, OSError):
            continue
        expected = signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL
        if current is expected:
            try:
                signal.signal(signum, on_signal)
                installed[signum] = current
            except (ValueError, OSError):
                pass

    prof = None
    if opts["cprofile"]:
        import cProfile
        prof = cProfile.Profile()
    reason, code, sig, reraise = "exit", 0, None, None
    sampler.start()
    try:
        try:
            if prof is not None:
                prof.enable()
            try:
                run()
            finally:
                if prof is not None:
                    prof.disable()
        except SystemExit as e:
            code, reraise = _exit_code(e), e
        except KeyboardInterrupt:
            reason, code, sig = "signal", 128 + signal.SIGINT, "SIGINT"
            et, ev, tb = sys.exc_info()
            _print_exc(et, ev, tb, boundaries)
        except _Signalled as e:
            reason, code = "signal", 128 + e.signum
            sig = signal.Signals(e.signum).name
        except BaseException:
            reason, code = "exception", 1
            et, ev, tb = sys.exc_info()
            _print_exc(et, ev, tb, boundaries)
            del et, ev, tb
        if reason != "signal":
            try:
                _join_threads()
            except KeyboardInterrupt:
                reason, code, sig = "signal", 128 + signal.SIGINT, "SIGINT"
            except _Signalled as e:
                reason, code = "signal", 128 + e.signum
                sig = signal.Signals(e.signum).name
    finally:
        state["running"] = False
    rec_code = code if reason != "signal" else None
    sampler.meta["cprofile_threads"] = (None if prof is None else
                                        ("all" if sys.version_info >= (3, 12) else "main"))
    if prof is not None:
        sampler.cprofile = prof
    try:
        rec = sampler.stop(reason=reason, code=rec_code, signal=sig)
    except Exception as e:  # never lose the program's outcome to a recorder bug
        sys.stderr.write("profview: could not build the recording: %r\n" % (e,))
        rec = None
    written = False
    if rec is not None:
        try:
            sampler.write(out, rec)
            written = True
        except OSError as e:
            sys.stderr.write("profview: could not write the recording to %s: %s\n" % (out, e))
    if written:
        m = rec["meta"]
        sys.stderr.write(
            "profview: recording written to %s (%d samples of %d threads over %.1f s, %.0f Hz%s)\n"
            "profview: show it with: profview serve %s\n" % (
                out, m["samples"], len(rec["threads"]), m["duration"], m["achieved_hz"],
                ", with cProfile" if prof is not None else "", shlex.quote(out)))
        if upload_url:
            from ._upload import UploadError, upload
            try:
                answer = upload(out, upload_url)
                sys.stderr.write("profview: uploaded: %s\n" % answer["link"])
            except UploadError as e:
                sys.stderr.write("profview: %s\nprofview: the recording is kept at %s\n"
                                 % (e, out))
    sys.stderr.flush()

    if state["pending"] is not None and reason != "signal":
        reason, code = "signal", 128 + state["pending"]
        sig = signal.Signals(state["pending"]).name
    if reason == "signal":
        signum = code - 128
        try:
            sys.stdout.flush()
        except Exception:
            pass
        if hasattr(os, "kill"):
            try:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            except (OSError, ValueError):
                pass
        return code
    for signum, handler in installed.items():
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError):
            pass
    if reraise is not None:
        raise reraise
    if not written and code == 0:
        return 1
    return code


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from . import __version__
        sys.stdout.write("profview (Python recorder) %s\n" % __version__)
        return 0
    if argv[0] == "record":
        return record(argv[1:])
    return run_binary(argv)
