"""The conformance kit on the ODBC connector, over a small modern ERP on the machine's real
MariaDB (``MariaDB Unicode`` driver) and PostgreSQL (``PostgreSQL Unicode``, psqlODBC, its
session in Asia/Shanghai so that timestamps come back as naive local times)."""

from __future__ import annotations

import pytest

from tests.modern_odbc_kit import PG_ADMIN, ModernErpConformance

pytest.importorskip("pyodbc", exc_type=ImportError)


@pytest.mark.mariadb
class TestOdbcConformanceOnMariadb(ModernErpConformance):
    pass


@pytest.mark.postgres
class TestOdbcConformanceOnPostgres(ModernErpConformance):
    admin_url = PG_ADMIN
    timezone = "Asia/Shanghai"
