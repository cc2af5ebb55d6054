#!/usr/bin/env python3
"""One timed `profview serve FILE` (scripts/bench-cli.sh): seconds from the start of the process
to "serving at", to the first answer of the function table (what the dashboard asks first) and
to the first tree answer (the icicle, which waits for the views built behind the table), then
the process's peak RSS once it has logged "views prepared" (VmHWM, KiB).

Prints `ready|table|tree|peak_kib`; the server's log goes to ERR_FILE.
Usage: serve-timing.py BIN FILE ERR_FILE   (standard library only)
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    binary, path, err_path = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as d, open(err_path, "w") as err:
        env = dict(os.environ, RUST_LOG="profview=info,profview_server=info")
        start = time.monotonic()
        p = subprocess.Popen(
            [binary, "serve", path, "--no-browser", "--port", "0", "--data-dir", os.path.join(d, "data")],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        try:
            url = None
            for line in p.stdout:
                m = re.search(r"serving at (http://\S+)/p/(\w+)", line)
                if m:
                    url = f"{m.group(1)}/api/profiles/{m.group(2)}"
                    break
            if url is None:
                sys.exit(f"serve ended without serving (see {err_path})")
            ready = time.monotonic() - start
            urllib.request.urlopen(f"{url}/functions?limit=100").read()
            table = time.monotonic() - start
            urllib.request.urlopen(f"{url}/tree").read()
            tree = time.monotonic() - start
            deadline = time.monotonic() + 120
            while "views prepared" not in open(err_path).read():
                if time.monotonic() > deadline:
                    sys.exit("no 'views prepared' within 120 s")
                time.sleep(0.05)
            with open(f"/proc/{p.pid}/status") as f:
                peak = next(int(l.split()[1]) for l in f if l.startswith("VmHWM"))
        finally:
            p.terminate()
            p.wait()
    print(f"{ready:.3f}|{table:.3f}|{tree:.3f}|{peak}")


if __name__ == "__main__":
    main()
