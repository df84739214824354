"""Helpers for the REST tests: a small sample REST ERP served on loopback, connectors and
hub configs that read it, and the ERP's own rows to compare reads with."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from connectors.rest import RestConnector
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from sample_erps import rest_erp
from sample_erps.rest_erp.api import RESOURCES
from sample_erps.rest_erp.server import RestErpServer
from schemas.settings import HubConfig, SourceConfig, load_config

AS_OF = date(2026, 11, 20)
MAPPING = Path(__file__).resolve().parents[1] / "mappings" / "rest_erp.yaml"
#: Short timeouts and back-offs, so that retries cost milliseconds in tests.
FAST: dict[str, Any] = {
    "timeout": {"connect": 2, "read": 2},
    "retries": {
        "attempts": 3,
        "backoff": 0.01,
        "backoff_max": 0.05,
        "jitter": 0.01,
        "page_attempts": 3,
    },
}


@pytest.fixture(scope="module")
def erp_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated sample REST ERP (25 customers), made once per test module."""
    path = tmp_path_factory.mktemp("rest_erp") / "erp.db"
    engine = create_engine(f"sqlite:///{path}")
    rest_erp.create_schema(engine)
    rest_erp.generate(engine, seed=11, as_of=AS_OF, customers=25)
    engine.dispose()
    return path


@pytest.fixture
def erp_db(erp_template: Path, tmp_path: Path) -> Path:
    """A copy of the sample ERP that the test may change."""
    path = tmp_path / "erp.db"
    shutil.copy(erp_template, path)
    return path


@pytest.fixture
def erp(erp_db: Path) -> Iterator[RestErpServer]:
    """The sample ERP served on a free loopback port, without authentication."""
    with rest_erp.serve(erp_db) as server:
        yield server


def connector(
    url: str,
    stream: dict[str, Any],
    *,
    primary_key: list[str],
    cursor: list[str] | None = None,
    source: dict[str, Any] | None = None,
) -> RestConnector:
    """A REST connector with one stream ``s`` declared by ``stream`` (its options)."""
    cfg = SourceConfig(
        kind="rest",
        url=url,
        mapping=Path("m.yaml"),
        options=FAST if source is None else source,
        streams={
            "s": {
                "primary_key": primary_key,
                "cursor": ["updated_at"] if cursor is None else cursor,
                "options": stream,
            }
        },
    )
    return RestConnector("erp", cfg)


def erp_rows(db: Path, resource: str) -> list[dict[str, Any]]:
    """The ERP's records of a resource as the API shows them, in (updated_at, key) order."""
    res = RESOURCES[resource]
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        order = [res.table.c.updated_at, *(res.table.c[k] for k in res.key)]
        rows = conn.execute(select(res.table).order_by(*order)).all()
    engine.dispose()
    return [res.record(r) for r in rows]


def hub(
    tmp_path: Path, url: str, batch_size: int = 100, **source: Any
) -> tuple[HubConfig, SyncEngine]:
    """A hub config with the sample ERP as source ``rest_erp`` and a SQLite store, and its
    sync engine (short timeouts and back-offs unless ``source`` says otherwise)."""
    options = {"connect_timeout": 2, "read_timeout": 2, "attempts": 3, "backoff": 0.01, **source}
    text = (
        f"store:\n  url: sqlite:///{tmp_path / 'store.db'}\n"
        f"defaults:\n  batch_size: {batch_size}\n"
        "sources:\n" + rest_erp.source_config(url, mapping=str(MAPPING), **options)
    )
    path = tmp_path / "crm-hub.yaml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    return config, SyncEngine(config, open_store(config.store_url()))


def position_of(record: dict[str, Any], key: tuple[str, ...]) -> tuple[Any, ...]:
    """A record's position as the engine saves it: UTC ``updated_at``, then the key."""
    moment = datetime.fromisoformat(record["updated_at"]).astimezone(UTC)
    return (moment, *(record[k] for k in key))


def erp_positions(db: Path, resource: str) -> list[tuple[Any, ...]]:
    """Every record's position, in order."""
    key = RESOURCES[resource].key
    return sorted(position_of(r, key) for r in erp_rows(db, resource))


def store_keys(store: Any, entity: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The keys of the rows the store holds for an entity of source ``rest_erp``."""
    table = RECORD_TABLES[entity]
    with store.connect() as conn:
        rows = conn.execute(
            select(*(table.c[c] for c in columns)).where(table.c.source == "rest_erp")
        ).all()
    return sorted(tuple(r) for r in rows)
