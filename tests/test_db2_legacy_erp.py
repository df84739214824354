"""The legacy sample ERP (DB2 for i style) synced end to end through the DB2 connector.

No Db2 server runs here, so the source is a declared stand-in (``options.stand_in``): the
real PostgreSQL server, and SQLite. What runs is the DB2 connector's own code: keyset
pages of ``FETCH FIRST n ROWS ONLY`` (SQLite: LIMIT), one statement per batch, positions
on the composite (date, time, key) cursor, blank-padded CHAR columns trimmed by the
mapping. The statements it sends are captured and checked, so the paging is seen to run,
not assumed. Only the ``WITH UR`` clause is not rendered on a stand-in (it is Db2's).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, date
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, select

from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from sample_erps import legacy_erp
from sample_erps.legacy_erp_schema import RCM
from schemas.settings import load_config
from tests import legacy_db2_kit

BATCH = 150


@pytest.fixture(params=["sqlite", "postgres"])
def erp_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'legacy_erp.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while the test runs."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", record)
    yield seen
    event.remove(Engine, "before_cursor_execute", record)


@pytest.mark.slow
def test_db2_code_path_syncs_the_legacy_erp_in_full_then_incrementally(
    erp_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, statements: list[str]
) -> None:
    erp = create_engine(erp_url)
    legacy_erp.create_schema(erp)
    counts = legacy_erp.generate(erp, seed=11, as_of=date(2026, 11, 20), customers=25)
    monkeypatch.setenv("LEGACY_DB2_URL", erp_url)
    store_url = f"sqlite:///{tmp_path / 'hub.db'}"
    config = load_config(legacy_db2_kit.write_files(tmp_path, store_url, "LEGACY_DB2_URL", BATCH))
    store = open_store(config.store_url())
    hub = SyncEngine(config, store)

    full = hub.sync_source("legacy_erp")
    expected = legacy_db2_kit.expected_rows(counts)
    assert {r.stream: (r.status, r.counts.rows_read) for r in full} == {
        s: ("success", n) for s, n in expected.items()
    }
    assert sum(r.counts.rows_quarantined for r in full) == 0
    # one page statement per batch, plus the short (or empty) page that ends the read
    pages = [s for s in statements if 'FROM "ECL"' in s]
    assert len(pages) == math.ceil((expected["order_lines"] + 1) / BATCH)
    # PostgreSQL renders the count in parentheses: FETCH FIRST (150) ROWS ONLY
    paging = (
        "LIMIT ? OFFSET ?" if erp_url.startswith("sqlite") else f"FETCH FIRST ({BATCH}) ROWS ONLY"
    )
    assert all(s.endswith(paging) for s in pages), pages[0]
    assert all('"ECL"."LCHGD" >' in s for s in pages[1:]), "later pages resume by keyset"

    changes = legacy_erp.apply_changes(erp, seed=12, as_of=date(2026, 11, 21))
    incremental = {r.stream: r for r in hub.sync_source("legacy_erp")}
    # a stream that had rows resumes from its position; an empty one (few customers may
    # have no concession yet) has none and is read whole again
    assert {s: r.mode for s, r in incremental.items()} == {
        s: "incremental" if n else "full" for s, n in expected.items()
    }
    assert incremental["orders"].counts.rows_read == (
        changes["new orders"] + changes["orders moved on"]
    )
    assert incremental["customers"].counts.rows_read == changes["customer edits"]
    assert incremental["payments"].counts.rows_read == changes["payments"]
    assert all(r.status == "success" for r in incremental.values())

    with erp.connect() as conn:
        padded = dict(conn.execute(select(RCM.c.CCUST, RCM.c.CNME)).all())
    customers = RECORD_TABLES["customers"]
    with store.connect() as conn:
        stored = conn.execute(
            select(customers.c.customer_id, customers.c.name, customers.c.updated_at)
        ).all()
    assert len(stored) == expected["customers"]
    # the day of changes purged some customers from RCM: the store keeps them (a pull
    # without a delete pass removes nothing)
    purged = [c for c, _, _ in stored if c.ljust(10) not in padded]
    assert len(purged) == changes.get("customers deleted", 0)
    for customer_id, name, updated_at in stored:
        if customer_id in purged:
            continue
        assert name == padded[customer_id.ljust(10)].rstrip()  # trimmed, nothing else changed
        assert updated_at.tzinfo is not None and updated_at.astimezone(UTC).year >= 2018
    assert any("有限公司" in name for _, name, _ in stored)
    erp.dispose()
    store.dispose()
