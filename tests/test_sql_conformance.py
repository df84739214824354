"""The conformance kit on the SQL connector, over a small legacy ERP on the real PostgreSQL
server and on SQLite."""

from __future__ import annotations

import pytest

from tests.legacy_db2_kit import LegacyErpConformance


class TestSqlConformanceOnSqlite(LegacyErpConformance):
    kind, backend = "sql", "sqlite"


@pytest.mark.postgres
class TestSqlConformanceOnPostgres(LegacyErpConformance):
    kind, backend = "sql", "postgres"
