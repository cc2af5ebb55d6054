"""IPython / Jupyter: ``%load_ext profview``, then ``%profview STATEMENT`` or a ``%%profview``
cell profiles the code and shows the dashboard inline, as the self-contained HTML report of
``profview export --format html`` in an ``<iframe srcdoc>``.

Imported only by ``profview.load_ipython_extension``: ``import profview`` does not import
IPython, and IPython is not a dependency of the package.
"""

import ast
import html
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

__all__ = ["load_ipython_extension", "parse_args", "iframe_html", "MagicUsageError"]

DEFAULT_HEIGHT = 600
DEFAULT_SORT = "cumulative"
DEFAULT_LIMIT = 30
EXPORT_TIMEOUT = 300.0
# The report runs scripts (the app and its WASM); it needs nothing else. No allow-same-origin:
# the report gets an opaque origin and cannot reach the notebook page, its cookies or its
# kernel. allow-popups (+ to escape the sandbox) lets links the report opens work normally.
SANDBOX = "allow-scripts allow-popups allow-popups-to-escape-sandbox"

USAGE = """\
%profview [options] STATEMENT        profile one statement (its value is returned)
%%profview [options]                 profile the whole cell
  (the code runs in the notebook's namespace; an exception still shows the profile, then
  propagates)

options:
  --sample           use profview's sampler (every thread, every INTERVAL seconds) instead of
                     cProfile; the profile is a recording (.pvrec)
  --interval S       seconds between samples with --sample (default 0.01)
  --cprofile         with --sample: run cProfile too (exact call counts next to the samples)
  -o, --output FILE  save the profile there (pstats for cProfile, a .pvrec recording with
                     --sample; a name ending in .gz is gzipped)
  --upload URL       also POST the profile to a running 'profview serve' at URL (env
                     PROFVIEW_URL when URL is '-'); bearer token from env PROFVIEW_TOKEN
  --height PX        height of the inline dashboard (default 600)
  --text             show the text table instead of the dashboard (also the fallback when the
                     profview binary is missing or cannot export HTML)
  --sort KEY         sort key of the text table (pstats keys; default cumulative)
  --limit N          rows of the text table (default 30)
  --no-display       show nothing (with -o or --upload)
  -h, --help         this text

The dashboard is made by the profview binary ('profview export --format html'): env
PROFVIEW_BIN, else a 'profview' in this Python's scripts directories, on PATH, or
target/release/profview of the clone this package sits in.
"""


class MagicUsageError(Exception):
    pass


def parse_args(line):
    """Split ``line`` into (options dict, statement). Options come first; the statement is the
    rest of the line exactly as written (``--`` ends the options)."""
    opts = {"sample": False, "interval": 0.01, "cprofile": False, "output": None,
            "upload": None, "height": DEFAULT_HEIGHT, "text": False, "sort": DEFAULT_SORT,
            "limit": DEFAULT_LIMIT, "display": True, "help": False}
    rest = line.lstrip()

    def next_token(s):
        s = s.lstrip()
        if not s:
            return None, s
        parts = s.split(None, 1)
        return parts[0], (parts[1] if len(parts) > 1 else "")

    def take_value(name, inline, s):
        if inline is not None:
            return inline, s
        s = s.lstrip()
        if s[:1] in ("'", '"'):  # a quoted value may hold spaces: -o "my run.prof"
            end = s.find(s[0], 1)
            if end < 0:
                raise MagicUsageError("%s: unclosed quote" % name)
            return s[1:end], s[end + 1:]
        tok, s = next_token(s)
        if tok is None:
            raise MagicUsageError("%s needs a value" % name)
        return tok, s

    while rest.startswith("-"):
        tok, after = next_token(rest)
        if tok == "--":
            rest = after
            break
        name, inline = tok, None
        if tok.startswith("--") and "=" in tok:
            name, inline = tok.split("=", 1)
        elif tok.startswith("-o") and len(tok) > 2 and not tok.startswith("--"):
            name, inline = "-o", tok[2:]
        if name in ("-h", "--help"):
            opts["help"] = True
        elif name == "--sample":
            opts["sample"] = True
        elif name == "--cprofile":
            opts["cprofile"] = True
        elif name == "--text":
            opts["text"] = True
        elif name == "--no-display":
            opts["display"] = False
        elif name in ("-o", "--output"):
            opts["output"], after = take_value(name, inline, after)
        elif name == "--upload":
            opts["upload"], after = take_value(name, inline, after)
        elif name == "--sort":
            opts["sort"], after = take_value(name, inline, after)
        elif name == "--interval":
            v, after = take_value(name, inline, after)
            try:
                opts["interval"] = float(v)
            except ValueError:
                raise MagicUsageError("--interval takes seconds, e.g. 0.01")
            if not opts["interval"] > 0:
                raise MagicUsageError("--interval must be > 0")
        elif name in ("--height", "--limit"):
            v, after = take_value(name, inline, after)
            try:
                n = int(v)
            except ValueError:
                raise MagicUsageError("%s takes a whole number" % name)
            if n < 1:
                raise MagicUsageError("%s must be >= 1" % name)
            opts[name[2:]] = n
        else:
            # Not one of ours: the statement starts here (e.g. "-x + 1").
            break
        rest = after.lstrip()
    if opts["cprofile"] and not opts["sample"]:
        raise MagicUsageError("--cprofile goes with --sample (cProfile is the default profiler)")
    return opts, rest


