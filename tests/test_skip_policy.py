"""A test the README promises that cannot run fails the run, unless the user accepts the skip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

SKIPPING = """
import pytest

def test_reads_over_odbc():
    pytest.skip("could not import 'pyodbc': libodbc.so.2: cannot open shared object file")

def test_runs():
    assert 1 + 1 == 2
"""


def _run(folder: Path, allow: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CRM_HUB_ALLOW_SKIP"}
    if allow is not None:
        env["CRM_HUB_ALLOW_SKIP"] = allow
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=folder,
        timeout=120,
    )


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_promised.py").write_text(SKIPPING, encoding="utf-8")
    return tmp_path


def test_a_skipped_odbc_test_fails_the_run_and_says_how_to_run_or_accept_it(suite: Path) -> None:
    run = _run(suite, None)
    assert run.returncode == 1, run.stdout
    assert "1 passed, 1 skipped" in run.stdout
    assert "odbc: 1 skipped (FAILS THE RUN)" in run.stdout
    assert "CRM_HUB_ALLOW_SKIP=odbc" in run.stdout and "make system-deps" in run.stdout


@pytest.mark.parametrize("allow", ["browser,odbc", "all"])
def test_an_accepted_skip_passes_the_run(suite: Path, allow: str) -> None:
    run = _run(suite, allow)
    assert run.returncode == 0, run.stdout
    assert "odbc: 1 skipped (accepted)" in run.stdout


def test_accepting_another_kind_does_not_accept_this_one(suite: Path) -> None:
    assert _run(suite, "browser").returncode == 1
