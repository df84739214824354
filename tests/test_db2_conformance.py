"""The conformance kit on the DB2 connector's code path, over a small legacy ERP on the
real PostgreSQL server and on SQLite.

The DB2 connector runs with ``options.stand_in`` (no Db2 server runs here; see
tests/test_db2_legacy_erp.py for what that changes: only the rendering of the isolation
clause, and LIMIT for FETCH FIRST on SQLite). tests/test_db2_live.py runs the same kit on a
live Db2 wherever ``CRM_HUB_DB2_URL`` is set.
"""

from __future__ import annotations

import pytest

from tests.legacy_db2_kit import LegacyErpConformance


class TestDb2CodePathConformanceOnSqlite(LegacyErpConformance):
    kind, backend = "db2", "sqlite"


@pytest.mark.postgres
class TestDb2CodePathConformanceOnPostgres(LegacyErpConformance):
    kind, backend = "db2", "postgres"
