"""Shared fixtures: real PostgreSQL and MariaDB databases, and a small SQL source."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

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
