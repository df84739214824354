"""The upsert of a batch on PostgreSQL 15 and later: one MERGE from the stage, which leaves
unchanged rows alone, and gives way to ON CONFLICT when another writer inserts a key first."""

from __future__ import annotations

import threading
import time
from datetime import date
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from sqlalchemy import Engine, event, select, text

from crm_core.pull import load
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from tests import shop_kit

ORDERS = RECORD_TABLES["orders"]


def _statements(store: Engine) -> list[str]:
    """The SQL the store's connections run from now on."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.lstrip())

    event.listen(store, "before_cursor_execute", note)
    return seen


def _waits_in_merge(store: Engine, seconds: float = 20.0) -> bool:
    """Whether a MERGE of this database comes to wait for a lock within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with store.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'MERGE INTO%'"
                )
            ).scalar_one()
        if waiting:
            return True
        time.sleep(0.05)
    return False


def _rows(store: Engine) -> dict[str, tuple[Decimal, int | None]]:
    with store.connect() as conn:
        rows = conn.execute(select(ORDERS.c.order_id, ORDERS.c.total_amount, ORDERS.c.run_id))
        return {order_id: (total, run_id) for order_id, total, run_id in rows}


@pytest.fixture
def store(pg_url: str) -> Engine:
    engine = open_store(pg_url)
    with engine.connect() as conn:
        if conn.dialect.server_version_info < load.MERGE_SINCE:
            pytest.fail("this machine's PostgreSQL is older than 15: MERGE cannot be tested")
    return engine


def test_a_batch_is_merged_changed_rows_updated_new_ones_added_the_rest_left_alone(
    store: Engine,
) -> None:
    with store.begin() as conn:
        load.upsert_frame(conn, "orders", shop_kit.mapped_orders([1, 2, 3], "10"), "erp", run_id=1)
    seen = _statements(store)
    batch = pl.concat(
        [
            shop_kit.mapped_orders([1], "10"),
            shop_kit.mapped_orders([2], "20"),
            shop_kit.mapped_orders([4], "40"),
        ]
    )
    with store.begin() as conn:
        assert load.upsert_frame(conn, "orders", batch, "erp", run_id=2) == 3
    assert any(s.startswith("MERGE INTO") for s in seen)
    assert not any("ON CONFLICT" in s for s in seen)
    assert _rows(store) == {
        "1": (Decimal(10), 1),  # unchanged: not rewritten, its lineage stays
        "2": (Decimal(20), 2),
        "3": (Decimal(10), 1),
        "4": (Decimal(40), 2),
    }


def test_a_key_another_writer_inserts_meanwhile_is_updated_not_an_error(store: Engine) -> None:
    other = store.connect()
    other.execute(
        ORDERS.insert().values(
            source="erp",
            order_id="7",
            customer_id="C9",
            status="new",
            currency="EUR",
            order_date=date(2025, 1, 1),
            total_amount=Decimal(1),
            run_id=99,
        )
    )  # not committed yet: the batch's MERGE finds no row 7 and waits on its key
    outcome: list[BaseException | int] = []

    def load_batch() -> None:
        try:
            with store.begin() as conn:
                conn.execute(text("SET LOCAL lock_timeout = '20s'"))
                outcome.append(
                    load.upsert_frame(
                        conn, "orders", shop_kit.mapped_orders([6, 7], "70"), "erp", 5
                    )
                )
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            outcome.append(exc)

    loading = threading.Thread(target=load_batch)
    loading.start()
    assert _waits_in_merge(store), "the batch's MERGE never waited for the other writer's key"
    assert not outcome, outcome
    other.commit()
    other.close()
    loading.join(30)
    assert outcome == [2]
    assert _rows(store) == {"6": (Decimal(70), 5), "7": (Decimal(70), 5)}
