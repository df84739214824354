"""A small demo world for push-back tests: the legacy ERP (finance, credit) and the modern
ERP on SQLite, pulled and reconciled once into a SQLite store, copied fresh per test."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, select, text

from crm_core.golden import reconcile
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import source_links
from sample_erps import scenario
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
