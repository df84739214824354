"""Sling, the extract benchmark's second peer: the Go binary of the ``sling-linux-amd64``
wheel, installed in the peers' environment only (bench/peers/requirements.txt), copying the
bench source's order_lines into a schema of its own in the hub's PostgreSQL store database.

The figures are the wall time of ``sling run`` from start to exit (its connections, its
reads and writes, and the start of a 250 MB binary, about 0.1 s).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench import pgdata
from bench.measure import Measurement, run_job

SCRIPT = Path(__file__).parent / "peers" / "sling_load.py"
#: Sling's table in the store database, beside the hub's own tables.
TARGET = "sling_bench.order_lines"
PRIMARY_KEY = "order_id,line_no"
UPDATE_KEY = "updated_at"


def locate(python: Path) -> tuple[str | None, str]:
    """(version, "") when the peers' environment has Sling's binary, else (None, why not)."""
    if not python.exists():
        return None, f"the peers' environment {python.parent.parent} is missing"
    code = f"import sys\nsys.argv = ['sling_load', 'locate']\n{SCRIPT.read_text('utf-8')}"
    proc = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return None, f"{why[0]} in {python.parent.parent} (`make bench-env` installs it)"
    return str(json.loads(proc.stdout)["version"]), ""


def _url(database: str) -> str:
    # Sling's driver would try TLS first; the bench's server is on loopback without it
    return f"{pgdata.url(database)}?sslmode=disable"


def job(name: str, python: Path, store_db: str, home: Path, *, incremental: bool) -> Measurement:
    """One ``sling run`` of order_lines into ``TARGET`` in ``store_db``: full-refresh, or
    incremental with the primary key and the cursor column as update key."""
    argv = [
        "sling_load",
        "incremental" if incremental else "full-refresh",
        _url(pgdata.SOURCE_DB),
        "public.order_lines",
        _url(store_db),
        TARGET,
        PRIMARY_KEY,
        UPDATE_KEY,
    ]
    code = f"import sys\nsys.argv = {argv!r}\n" + SCRIPT.read_text(encoding="utf-8")
    home.mkdir(parents=True, exist_ok=True)
    # its home (env.yaml, a small state database) in the run's temporary folder, not in ~
    return run_job(name, code, python=str(python), env={"SLING_HOME_DIR": str(home)})
