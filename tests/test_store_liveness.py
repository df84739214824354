"""The API server's pooled store connections are pinged before use only when they may be
dead: a connection back in use within moments costs no round trip; one idle for long, or
cut while in the pool, is pinged, and a dead one replaced before the caller sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from crm_core.store.db import create_store_engine
from crm_core.store.liveness import check_on_checkout
from tests.conftest import PG_ADMIN
from tests.tcp_proxy_kit import TcpProxy

IDLE = 2.0  # seconds a pooled connection may idle before it is pinged, in these tests


@pytest.fixture
def observer() -> Iterator[psycopg.Connection]:
    """A plain connection that watches the store's backends in pg_stat_activity."""
    url = make_url(PG_ADMIN).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        yield conn


def _last_statement(observer: psycopg.Connection, pid: int) -> str:
    row = observer.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    assert row is not None, f"backend {pid} is gone"
    return str(row[0]).strip()


def _pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_reused_at_once_is_not_pinged_one_idle_for_long_is(
    observer: psycopg.Connection,
) -> None:
    engine = create_engine(PG_ADMIN, pool_size=1, max_overflow=0)
    check_on_checkout(engine, idle_seconds=IDLE)
    try:
        pid = _pid(engine)
        with engine.connect():
            # checked out again at once: the last statement is still the pool's reset
            assert _last_statement(observer, pid) == "ROLLBACK"
        time.sleep(IDLE + 0.2)
        with engine.connect():
            # pinged (psycopg's ping is an empty statement): something ran since the reset
            assert _last_statement(observer, pid) != "ROLLBACK"
        assert _pid(engine) == pid
    finally:
        engine.dispose()


def test_a_store_connection_cut_in_the_pool_is_replaced_before_use() -> None:
    with TcpProxy("127.0.0.1", make_url(PG_ADMIN).port or 5432) as proxy:
        engine = create_store_engine(proxy.url_for(PG_ADMIN), ping_each_checkout=False)
        try:
            before = _pid(engine)
            proxy.reset()
            time.sleep(0.5)  # the proxy closes its end within its poll interval (0.1 s)
            # at once, well within the idle time that would make it pinged anyway
            after = _pid(engine)
            assert after != before
        finally:
            engine.dispose()


def test_a_store_connection_whose_backend_ended_is_replaced_before_use(
    observer: psycopg.Connection,
) -> None:
    engine = create_store_engine(PG_ADMIN, ping_each_checkout=False)
    try:
        before = _pid(engine)
        observer.execute("SELECT pg_terminate_backend(%s)", (before,))
        deadline = time.monotonic() + 5
        while _still_there(observer, before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _pid(engine) != before
    finally:
        engine.dispose()


def _still_there(observer: psycopg.Connection, pid: int) -> bool:
    found = observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return found is not None
