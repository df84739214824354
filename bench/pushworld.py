"""The push-back benchmark's worlds, each pulled and reconciled once into a PostgreSQL store.

- ``pg``: the sample legacy ERP (BPCS / JD Edwards shaped, :mod:`sample_erps.legacy_erp`)
  generated into a scratch PostgreSQL database; the CRM owns phone and e-mail and writes
  them there, the ERP books concessions (the CRM requests them);
- ``rest``: the sample REST ERP (:mod:`sample_erps.rest_erp`, SQLite behind its HTTP API)
  served on loopback by a child process; the CRM writes phone and e-mail there.

The worlds are rebuilt on every run: push-back changes the targets.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, func, select

from bench import pgdata
from bench.measure import ROOT
from crm_core.golden import reconcile
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import source_links
from sample_erps import legacy_erp, rest_erp
from sample_erps.legacy_erp_schema import create_schema
from sample_erps.rest_erp.demo_config import source_config
from sample_erps.scenario import LEGACY_SOURCE
from schemas.settings import load_config

ERP_DB = "crmhub_bench_push_erp"
STORE_DB = "crmhub_bench_push_store"
REST_STORE_DB = "crmhub_bench_push_rest_store"
AS_OF = date(2026, 11, 20)
SEED = 7
#: Share of customers the generators enter twice (about 2%), and a margin over it: the
#: changes go to customers with exactly one record in the target, one write per change.
SPARE = 1.08

CONFIG = """\
store:
  url: {store_url}
defaults:
  batch_size: 10000
sources:
{sources}
push_back:
  # one run drains the whole benchmark (the default is 1,000 changes per run)
  batch_size: {batch_size}
  ownership:
    customers:
      fields:
        email: {{owner: crm, targets: [{target}], on_conflict: newest_wins}}
        phone: {{owner: crm, targets: [{target}], on_conflict: manual}}
{concessions}"""

CONCESSIONS = """\
    concessions:
      fields:
        "*": {owner: legacy_erp, crm: request, on_conflict: manual}
"""

#: A write log on the legacy ERP's customer file: when each update reached the target,
#: by the database's own clock (for the latency measurement).
WRITE_LOG = """
CREATE TABLE bench_writes (
    ccust char(10) NOT NULL, phone char(20), email char(60), at timestamptz NOT NULL
);
CREATE FUNCTION bench_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_writes VALUES (NEW."CCUST", NEW."CPHON", NEW."CEMAIL", clock_timestamp());
    RETURN NULL;
END $$;
CREATE TRIGGER bench_log_write AFTER UPDATE ON "RCM"
    FOR EACH ROW EXECUTE FUNCTION bench_log_write();
"""


@dataclass
class World:
    """A target system, a store pulled and reconciled from it, and its config."""

    name: str
    target: str
    config: Path
    #: the target's API base (REST) or database URL (PostgreSQL)
    url: str
    #: (golden id, the target's customer key) of customers with exactly one record there
    customers: list[tuple[str, str]]


def _mapping(system: str) -> str:
    return str(files("mappings").joinpath(f"{system}.yaml"))


def _write_config(folder: Path, store_db: str, sources: str, target: str, batch: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "crm-hub.yaml"
    path.write_text(
        CONFIG.format(
            store_url=pgdata.url(store_db, "postgresql+psycopg"),
            sources=sources,
            batch_size=max(1000, batch),
            target=target,
            concessions=CONCESSIONS if target == "legacy_erp" else "",
        ),
        encoding="utf-8",
    )
    return path


def _pull_and_reconcile(config_path: Path, source: str, streams: list[str] | None) -> None:
    """Sync ``source`` in full and reconcile, as ``crm-hub sync`` and ``reconcile`` do."""
    config = load_config(config_path)
    store = open_store(config.store_url())
    try:
        results = SyncEngine(config, store).sync_source(source, streams, True)
        failed = [f"{r.stream}: {r.error}" for r in results if r.error]
        if failed:
            raise SystemExit(f"pulling {source} failed: " + "; ".join(failed))
        reconcile(store, config.reconcile, full=True)
    finally:
        store.dispose()


def single_record_customers(config_path: Path, target: str) -> list[tuple[str, str]]:
    """Golden customers with exactly one record in ``target``, with that record's key."""
    config = load_config(config_path)
    store = open_store(config.store_url())
    try:
        with store.connect() as conn:
            rows = conn.execute(
                select(source_links.c.golden_id, func.min(source_links.c.source_key))
                .where(source_links.c.source == target, source_links.c.stream == "customers")
                .group_by(source_links.c.golden_id)
                .having(func.count() == 1)
                .order_by(source_links.c.golden_id)
            ).all()
    finally:
        store.dispose()
    return [(g, k) for g, k in rows]