def iframe_html(report, height=DEFAULT_HEIGHT):
    """The report (a whole HTML document) in a sandboxed ``<iframe srcdoc>``. The markup is
    ASCII (other characters as character references), so the srcdoc the browser hands the
    report is the same text whatever encoding the host page is read with: the report's CSP
    allows its inline scripts by their SHA-256."""
    doc = html.escape(report, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return ('<iframe class="profview-report" data-testid="profview-report" '
            'title="profview report" srcdoc="%s" '
            'style="width:100%%;height:%dpx;border:0" sandbox="%s"></iframe>'
            % (doc, int(height), SANDBOX))


# ---------------------------------------------------------------------------------------------
# running the code


def _exec_code(code, globs, locs):
    exec(code, globs, locs)


def _eval_code(code, globs, locs):
    return eval(code, globs, locs)


def _compile_source(shell, source, filename):
    """(exec code, eval code or None): the last statement, when it is an expression, is
    evaluated on its own so its value can be returned (as ``%time`` does)."""
    flags = getattr(getattr(shell, "compile", None), "flags", 0) or 0
    tree = ast.parse(source, filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    body = compile(tree, filename, "exec", flags, True)
    expr = compile(last, filename, "eval", flags, True) if last is not None else None
    return body, expr


def _filename_for(shell, source):
    comp = getattr(shell, "compile", None)
    cache = getattr(comp, "cache", None)
    if cache is not None:
        try:
            return cache(source)
        except Exception:
            pass
    return "<profview>"


class _Run:
    """What one magic call profiled: ``kind`` "pstats" or "recording", the profile written to
    ``path``, the value of the last expression, the exception raised (if any)."""

    def __init__(self):
        self.kind = None
        self.path = None
        self.value = None
        self.error = None
        self.pstats = None      # pstats.Stats (cProfile)
        self.recording = None   # recording dict (--sample)


def _run_profiled(shell, source, opts, path):
    filename = _filename_for(shell, source)
    body, expr = _compile_source(shell, source, filename)
    globs = shell.user_global_ns
    locs = shell.user_ns
    run = _Run()
    run.path = path

    def go():
        _exec_code(body, globs, locs)
        if expr is not None:
            run.value = _eval_code(expr, globs, locs)

    if opts["sample"]:
        from ._sampler import Sampler
        run.kind = "recording"
        sampler = Sampler(interval=opts["interval"])
        sampler.add_boundary(_exec_code.__code__)
        sampler.add_boundary(_eval_code.__code__)
        sampler.meta["argv"] = ["%profview"]
        prof = None
        if opts["cprofile"]:
            import cProfile
            prof = cProfile.Profile()
        sampler.start()
        reason = "exit"
        try:
            try:
                if prof is not None:
                    prof.enable()
                try:
                    go()
                finally:
                    if prof is not None:
                        prof.disable()
            except BaseException as e:  # shown after the profile; re-raised by the caller
                run.error = e
                reason = "exception"
        finally:
            if prof is not None:
                sampler.meta["cprofile_threads"] = ("all" if sys.version_info >= (3, 12)
                                                    else "main")
                sampler.cprofile = prof
            rec = sampler.stop(reason=reason, code=None if reason == "exit" else 1)
        _drop_magic_samples(rec, threading.get_ident())
        run.recording = rec
        sampler.write(path, rec)
    else:
        import cProfile
        import pstats
        run.kind = "pstats"
        prof = cProfile.Profile()
        try:
            prof.enable()
        except ValueError as e:  # 3.12+: another profiler (sys.monitoring tool) is active
            raise RuntimeError("profview: cProfile cannot start here: %s (try --sample)" % e) \
                from None
        try:  # inline, so the profile holds only builtins.exec/eval above the user's code
            exec(body, globs, locs)
            if expr is not None:
                run.value = eval(expr, globs, locs)
        except BaseException as e:  # shown after the profile; re-raised by the caller
            run.error = e
        finally:
            prof.disable()
        run.pstats = pstats.Stats(prof)
        _dump_pstats(run.pstats, path)
    return run


def _drop_magic_samples(rec, ident):
    """Drop the samples the running thread took outside the user's code (while the sampler
    started or stopped): inside it, stacks are cut at the boundary and hold none of the
    magic's own functions."""
    mine = {i for i, t in enumerate(rec["threads"]) if t[0] == ident}
    own = {i for i, f in enumerate(rec["functions"]) if f[0] == __file__}
    kept, dropped = [], 0
    for st in rec["stacks"]:
        if st[0] in mine and own.intersection(st[1]):
            dropped += st[5]
        else:
            kept.append(st)
    if dropped:
        rec["stacks"] = kept
        rec["meta"]["samples"] = max(0, rec["meta"].get("samples", 0) - dropped)


def _dump_pstats(st, path):
    if path.endswith(".gz"):
        import gzip
        import marshal
        data = marshal.dumps(st.stats)
        tmp = path + ".tmp"
        with gzip.open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    else:
        st.dump_stats(path)


# ---------------------------------------------------------------------------------------------
# showing it


def _export_html(path):
    """(html text, None) from ``profview export PATH --format html``, or (None, why not)."""
    from ._cli import find_binary
    exe = find_binary()
    if exe is None:
        return None, ("the profview binary was not found (set PROFVIEW_BIN, put 'profview' on "
                      "PATH, or build target/release/profview with ./scripts/build.sh)")
    out_dir = tempfile.mkdtemp(prefix="profview-html-")
    out = os.path.join(out_dir, "report.html")
    try:
        try:
            p = subprocess.run([exe, "export", path, "--format", "html", "-o", out],
                               stdin=subprocess.DEVNULL, capture_output=True,
                               timeout=EXPORT_TIMEOUT)
        except (OSError, subprocess.SubprocessError) as e:
            return None, "could not run %s: %s" % (exe, e)
        if p.returncode != 0 or not os.path.isfile(out):
            err = p.stderr.decode("utf-8", "replace").strip().splitlines()
            detail = " ".join(err[-3:]) if err else "no message"
            return None, ("'%s export --format html' failed (exit %d: %s); a binary older than "
                          "HTML export cannot make the dashboard" % (exe, p.returncode, detail))
        with open(out, "rb") as f:
            return f.read().decode("utf-8", "replace"), None
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)


def _recording_text(rec, limit):
    """A small self/total table of a recording's non-idle samples (the text fallback)."""
    funcs = rec.get("functions") or []
    self_w, total_w = {}, {}
    total = 0.0
    for stack in rec.get("stacks") or []:
        _t, frames, _line, idle, _trunc, _count, wall = stack[:7]
        if idle or not frames:
            continue
        total += wall
        self_w[frames[-1]] = self_w.get(frames[-1], 0.0) + wall
        for f in set(frames):
            total_w[f] = total_w.get(f, 0.0) + wall
    meta = rec.get("meta") or {}
    lines = ["%d samples over %.3f s (%.0f Hz); %.3f s not idle"
             % (meta.get("samples", 0), meta.get("duration", 0.0), meta.get("achieved_hz", 0.0),
                total), "",
             "%10s %10s  %s" % ("self s", "total s", "function")]
    for f in sorted(total_w, key=lambda k: (-self_w.get(k, 0.0), -total_w[k]))[:limit]:
        file, line, name = (funcs[f] + [None, None, None])[:3] if f < len(funcs) else \
            ("?", 0, "?")
        lines.append("%10.4f %10.4f  %s (%s:%s)" % (self_w.get(f, 0.0), total_w[f], name, file,
                                                    line))
    return "\n".join(lines) + "\n"


def _text_report(run, opts):
    if run.kind == "pstats":
        buf = io.StringIO()
        st = run.pstats
        st.stream = buf
        try:
            st.sort_stats(opts["sort"])
        except KeyError:
            buf.write("profview: unknown --sort key %r; using cumulative\n" % opts["sort"])
            st.sort_stats(DEFAULT_SORT)
        st.print_stats(opts["limit"])
        return buf.getvalue()
    return _recording_text(run.recording, opts["limit"])


def _is_terminal(shell):
    return type(shell).__name__ == "TerminalInteractiveShell"


def _show(shell, run, opts, link):
    from IPython.display import display
    if opts["text"] or _is_terminal(shell):
        sys.stdout.write(_text_report(run, opts))
        return
    report, why = _export_html(run.path)
    if report is None:
        sys.stderr.write("profview: no dashboard: %s. Showing the text report.\n" % why)
        sys.stderr.flush()
        sys.stdout.write(_text_report(run, opts))
        return
    parts = [iframe_html(report, opts["height"])]
    if link:
        parts.append('<div>profview: <a href="%s" target="_blank" rel="noopener">%s</a></div>'
                     % (html.escape(link, quote=True), html.escape(link)))
    plain = "<profview report: %s profile, %d KB of HTML; open this notebook in Jupyter to see it>" \
        % ("cProfile" if run.kind == "pstats" else "sampled", len(report) // 1024)
    display({"text/html": "\n".join(parts), "text/plain": plain}, raw=True)


def _upload(run, opts, name):
    from ._upload import UploadError, upload
    url = opts["upload"]
    if url == "-":
        url = None
    try:
        answer = upload(run.path, url, name=name)
    except UploadError as e:
        sys.stderr.write("profview: %s\n" % e)
        return None
    sys.stdout.write("profview: uploaded: %s\n" % answer["link"])
    return answer["link"]


def profview_magic(shell, line, cell=None):
    try:
        opts, statement = parse_args(line)
    except MagicUsageError as e:
        from IPython.core.error import UsageError
        raise UsageError("%%profview: %s\n\n%s" % (e, USAGE)) from None
    if opts["help"]:
        sys.stdout.write(USAGE)
        return None
    if cell is None:
        source = statement
    else:
        if statement.strip():
            from IPython.core.error import UsageError
            raise UsageError("%%%%profview: put the code in the cell, not after the options "
                             "(got %r)\n\n%s" % (statement, USAGE))
        source = cell
    if not source.strip():
        from IPython.core.error import UsageError
        raise UsageError("%%profview: nothing to profile\n\n" + USAGE)
    transform = getattr(shell, "transform_cell", None)
    if transform is not None:
        source = transform(source)

    ext = ".pvrec" if opts["sample"] else ".prof"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    tmp_dir = None
    if opts["output"]:
        path = os.path.abspath(os.path.expanduser(opts["output"]))
        name = os.path.basename(path)
    else:
        tmp_dir = tempfile.mkdtemp(prefix="profview-")
        name = "notebook-%s%s" % (stamp, ext)
        path = os.path.join(tmp_dir, name)
    try:
        run = _run_profiled(shell, source, opts, path)
        try:
            if opts["output"]:
                sys.stdout.write("profview: profile saved to %s\n" % path)
            link = _upload(run, opts, name) if opts["upload"] else None
            if opts["display"]:
                _show(shell, run, opts, link)
        except Exception as e:
            if run.error is None:
                raise
            sys.stderr.write("profview: could not show the profile: %r\n" % (e,))
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        if run.error is not None:
            err = run.error
            run.error = None
            raise err
        return run.value
    finally:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def load_ipython_extension(ipython):
    """Register ``%profview`` / ``%%profview`` in ``ipython``."""

    def profview(line, cell=None):
        return profview_magic(ipython, line, cell)

    profview.__doc__ = "Profile a statement or a cell and show the profview dashboard.\n\n" \
        + USAGE
    # The line is code: no $name / {expr} expansion before it runs (as %time and %prun).
    profview._ipython_magic_no_var_expand = True
    ipython.register_magic_function(profview, magic_kind="line_cell", magic_name="profview")


def unload_ipython_extension(ipython):
    pass
