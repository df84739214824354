"""Run one measured job in a child process of its own, so that its peak memory (the
kernel's max RSS for that process, which the child reports with ``PEAK_SNIPPET``) is its
alone; the job times its own work, leaving out interpreter start and imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Measurement:
    """What one job did: rows, seconds, peak memory, and anything else it reported."""

    name: str
    rows: int
    seconds: float
    peak_mb: float
    extra: dict[str, Any]

    @property
    def rows_per_s(self) -> float:
        """Rows per second."""
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def run_job(
    name: str,
    code: str,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> Measurement:
    """Run ``code`` (which prints one JSON object with rows and seconds last) in a child."""
    proc = subprocess.Popen(
        [python, "-c", code],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed ({proc.returncode}):\n{err[-3000:]}")
    result = json.loads(out.strip().splitlines()[-1])
    return Measurement(
        name=name,
        rows=int(result.pop("rows")),
        seconds=float(result.pop("seconds")),
        peak_mb=float(result.pop("peak_mb")),
        extra=result,
    )


#: The child's peak is VmHWM, the high-water mark of its own address space: on Linux
#: ``ru_maxrss`` carries over the size of the parent at the fork, so a child of a large
#: parent would report the parent's size.
PEAK_SNIPPET = (
    "import resource as _r, json as _j, re as _re\n"
    "def _peak_mb():\n"
    "    try:\n"
    "        with open('/proc/self/status') as _f:\n"
    "            return int(_re.search(r'VmHWM:\\s+(\\d+) kB', _f.read()).group(1)) / 1024\n"
    "    except (OSError, AttributeError):\n"
    "        return _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024\n"
    "def _report(rows, seconds, **extra):\n"
    "    peak = _peak_mb()\n"
    "    print(_j.dumps({'rows': rows, 'seconds': seconds, 'peak_mb': peak, **extra}))\n"
)
