"""Live Db2 tests: they run wherever ``CRM_HUB_DB2_URL`` points at a Db2 server, and are
skipped elsewhere (no Db2 server can run on the development machine).

``.github/workflows/db2-live.yml`` runs them against IBM's Db2 Community Edition container.
The database must count CHAR lengths in characters (``STRING_UNITS CODEUNITS32``, as the
workflow sets it), since the legacy ERP keeps Chinese names in CHAR columns. The tests
create the seven legacy files in the user's default schema, replacing any of that name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from connectors.db2 import Db2Connector
from connectors.testing import ConnectorConformance
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from sample_erps import legacy_erp
from sample_erps.legacy_erp_schema import RCM
from schemas.errors import ConfigError
from schemas.settings import SourceConfig, load_config
from tests import legacy_db2_kit

LIVE_URL = os.environ.get("CRM_HUB_DB2_URL", "")
pytestmark = pytest.mark.skipif(
    not LIVE_URL,
    reason="no live Db2: set CRM_HUB_DB2_URL=db2+ibm_db://user:pw@host:50000/DB "
    "(see .github/workflows/db2-live.yml)",
)
URL_ENV = "CRM_HUB_DB2_URL"


def fresh_legacy_erp(customers: int, seed: int) -> tuple[Any, dict[str, int]]:
    """The legacy ERP's files created anew on the live Db2 and filled; engine and counts."""
    engine = create_engine(LIVE_URL)
    legacy_db2_kit.drop_schema(engine)
    legacy_erp.create_schema(engine)
    counts = legacy_erp.generate(engine, seed=seed, as_of=date(2026, 11, 20), customers=customers)
    return engine, counts


def live_source(url_env: str = URL_ENV, streams: list[str] | None = None) -> Db2Connector:
    cfg = SourceConfig(
        kind="db2",
        url_env=url_env,
        mapping=Path("legacy_erp.yaml"),
        options={"isolation": "UR"},
        streams=legacy_db2_kit.streams_config(streams),
    )
    return Db2Connector("legacy_erp", cfg)


@pytest.mark.slow
def test_db2_live_legacy_erp_syncs_in_full_then_incrementally(tmp_path: Path) -> None:
    erp, counts = fresh_legacy_erp(customers=20, seed=21)
    store_url = f"sqlite:///{tmp_path / 'hub.db'}"
    config = load_config(legacy_db2_kit.write_files(tmp_path, store_url, URL_ENV, 100, False))
    store = open_store(config.store_url())
    hub = SyncEngine(config, store)
    full = hub.sync_source("legacy_erp")
    assert {r.stream: (r.status, r.counts.rows_read) for r in full} == {
        s: ("success", n) for s, n in legacy_db2_kit.expected_rows(counts).items()
    }, [r.error for r in full if r.error]
    assert sum(r.counts.rows_quarantined for r in full) == 0

    changes = legacy_erp.apply_changes(erp, seed=22, as_of=date(2026, 11, 21))
    incremental = {r.stream: r for r in hub.sync_source("legacy_erp")}
    assert incremental["orders"].counts.rows_read == (
        changes["new orders"] + changes["orders moved on"]
    )
    assert incremental["customers"].counts.rows_read == changes["customer edits"]

    with erp.connect() as conn:
        padded = dict(conn.execute(select(RCM.c.CCUST, RCM.c.CNME)).all())
    customers = RECORD_TABLES["customers"]
    with store.connect() as conn:
        stored = dict(conn.execute(select(customers.c.customer_id, customers.c.name)).all())
    assert stored == {k.strip(): v.strip() for k, v in padded.items()}
    erp.dispose()


def test_db2_live_wrong_password_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = make_url(LIVE_URL).set(password="Wrong-Pw-4711")
    monkeypatch.setenv("WRONG_DB2_URL", wrong.render_as_string(hide_password=False))
    with pytest.raises(ConfigError) as info, live_source("WRONG_DB2_URL") as source:
        source.check()
    message = str(info.value)
    assert "\n" not in message and "Wrong-Pw-4711" not in message
    assert "SQL30082N" in message and f"{wrong.host}:{wrong.port or 50000}" in message


class TestDb2LiveConformance(ConnectorConformance):
    """The conformance kit on a live Db2 (small legacy ERP, three streams)."""

    batch_size = 25

    @pytest.fixture(scope="class")
    def counts(self) -> Iterator[dict[str, int]]:
        engine, counts = fresh_legacy_erp(customers=8, seed=31)
        engine.dispose()
        yield legacy_db2_kit.expected_rows(counts)

    @pytest.fixture
    def source(self, counts: dict[str, int]) -> Iterator[Db2Connector]:
        with live_source(streams=["customers", "orders", "credit"]) as source:
            yield source

    @pytest.fixture
    def expected_rows(self, counts: dict[str, int]) -> dict[str, int]:
        return counts

    @pytest.fixture
    def bad_credentials(self, monkeypatch: pytest.MonkeyPatch) -> tuple[Db2Connector, str]:
        wrong = make_url(LIVE_URL).set(password="Wrong-Pw-4712")
        monkeypatch.setenv("WRONG_DB2_URL", wrong.render_as_string(hide_password=False))
        return live_source("WRONG_DB2_URL", ["customers"]), "Wrong-Pw-4712"
