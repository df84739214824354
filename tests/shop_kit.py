"""A tiny 'modern' ERP used by the engine, connector and CLI tests: one SQL table of
customers and one of orders with timestamp cursors, and its mapping and config files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
)

from crm_core.store.db import open_store
from schemas.settings import HubConfig, load_config

meta = MetaData()
customers = Table(
    "shop_customers",
    meta,
    Column("id", String(20), primary_key=True),
    Column("name", String(200), nullable=True),
    Column("email", String(200)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
orders = Table(
    "shop_orders",
    meta,
    Column("id", Integer, primary_key=True),
    Column("customer_id", String(20), nullable=False),
    Column("ordered_on", String(10)),
    Column("status", String(1)),
    Column("total", Numeric(12, 2)),
    Column("currency", String(3)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)

MAPPING = """\
system: shop
timezone: UTC
code_tables:
  status: {N: entered, C: confirmed, S: shipped, X: cancelled}
streams:
  customers:
    entity: customers
    fields:
      customer_id: id
      name: {from: name, transforms: [trim]}
      email: {from: email, transforms: [trim, lower]}
      updated_at: updated_at
  orders:
    entity: orders
    fields:
      order_id: {from: id, transforms: [to_str]}
      customer_id: customer_id
      order_date: {from: ordered_on, transforms: [{date: "%Y-%m-%d"}]}
      status: {from: status, transforms: [{code: status}]}
      total_amount: total
      currency: {from: currency, default: EUR}
      updated_at: updated_at
"""

CONFIG = """\
store:
  url: {store}
defaults:
  batch_size: {batch}
sources:
  shop:
    kind: sql
    url_env: SHOP_URL
    mapping: shop.yaml
    streams:
      customers: {{table: shop_customers, primary_key: [id], cursor: [updated_at]}}
      orders: {{table: shop_orders, primary_key: [id], cursor: [updated_at]}}
"""


def create(url: str) -> Engine:
    """Create the shop's tables at ``url`` (dropping old ones)."""
    engine = create_engine(url)
    meta.drop_all(engine)
    meta.create_all(engine)
    return engine


def add_customers(engine: Engine, rows: Iterable[tuple[str, str | None, str, datetime]]) -> None:
    """Insert customers (id, name, email, updated_at)."""
    with engine.begin() as conn:
        conn.execute(
            customers.insert(),
            [{"id": i, "name": n, "email": e, "updated_at": t} for i, n, e, t in rows],
        )


def add_orders(
    engine: Engine, n: int, start: int = 1, same_time: bool = False, t0: datetime = T0
) -> None:
    """Insert ``n`` good orders; with ``same_time`` they all share one updated_at value."""
    with engine.begin() as conn:
        conn.execute(
            orders.insert(),
            [
                {
                    "id": i,
                    "customer_id": f"C{i % 7}",
                    "ordered_on": "2025-01-02",
                    "status": "NCSX"[i % 4],
                    "total": Decimal(i) / 4,
                    "currency": "EUR",
                    "updated_at": t0 if same_time else t0 + timedelta(minutes=i),
                }
                for i in range(start, start + n)
            ],
        )


def mapped_orders(ids: Sequence[int], total: str) -> pl.DataFrame:
    """Order rows of the store's model, as the sync hands them to the loader."""
    return pl.DataFrame(
        {
            "order_id": [str(i) for i in ids],
            "customer_id": ["C1"] * len(ids),
            "status": ["confirmed"] * len(ids),
            "currency": ["EUR"] * len(ids),
            "total_amount": [Decimal(total)] * len(ids),
            "updated_at": [T0] * len(ids),
        },
        schema_overrides={"total_amount": pl.Decimal(18, 4)},
    ).with_columns(
        pl.lit(date(2025, 1, 2)).alias("order_date"),
        pl.lit(None, dtype=pl.Date).alias("requested_date"),
    )


def write_files(folder: Path, store_url: str, batch: int = 1000) -> Path:
    """Write shop.yaml and crm-hub.yaml into ``folder``; return the config path."""
    (folder / "shop.yaml").write_text(MAPPING, encoding="utf-8")
    path = folder / "crm-hub.yaml"
    path.write_text(CONFIG.format(store=store_url, batch=batch), encoding="utf-8")
    return path


def world(
    folder: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, batch: int = 10
) -> tuple[Engine, HubConfig, Engine]:
    """The shop ERP in a SQLite file under ``folder`` ($SHOP_URL), its mapping and config
    (batches of ``batch``), and the store at ``store_url``, migrated."""
    source_url = f"sqlite:///{folder / 'shop.db'}"
    monkeypatch.setenv("SHOP_URL", source_url)
    erp = create(source_url)
    config = load_config(write_files(folder, store_url, batch=batch))
    return erp, config, open_store(config.store_url())
