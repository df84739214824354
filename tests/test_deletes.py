"""Deletes: what the back office removed is soft-deleted in the store, never removed.

On SQLite and PostgreSQL stores, for the three connector kinds: SQL (a SQLite shop), ODBC
(the same shop on PostgreSQL through psqlODBC) and REST (the sample REST ERP, and a tiny
API that sends tombstones)."""

# ruff: noqa: F401, F811 - the REST fixtures come from tests.rest_erp_kit

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import Engine, delete, select, update

from crm_core.ledger import runs
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, quarantine
from sample_erps.rest_erp.schema import ORDERS as REST_ORDERS
from schemas.settings import DeletesConfig, HubConfig, load_config
from tests import rest_erp_kit, shop_kit
from tests.modern_odbc_kit import odbc_url
from tests.rest_erp_kit import erp, erp_db, erp_template

ORDERS = RECORD_TABLES["orders"]


def _odbc_config(folder: Path, store_url: str, source_url: str, mp: pytest.MonkeyPatch) -> Path:
    """The shop's config with its source read through ODBC from PostgreSQL."""
    mp.setenv("SHOP_URL", odbc_url(source_url))
    path = shop_kit.write_files(folder, store_url, batch=10)
    text = path.read_text(encoding="utf-8").replace(
        "kind: sql", "kind: odbc\n    options: {driver: PostgreSQL Unicode}"
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(params=["sql-sqlite", "sql-postgres", "odbc-sqlite", "odbc-postgres"])
def shop(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Engine, HubConfig, Engine]:
    """The shop ERP (SQL on SQLite, or ODBC on PostgreSQL) and a store on SQLite or
    PostgreSQL; its orders stream declares ``deletes: detect``."""
    kind, store_kind = request.param.split("-")
    needs_pg = kind == "odbc" or store_kind == "postgres"
    pg = request.getfixturevalue("pg_url") if needs_pg else None
    store_url = f"sqlite:///{tmp_path / 'store.db'}" if store_kind == "sqlite" else pg
    assert store_url is not None
    if kind == "sql":
        erp, config, store = shop_kit.world(tmp_path, store_url, monkeypatch)
    else:
        assert pg is not None
        erp = shop_kit.create(pg)
        config = load_config(_odbc_config(tmp_path, store_url, pg, monkeypatch))
        store = open_store(config.store_url())
    config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate("detect")
    return erp, config, store


def _remove_orders(erp: Engine, ids: list[int]) -> None:
    with erp.begin() as conn:
        conn.execute(delete(shop_kit.orders).where(shop_kit.orders.c.id.in_(ids)))


def _deleted(store: Engine) -> dict[str, int | None]:
    with store.connect() as conn:
        rows = conn.execute(
            select(ORDERS.c.order_id, ORDERS.c.deleted_run_id).where(
                ORDERS.c.deleted_at.is_not(None)
            )
        ).all()
    return {r.order_id: r.deleted_run_id for r in rows}


def _stored(store: Engine) -> int:
    with store.connect() as conn:
        return len(conn.execute(select(ORDERS.c.order_id)).all())


def test_detect_deletes_marks_the_orders_the_source_no_longer_has(shop) -> None:
    erp, config, store = shop
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    [first] = engine.sync_source("shop", ["orders"])
    assert first.status == "success" and first.counts.rows_deleted == 0
    _remove_orders(erp, [4, 17, 29])
    [run] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert run.status == "success", run.error
    assert run.counts.rows_deleted == 3
    assert _deleted(store) == {"4": run.run_id, "17": run.run_id, "29": run.run_id}
    assert _stored(store) == 30  # soft: nothing physically removed
    [ledger] = runs.list_runs(store, source="shop", stream="orders", limit=1)
    assert ledger["rows_deleted"] == 3
    assert ledger["checks"]["deletes"]["source_keys"] == 27
    [again] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert again.counts.rows_deleted == 0 and len(_deleted(store)) == 3


def test_a_deleted_order_that_comes_back_is_undeleted(shop) -> None:
    erp, config, store = shop
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    _remove_orders(erp, [5])
    engine.sync_source("shop", ["orders"])
    assert list(_deleted(store)) == ["5"]
    shop_kit.add_orders(erp, 1, start=5, t0=shop_kit.T0 + timedelta(days=1))
    [back] = engine.sync_source("shop", ["orders"])
    assert back.status == "success" and _deleted(store) == {}


def test_a_detect_pass_that_would_delete_too_much_stops_and_says_why(shop) -> None:
    erp, config, store = shop
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    _remove_orders(erp, list(range(1, 11)))  # a third of the orders: over 20%
    [stopped] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert stopped.status == "failed" and "max_share" in (stopped.error or "")
    assert "10 of 30" in (stopped.error or "")
    assert _deleted(store) == {}
    [ledger] = runs.list_runs(store, source="shop", stream="orders", limit=1)
    assert ledger["status"] == "failed" and ledger["rows_deleted"] == 0
    config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate(
        {"detect": {}, "max_share": 0.5}
    )
    [allowed] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert allowed.status == "success" and allowed.counts.rows_deleted == 10


def test_an_empty_source_read_does_not_delete_the_store(shop) -> None:
    erp, config, store = shop
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    engine.sync_source("shop", ["orders"])
    _remove_orders(erp, list(range(1, 31)))
    config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate(
        {"detect": {}, "max_share": 1.0}
    )
    [stopped] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert stopped.status == "failed" and "no key at all" in (stopped.error or "")
    assert _deleted(store) == {}


def test_detect_deletes_every_n_runs_and_when_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    erp, config, store = shop_kit.world(tmp_path, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate(
        {"detect": {"every": 3}}
    )
    shop_kit.add_orders(erp, 30)
    engine = SyncEngine(config, store)
    passes = []
    for _ in range(7):
        [r] = engine.sync_source("shop", ["orders"])
        passes.append("deletes" in r.counts.checks)
    assert passes == [False, True, False, False, True, False, False]  # none on a first load
    [forced] = engine.sync_source("shop", ["orders"], detect_deletes=True)
    assert "deletes" in forced.counts.checks


def test_flag_deletes_mark_the_flagged_orders_and_are_not_failed_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_url: str
) -> None:
    for store_url in (f"sqlite:///{tmp_path / 's.db'}", pg_url):
        folder = tmp_path / store_url.split(":")[0]
        folder.mkdir()
        erp, config, store = shop_kit.world(folder, store_url, monkeypatch)
        config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate(
            {"flag": "status", "values": ["D"]}
        )
        shop_kit.add_orders(erp, 20)
        engine = SyncEngine(config, store)
        engine.sync_source("shop", ["orders"])
        with erp.begin() as conn:  # 'D' is no status the mapping knows: were it mapped, it
            conn.execute(  # would fail the code table and be quarantined
                update(shop_kit.orders)
                .where(shop_kit.orders.c.id.in_([2, 3]))
                .values(status="D", updated_at=shop_kit.T0 + timedelta(days=2))
            )
        [run] = engine.sync_source("shop", ["orders"])
        assert run.status == "success", run.error
        assert (run.counts.rows_read, run.counts.rows_deleted) == (2, 2)
        assert run.counts.rows_quarantined == 0
        assert set(_deleted(store)) == {"2", "3"}
        with store.connect() as conn:
            assert conn.execute(select(quarantine.c.id)).first() is None


@pytest.fixture(params=["sqlite", "postgres"])
def rest_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rest-store.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_rest_detect_deletes_reads_the_list_keeping_keys_only(
    erp, erp_db: Path, tmp_path: Path, rest_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_HUB_DATABASE_URL", rest_store)
    config, engine = rest_erp_kit.hub(tmp_path, erp.api_url)
    config.sources["rest_erp"].streams["orders"].deletes = DeletesConfig.model_validate("detect")
    [first] = engine.sync_source("rest_erp", ["orders"])
    source_db = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    with source_db.begin() as conn:
        gone = [r.id for r in conn.execute(select(REST_ORDERS.c.id).limit(2))]
        conn.execute(delete(REST_ORDERS).where(REST_ORDERS.c.id.in_(gone)))
    source_db.dispose()
    [run] = engine.sync_source("rest_erp", ["orders"], detect_deletes=True)
    assert run.status == "success", run.error
    assert run.counts.rows_deleted == 2
    assert set(_deleted(engine.store)) == set(gone)
    assert first.counts.rows_read == _stored(engine.store)


class _TombstoneApi(BaseHTTPRequestHandler):
    """GET /orders: orders, the second one a tombstone (``deleted: true``) once deleted."""

    records: ClassVar[list[dict[str, Any]]] = []

    def do_GET(self) -> None:
        body = json.dumps({"data": self.records}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tombstone_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TombstoneApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _order(n: int, at: str, deleted: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {"id": f"O{n}", "updated_at": at}
    if deleted:
        return {**record, "deleted": True}  # a tombstone carries the key alone
    return {
        **record,
        "customer_id": "C1",
        "order_date": "2026-01-01",
        "status": "N",
        "total": "1.50",
        "deleted": False,
    }


def test_rest_tombstones_delete_the_record(
    tombstone_api: str, tmp_path: Path, rest_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRM_HUB_DATABASE_URL", rest_store)
    (tmp_path / "shop.yaml").write_text(
        "system: api\nstreams:\n  orders:\n    entity: orders\n    fields:\n"
        "      order_id: id\n      customer_id: customer_id\n"
        "      order_date: {from: order_date, transforms: [date]}\n      status: "
        "{from: status, transforms: [{code: s}]}\n      total_amount: total\n"
        "      currency: {value: EUR}\n      updated_at: {from: updated_at, transforms: "
        "[datetime]}\ncode_tables:\n  s: {N: entered}\n",
        encoding="utf-8",
    )
    (tmp_path / "crm-hub.yaml").write_text(
        f"sources:\n  api:\n    kind: rest\n    url: {tombstone_api}\n    mapping: shop.yaml\n"
        "    streams:\n      orders:\n        primary_key: [id]\n        cursor: [updated_at]\n"
        "        deletes: {tombstone: deleted}\n        options: {path: /orders}\n",
        encoding="utf-8",
    )
    config = load_config(tmp_path / "crm-hub.yaml")
    engine = SyncEngine(config, open_store(config.store_url()))
    t1, t2 = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
    _TombstoneApi.records = [_order(1, t1), _order(2, t1)]
    [first] = engine.sync_source("api", ["orders"])
    assert first.status == "success" and first.counts.rows_loaded == 2, first.error
    _TombstoneApi.records = [_order(1, t1), _order(2, t2, deleted=True)]
    [run] = engine.sync_source("api", ["orders"])
    assert run.status == "success", run.error
    assert (run.counts.rows_deleted, run.counts.rows_quarantined) == (1, 0)
    assert list(_deleted(engine.store)) == ["O2"]


def test_deletes_config_shorthands_and_problems() -> None:
    assert DeletesConfig.model_validate("none").kind == "none"
    assert DeletesConfig().describe() == "none"
    detect = DeletesConfig.model_validate({"detect": {"every": 6}, "max_share": 0.05})
    assert detect.describe() == "detect (every 6 runs, stops above 5%)"
    assert DeletesConfig.model_validate({"flag": "HSTAT", "values": ["D", "CZ"]}).flag_rule() == (
        "HSTAT",
        ["D", "CZ"],
    )
    for bad in ("sometimes", {"flag": "HSTAT"}, {"detect": {}, "flag": "X", "values": ["D"]}):
        with pytest.raises(ValueError):
            DeletesConfig.model_validate(bad)


def test_check_shows_how_each_streams_deletes_are_known_and_sync_forces_a_pass(
    tmp_path: Path,
) -> None:
    from tests.test_cli import crm_hub

    source = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(source)
    shop_kit.add_orders(erp, 30)
    path = shop_kit.write_files(tmp_path, f"sqlite:///{tmp_path / 'store.db'}")
    text = path.read_text(encoding="utf-8").replace(
        "orders: {table: shop_orders, primary_key: [id], cursor: [updated_at]}",
        "orders: {table: shop_orders, primary_key: [id], cursor: [updated_at],"
        " deletes: {detect: {every: 24}}}",
    )
    path.write_text(text, encoding="utf-8")
    env = {"SHOP_URL": source}
    check = crm_hub("--config", str(path), "check", cwd=tmp_path, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "shop.customers: deletes none" in check.stdout
    assert "shop.orders: deletes detect (every 24 runs, stops above 20%)" in check.stdout
    assert crm_hub("--config", str(path), "sync", "shop", cwd=tmp_path, env=env).returncode == 0
    _remove_orders(erp, [3])
    sync = crm_hub(
        "--config", str(path), "sync", "shop", "--stream", "orders", "--detect-deletes",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert sync.returncode == 0, sync.stdout + sync.stderr
    assert "1 deleted" in sync.stdout
    status = json.loads(
        crm_hub("--config", str(path), "status", "--json", cwd=tmp_path, env=env).stdout
    )
    assert status[0]["stream"] == "orders" and status[0]["rows_deleted"] == 1
    shown = crm_hub(
        "--config", str(path), "status", cwd=tmp_path, env={**env, "COLUMNS": "400"}
    ).stdout.replace("┃", "│")  # fmt: skip
    rows = [[c.strip() for c in line.strip("│").split("│")] for line in shown.splitlines()]
    header = next(cells for cells in rows if "deleted" in cells)
    orders = next(cells for cells in rows if "orders" in cells)
    assert orders[header.index("deleted")] == "1"  # the table says it too