def _vacuum(*databases: str) -> None:
    """Settle the databases after the bulk loads (statistics, a checkpoint), so the timed
    runs do not pay for them."""
    for db in databases:
        with psycopg.connect(pgdata.url(db), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    with psycopg.connect(pgdata.ADMIN_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def build_pg(
    folder: Path, customers: int, batch: int, *, erp_db: str = ERP_DB, store_db: str = STORE_DB
) -> World:
    """The legacy ERP on PostgreSQL (database ``erp_db``) with about ``customers``
    customers, pulled and reconciled into a fresh PostgreSQL store (``store_db``)."""
    for db in (erp_db, store_db):
        pgdata.recreate_database(db)
    erp_url = pgdata.url(erp_db, "postgresql+psycopg")
    engine = create_engine(erp_url)
    try:
        create_schema(engine)
        legacy_erp.generate(engine, seed=SEED, as_of=AS_OF, customers=round(customers * SPARE))
    finally:
        engine.dispose()
    source = LEGACY_SOURCE.format().replace("sqlite:///legacy_erp.db", erp_url)
    source = source.replace("mappings/legacy_erp.yaml", _mapping("legacy_erp"))
    config = _write_config(folder, store_db, source, "legacy_erp", batch)
    _pull_and_reconcile(config, "legacy_erp", None)
    _vacuum(erp_db, store_db)
    customers = single_record_customers(config, "legacy_erp")
    return World("pg", "legacy_erp", config, pgdata.url(erp_db), customers)


def generate_rest(db: Path, customers: int) -> None:
    """A fresh sample REST ERP file with about ``customers`` customers."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{db}")
    try:
        rest_erp.create_schema(engine)
        rest_erp.generate(engine, seed=SEED, as_of=AS_OF, customers=round(customers * SPARE))
    finally:
        engine.dispose()


@contextmanager
def rest_server(db: Path) -> Iterator[str]:
    """The sample REST ERP on ``db`` served by a child process on a free loopback port, for
    the duration of a ``with`` block; yields its API base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sample_erps.rest_erp", "serve", "--db", str(db), "--port", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        if " at " not in line:
            raise SystemExit(f"the sample REST ERP did not start: {line!r}")
        yield line.split(" at ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def build_rest(folder: Path, api_url: str, batch: int) -> World:
    """A fresh PostgreSQL store that pulled the REST ERP's customers and reconciled them."""
    pgdata.recreate_database(REST_STORE_DB)
    source = source_config(api_url, mapping=_mapping("rest_erp"), page_size=1000)
    config = _write_config(folder, REST_STORE_DB, source, "rest_erp", batch)
    _pull_and_reconcile(config, "rest_erp", ["customers"])
    _vacuum(REST_STORE_DB)
    return World("rest", "rest_erp", config, api_url, single_record_customers(config, "rest_erp"))


def install_write_log(erp_db: str = ERP_DB) -> None:
    """Log every update of the legacy ERP's customer file with the time it happened."""
    with psycopg.connect(pgdata.url(erp_db), autocommit=True) as conn:
        conn.execute(WRITE_LOG)


def save_plan(path: Path, plan: dict[str, Any]) -> Path:
    """Write a plan of changes for a child job (too big for its command line)."""
    path.write_text(json.dumps(plan), encoding="utf-8")
    return path


def landed_pg(url: str, items: list[dict[str, Any]]) -> int:
    """How many of the plan's changes the legacy ERP holds now (values and concessions)."""
    fields = [i for i in items if i["kind"] != "concession"]
    refs = [i["value"] for i in items if i["kind"] == "concession"]
    with psycopg.connect(url) as conn:
        values = conn.execute(
            """
            SELECT count(*) FROM "RCM" r
            JOIN unnest(%s::text[], %s::text[]) AS p(k, v) ON rtrim(r."CCUST") = p.k
             AND (rtrim(r."CPHON") = p.v OR rtrim(r."CEMAIL") = p.v)
            """,
            ([i["key"].strip() for i in fields], [i["value"] for i in fields]),
        ).fetchone()
        booked = conn.execute('SELECT count(*) FROM "RCN" WHERE "NREF" = ANY(%s)', (refs,))
        return int(values[0]) + int(booked.fetchone()[0])  # type: ignore[index]


def landed_rest(db: Path, items: list[dict[str, Any]]) -> int:
    """How many of the plan's changes the REST ERP's own database holds now."""
    with sqlite3.connect(db) as conn:
        found = {
            (ident, value)
            for ident, phone, email in conn.execute("SELECT id, phone, email FROM customers")
            for value in (phone, email)
        }
    return sum((i["key"], i["value"]) in found for i in items)
