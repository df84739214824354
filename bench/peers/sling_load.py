"""The peer: Sling (the Go binary that the sling-linux-amd64 wheel ships) copying one
PostgreSQL table into a PostgreSQL database, full-refresh or incremental. Run by the
benchmark with the peers' own venv; times the ``sling run`` process from start to exit.

argv: mode (full-refresh | incremental), source URL, source stream, target URL, target
object, primary key (comma-separated), update key. ``locate`` alone as argv prints the
binary's path and version, or exits 3 saying why there is none.
"""

import json
import os
import re
import resource
import subprocess
import sys
import time

#: Sling phones home at start (telemetry, error reports to Sentry) unless told not to; its
#: update check runs in the background and never holds the run up. No network here.
QUIET = {"SLING_DISABLE_TELEMETRY": "true", "SLING_SHOW_PROGRESS": "false", "NO_COLOR": "1"}


def binary() -> tuple[str, str]:
    """The path and version of the wheel's Sling binary; SystemExit(3) saying why not."""
    try:
        import sling_linux_amd64
    except ImportError:
        print("the sling-linux-amd64 wheel is not installed", file=sys.stderr)
        raise SystemExit(3) from None
    path = sling_linux_amd64.SLING_BIN
    if not path or not os.access(path, os.X_OK):
        print(f"no executable Sling binary for this platform ({path!r})", file=sys.stderr)
        raise SystemExit(3)
    return path, sling_linux_amd64.SLING_VERSION


if sys.argv[1:] == ["locate"]:
    print(json.dumps(dict(zip(("path", "version"), binary(), strict=True))))
    raise SystemExit(0)

mode, source_url, stream, target_url, target_object, primary_key, update_key = sys.argv[1:8]
path, version = binary()
argv = [
    path,
    "run",
    "--src-conn",
    source_url,
    "--src-stream",
    stream,
    "--tgt-conn",
    target_url,
    "--tgt-object",
    target_object,
    "--mode",
    mode,
    "--primary-key",
    primary_key,
    # the target table gets the source's primary key, as the hub's store table has it: the
    # incremental merge finds its rows by an index, not by a scan of the whole table
    "--tgt-options",
    json.dumps({"table_keys": {"primary": primary_key.split(",")}}),
]
if mode == "incremental":
    argv += ["--update-key", update_key]
env = {**os.environ, **QUIET}
started = time.perf_counter()
proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=3600, check=False)
seconds = time.perf_counter() - started
log = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
if proc.returncode != 0:
    print(log[-3000:], file=sys.stderr)
    raise SystemExit(proc.returncode)
# "inserted 20000 rows into "sling"."order_lines" in 0 secs"; none when nothing was read
rows = sum(int(n) for n in re.findall(r"inserted (\d+) rows", log))
# the peak of sling's own process (the only child), not this interpreter's
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "sling": version}))
