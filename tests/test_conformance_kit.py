"""The conformance kit itself: it runs the worked example of docs/connectors.md as a third
party would (its own files, its own pytest run), and it fails connectors that break the
rules, with a reason."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from connectors.testing import checks
from schemas.errors import ConfigError, RetriableError
from schemas.source import Position, StreamSpec, pick_stream

DOC = Path(__file__).parent.parent / "docs" / "connectors.md"
ROOT = DOC.parent.parent


def doc_files() -> dict[str, str]:
    """The doc's Python blocks that start with ``# <file>.py``, by file name."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return {m.group(1): block for block in blocks if (m := re.match(r"# (\w+\.py)\n", block))}


@pytest.mark.slow
def test_conformance_kit_runs_the_worked_example_of_the_docs(tmp_path: Path) -> None:
    files = doc_files()
    assert set(files) == {"csvdir_connector.py", "test_csvdir_conformance.py"}
    for name, code in files.items():
        (tmp_path / name).write_text(code, encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "6 passed, 1 skipped" in run.stdout
    assert "this source has no credentials to get wrong" in run.stdout


class ListSource:
    """An in-memory source with one stream, that can break the rules on purpose."""

    name = "toy"

    def __init__(self, rows: int = 30, *, flaw: str = "") -> None:
        self.flaw = flaw
        self.spec = StreamSpec("items", ("id",), ("day",))
        self.data = pl.DataFrame({"day": [i // 4 for i in range(rows)], "id": list(range(rows))})

    def streams(self) -> list[StreamSpec]:
        return [self.spec]

    def stream(self, name: str) -> StreamSpec:
        return pick_stream(self.name, self.streams(), name)

    def check(self) -> None:
        pass

    def close(self) -> None:
        pass

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        rows = self.data
        if since is not None:
            day, key = since
            before = (pl.col("day") < day) | ((pl.col("day") == day) & (pl.col("id") < key))
            if self.flaw != "inclusive":
                before = before | ((pl.col("day") == day) & (pl.col("id") == key))
            rows = rows.filter(~before)
        if self.flaw == "unordered":
            rows = rows.reverse()
        size = batch_size * 2 if self.flaw == "oversized" else batch_size
        for start in range(0, rows.height, size):
            yield rows.slice(start, size)


def run_all(source: ListSource, batch_size: int = 7) -> None:
    spec = checks.declared_streams(source)[0]
    batches = checks.check_readable(source, spec, batch_size, expected_rows=30)
    checks.check_position_order(batches, spec)
    checks.check_incremental(source, spec, batches, batch_size)


def test_conformance_kit_passes_a_correct_connector() -> None:
    run_all(ListSource())


@pytest.mark.parametrize(
    ("flaw", "reason"),
    [
        ("inclusive", r"reading after position \(0, 0\) gave 30 rows, expected exactly the 29"),
        ("oversized", r"batch 0 has 14 rows; batches must hold 1 to batch_size=7 rows"),
        ("unordered", r"row 1 at position \(7, 28\) does not come after \(7, 29\)"),
    ],
)
def test_conformance_kit_fails_a_connector_that_breaks_a_rule(flaw: str, reason: str) -> None:
    with pytest.raises(AssertionError, match=reason):
        run_all(ListSource(flaw=flaw))
    with pytest.raises(AssertionError, match="read 20 rows, the source holds 30"):
        checks.check_readable(ListSource(20), ListSource().spec, 7, expected_rows=30)


class Refusing(ListSource):
    def __init__(self, error: Exception | None) -> None:
        super().__init__()
        self.error = error

    def check(self) -> None:
        if self.error:
            raise self.error


def test_conformance_kit_bad_credentials_need_one_config_error_line_without_the_secret() -> None:
    good = ConfigError("source 'toy' (db://u:***@h/db): login refused")
    assert checks.check_bad_credentials(lambda: Refusing(good), "S3cret") is good
    cases: list[tuple[Any, str]] = [
        (None, "accepted wrong credentials"),
        (RetriableError("source 'toy': login refused"), "raised RetriableError, not ConfigError"),
        (ConfigError("source 'toy': login with S3cret refused"), "shows the password"),
        (ConfigError("source 'toy': refused", ["a", "b"]), "takes several lines"),
        (ConfigError("login refused"), "does not name the source"),
    ]
    for error, reason in cases:
        with pytest.raises(AssertionError, match=reason):
            checks.check_bad_credentials(lambda e=error: Refusing(e), "S3cret")
