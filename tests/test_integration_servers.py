"""End to end on the machine's real servers: PostgreSQL and MariaDB sources, PostgreSQL store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update

from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES
from schemas.settings import load_config
from tests import shop_kit


@pytest.mark.parametrize("source_db", ["postgres", "mariadb"])
def test_sync_from_a_real_server_into_postgres(
    source_db: str, pg_url: str, mariadb_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url = mariadb_url if source_db == "mariadb" else pg_url
    store_url = pg_url  # with a PostgreSQL source, ERP tables and store share one database
    monkeypatch.setenv("SHOP_URL", source_url)
    erp = shop_kit.create(source_url)
    shop_kit.add_customers(
        erp,
        [
            ("C1", "上海华东精密机械有限公司", "info@hdjm.cn", shop_kit.T0),
            ("C2", "Robert'); DROP TABLE customers;--", "bobby@example.com", shop_kit.T0),
            *[(f"C{i}", f"Kunde {i}", f"k{i}@example.de", shop_kit.T0) for i in (0, 3, 4, 5, 6)],
        ],
    )
    shop_kit.add_orders(erp, 250)
    config = load_config(shop_kit.write_files(tmp_path, store_url, batch=64))
    store = open_store(config.store_url())
    engine = SyncEngine(config, store)

    full = engine.sync_source("shop")
    assert [(r.stream, r.status, r.counts.rows_read) for r in full] == [
        ("customers", "success", 7),
        ("orders", "success", 250),
    ]

    with erp.begin() as conn:
        later = shop_kit.T0 + timedelta(days=30)
        conn.execute(
            update(shop_kit.orders)
            .where(shop_kit.orders.c.id <= 5)
            .values(status="S", updated_at=later)
        )
    shop_kit.add_orders(erp, 3, start=251, t0=shop_kit.T0 + timedelta(days=31))
    incremental = engine.sync_source("shop")
    assert [(r.mode, r.counts.rows_read) for r in incremental] == [
        ("incremental", 0),
        ("incremental", 8),
    ]

    orders, customers = RECORD_TABLES["orders"], RECORD_TABLES["customers"]
    with store.connect() as conn:
        names = dict(conn.execute(select(customers.c.customer_id, customers.c.name)).all())
        total = conn.execute(
            select(orders.c.total_amount).where(orders.c.order_id == "7")
        ).scalar_one()
        shipped = conn.execute(select(orders.c.status).where(orders.c.order_id == "2")).scalar_one()
        count = len(conn.execute(select(orders.c.order_id)).all())
    assert names["C1"] == "上海华东精密机械有限公司"
    assert names["C2"] == "Robert'); DROP TABLE customers;--"  # stored verbatim
    assert total == Decimal("1.75") and isinstance(total, Decimal)
    assert shipped == "shipped" and count == 253
