"""Which failures a scheduler retries: lost or refused connections and timeouts are
retriable; a missing table or column, a refused permission are fatal at once. On real
SQLite and PostgreSQL, through the job a scheduler calls."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from connectors.errors import is_transient
from crm_core.ledger import runs
from crm_core.scheduling import jobs
from crm_core.store.db import open_store
from schemas.errors import FatalSyncError, RetriableError
from tests import shop_kit

CONFIG = """\
store:
  url: sqlite:///{store}
sources:
  shop:
    kind: sql
    url_env: SHOP_URL
    mapping: shop.yaml
    timeouts: {{connect: 3, read: 10}}
    options: {{columnar: {columnar}}}
    streams:
      orders: {{table: shop_orders, primary_key: [id], cursor: [updated_at]}}
"""


def _config(folder: Path, columnar: bool = False) -> Path:
    (folder / "shop.yaml").write_text(shop_kit.MAPPING, encoding="utf-8")
    path = folder / "crm-hub.yaml"
    path.write_text(
        CONFIG.format(store=folder / "store.db", columnar=str(columnar).lower()), encoding="utf-8"
    )
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _last_error(config: Path) -> str:
    store = open_store(f"sqlite:///{config.parent / 'store.db'}")
    try:
        [run] = runs.list_runs(store, "shop", "orders", limit=1)
    finally:
        store.dispose()
    assert run["status"] == runs.FAILED
    return str(run["error"])


def test_fault_missing_table_on_sqlite_is_fatal_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "shop.db"
    sqlite3.connect(source).close()  # a database without the table
    monkeypatch.setenv("SHOP_URL", f"sqlite:///{source}")
    config = _config(tmp_path)
    with pytest.raises(FatalSyncError, match="no such table: shop_orders"):
        jobs.sync_stream("shop", "orders", config)
    assert "no such table" in _last_error(config)


@pytest.mark.parametrize("columnar", [False, True], ids=["psycopg", "adbc"])
def test_fault_missing_table_on_postgresql_is_fatal_at_once(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, columnar: bool
) -> None:
    monkeypatch.setenv("SHOP_URL", pg_url)
    config = _config(tmp_path, columnar=columnar)
    with pytest.raises(FatalSyncError, match="shop_orders"):
        jobs.sync_stream("shop", "orders", config)


def test_fault_connection_refused_is_retriable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_URL", f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/x")
    config = _config(tmp_path)
    with pytest.raises(RetriableError, match="refused"):
        jobs.sync_stream("shop", "orders", config)
    assert "refused" in _last_error(config)


def test_fault_driver_errors_are_classified_by_sqlstate_and_message(pg_url: str) -> None:
    sqlite_db = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as missing:
        sqlite_db.execute("SELECT * FROM ECH")
    assert not is_transient(missing.value)  # an OperationalError, yet not worth a retry

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (a int)"))
        conn.commit()
        for sql, state in [
            ("SELECT * FROM nowhere", "42P01"),
            ("SELECT b FROM t", "42703"),
        ]:
            with pytest.raises(Exception) as undefined:
                conn.execute(text(sql))
            conn.rollback()
            assert undefined.value.orig.sqlstate == state  # type: ignore[attr-defined]
            assert not is_transient(undefined.value)
        with pytest.raises(Exception) as cancelled:
            conn.execute(text("SET statement_timeout = 50"))
            conn.execute(text("SELECT pg_sleep(2)"))
        conn.rollback()
        assert is_transient(cancelled.value)  # 57014: a statement timeout
    engine.dispose()
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(f"host=127.0.0.1 port={_free_port()} connect_timeout=3")
    assert is_transient(refused.value)
