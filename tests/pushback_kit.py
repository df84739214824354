"""A small demo world for push-back tests: the legacy ERP (finance, credit) and the modern
ERP on SQLite, pulled and reconciled once into a SQLite store, copied fresh per test; and
the legacy ERP on PostgreSQL with a PostgreSQL store (:func:`build_pg`)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text

from crm_core.golden import reconcile
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import source_links
from sample_erps import legacy_erp, legacy_erp_schema, scenario
from schemas.settings import HubConfig, load_config

AS_OF = date(2026, 11, 20)


def build(folder: Path, customers: int = 40) -> Path:
    """Prepare, pull and reconcile the world in ``folder``; return its config path."""
    scenario.prepare(
        folder, seed=7, customers=customers, as_of=AS_OF, systems=("legacy_erp", "modern_erp")
    )
    config = load_config(folder / scenario.CONFIG_NAME)
    store = open_store(config.store_url())
    try:
        engine = SyncEngine(config, store)
        for source in config.sources:
            engine.sync_source(source)
        reconcile(store, config.reconcile, full=True)
    finally:
        store.dispose()
    return folder / scenario.CONFIG_NAME


def copy(template: Path, folder: Path) -> Path:
    """A fresh copy of a built world; returns the copy's config path."""
    shutil.copytree(template.parent, folder, dirs_exist_ok=True)
    return folder / template.name


def open_world(config_path: Path) -> tuple[HubConfig, Engine]:
    """The config and the migrated store of a world."""
    config = load_config(config_path)
    return config, open_store(config.store_url())


def shared_customer(store: Engine) -> tuple[str, str]:
    """A golden customer with records in both ERPs, and its legacy customer number."""
    with store.connect() as conn:
        rows = conn.execute(
            select(source_links.c.golden_id, source_links.c.source, source_links.c.source_key)
        ).all()
    by_golden: dict[str, dict[str, str]] = {}
    for golden, source, key in rows:
        by_golden.setdefault(golden, {}).setdefault(source, key)
    for golden in sorted(by_golden):
        if {"legacy_erp", "modern_erp"} <= set(by_golden[golden]):
            return golden, by_golden[golden]["legacy_erp"]
    raise AssertionError("no customer is in both ERPs")


def legacy(config_path: Path) -> Engine:
    """An engine on the world's legacy ERP."""
    return create_engine(f"sqlite:///{config_path.parent / 'legacy_erp.db'}")


def legacy_row(config_path: Path, table: str, where: str, **params: Any) -> dict[str, Any] | None:
    """One row of the legacy ERP, or None."""
    engine = legacy(config_path)
    try:
        with engine.connect() as conn:
            row = conn.execute(text(f"SELECT * FROM {table} WHERE {where}"), params).mappings()
            found = row.first()
            return dict(found) if found else None
    finally:
        engine.dispose()


def legacy_exec(config_path: Path, sql: str, **params: Any) -> None:
    """Run one statement on the legacy ERP (the back office changing something)."""
    engine = legacy(config_path)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


# --- the legacy ERP and the store on PostgreSQL ---------------------------------------------
PG_CONFIG = """\
store:
  url: {store_url}
sources:
{source}
push_back:
  backoff_seconds: 0
  ownership:
    customers:
      fields:
        email: {{owner: crm, targets: [legacy_erp], on_conflict: newest_wins}}
        phone: {{owner: crm, targets: [legacy_erp], on_conflict: manual}}
    credit:
      fields:
        credit_limit: {{owner: legacy_erp, crm: request, on_conflict: owner_wins}}
"""

#: Every update of the legacy ERP's customer file, logged by the database: how often each
#: record was written.
WRITE_LOG = """
CREATE TABLE hub_test_writes (ccust char(10) NOT NULL, phone char(20));
CREATE FUNCTION hub_test_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO hub_test_writes VALUES (NEW."CCUST", NEW."CPHON");
    RETURN NULL;
END $$;
CREATE TRIGGER hub_test_log_write AFTER UPDATE ON "RCM"
    FOR EACH ROW EXECUTE FUNCTION hub_test_log_write();
"""


def build_pg(folder: Path, store_url: str, erp_url: str, customers: int = 40) -> Path:
    """The legacy ERP generated into the PostgreSQL database ``erp_url`` (with a log of the
    updates of its customer file), pulled and reconciled into the PostgreSQL store
    ``store_url``; returns the config's path in ``folder``."""
    engine = create_engine(erp_url)
    try:
        legacy_erp_schema.create_schema(engine)
        legacy_erp.generate(engine, seed=7, as_of=AS_OF, customers=customers)
        with engine.begin() as conn:
            conn.exec_driver_sql(WRITE_LOG)
    finally:
        engine.dispose()
    mapping = files("mappings").joinpath("legacy_erp.yaml")
    source = scenario.LEGACY_SOURCE.format().replace("sqlite:///legacy_erp.db", erp_url)
    source = source.replace("mappings/legacy_erp.yaml", str(mapping))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / scenario.CONFIG_NAME
    path.write_text(PG_CONFIG.format(store_url=store_url, source=source), encoding="utf-8")
    config, store = open_world(path)
    try:
        SyncEngine(config, store).sync_source("legacy_erp")
        reconcile(store, config.reconcile, full=True)
    finally:
        store.dispose()
    return path


def legacy_customers(store: Engine) -> list[tuple[str, str]]:
    """(golden id, legacy customer number) of the golden customers with exactly one record
    in the legacy ERP, by golden id."""
    with store.connect() as conn:
        rows = conn.execute(
            select(source_links.c.golden_id, func.min(source_links.c.source_key))
            .where(source_links.c.source == "legacy_erp", source_links.c.stream == "customers")
            .group_by(source_links.c.golden_id)
            .having(func.count() == 1)
            .order_by(source_links.c.golden_id)
        ).all()
    return [(golden, key) for golden, key in rows]


def writes_per_customer(erp_url: str) -> dict[str, int]:
    """How often push-back (or anyone) updated each customer of the PostgreSQL legacy ERP."""
    engine = create_engine(erp_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT rtrim(ccust), COUNT(*) FROM hub_test_writes GROUP BY 1")
            ).all()
    finally:
        engine.dispose()
    return {key: n for key, n in rows}


@contextmanager
def scratch_pg(admin_url: str, prefix: str = "crmhub_test_erp") -> Iterator[str]:
    """A fresh PostgreSQL database (its SQLAlchemy URL), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def erp_exec(erp_url: str, sql: str, **params: Any) -> None:
    """Run one statement on an ERP's database (the back office changing something)."""
    engine = create_engine(erp_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def erp_value(erp_url: str, sql: str, **params: Any) -> Any:
    """The first column of the first row a query on an ERP's database returns, or None."""
    engine = create_engine(erp_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()
