"""Deletes a REST source lists (``deletes: {deleted_since: ...}``): the sample REST ERP's
``GET /orders/deleted?since=...`` read after the stream's deletes position, each id marked
deleted in the store (SQLite and PostgreSQL) with the position, in one transaction."""

# ruff: noqa: F401, F811 - the REST fixtures come from tests.rest_erp_kit

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from sqlalchemy import Engine, insert, select

from connectors.rest import RestConnector
from crm_core.ledger import runs
from crm_core.pull import state
from crm_core.pull.sync import SyncEngine
from crm_core.store.tables import RECORD_TABLES, source_links
from sample_erps.rest_erp import deletions, stamps
from sample_erps.rest_erp.api import RESOURCES
from sample_erps.rest_erp.faults import Fault
from sample_erps.rest_erp.schema import DELETED_RECORDS
from sample_erps.rest_erp.schema import ORDERS as ERP_ORDERS
from sample_erps.rest_erp.server import RestErpServer
from schemas.errors import ConfigError
from schemas.settings import DeletesConfig, HubConfig, SourceConfig, StreamConfig
from tests import rest_erp_kit
from tests.rest_erp_kit import erp, erp_db, erp_template

ORDERS = RECORD_TABLES["orders"]
T1 = datetime(2027, 1, 5, 8, 0, tzinfo=UTC)
LISTED = {"deleted_since": {"path": "/orders/deleted", "key": "id", "since_param": "since"}}


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("pg_url"))


def _hub(
    tmp_path: Path, erp: RestErpServer, store_url: str, mp: pytest.MonkeyPatch
) -> tuple[HubConfig, SyncEngine]:
    """The sample ERP's hub with a store at ``store_url``; its orders list their deletes."""
    mp.setenv("CRM_HUB_DATABASE_URL", store_url)
    config, engine = rest_erp_kit.hub(tmp_path, erp.api_url)
    config.sources["rest_erp"].streams["orders"].deletes = DeletesConfig.model_validate(LISTED)
    return config, engine


def _erp_orders(erp_db: Path, n: int, skip: int = 0) -> list[str]:
    engine = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    with engine.connect() as conn:
        ids = list(conn.execute(select(ERP_ORDERS.c.id).order_by(ERP_ORDERS.c.id)).scalars())
    engine.dispose()
    return ids[skip : skip + n]


def _delete(erp_db: Path, ids: list[str], at: datetime | None = None) -> None:
    engine = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    assert deletions.delete_records(engine, RESOURCES["orders"], ids, at) == sorted(ids)
    engine.dispose()


def _deleted(store: Engine) -> dict[str, int | None]:
    with store.connect() as conn:
        rows = conn.execute(
            select(ORDERS.c.order_id, ORDERS.c.deleted_run_id).where(
                ORDERS.c.source == "rest_erp", ORDERS.c.deleted_at.is_not(None)
            )
        ).all()
    return {r.order_id: r.deleted_run_id for r in rows}


def _asked(erp: RestErpServer) -> list[dict[str, list[str]]]:
    """The query of each request for the deleted orders, in order."""
    return [parse_qs(e.query) for e in erp.requests_to("/api/v1/orders/deleted")]


def test_deleted_since_marks_exactly_the_listed_orders(
    erp, erp_db: Path, tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config, engine = _hub(tmp_path, erp, store_url, monkeypatch)
    [first] = engine.sync_source("rest_erp", ["orders"])
    assert first.status == "success", first.error
    assert first.counts.checks["deletes"]["listed"] == 0
    gone = _erp_orders(erp_db, 3, skip=5)
    _delete(erp_db, gone)
    [run] = engine.sync_source("rest_erp", ["orders"])
    assert run.status == "success", run.error
    assert run.counts.rows_deleted == 3
    assert _deleted(engine.store) == dict.fromkeys(gone, run.run_id)
    with engine.store.connect() as conn:  # soft: every order is still there
        assert len(conn.execute(select(ORDERS.c.order_id)).all()) == first.counts.rows_loaded
    [ledger] = runs.list_runs(engine.store, source="rest_erp", stream="orders", limit=1)
    assert ledger["rows_deleted"] == 3
    checks = ledger["checks"]["deletes"]
    assert (checks["pass"], checks["listed"], checks["deleted"], checks["unknown"]) == (
        "deleted_since",
        3,
        3,
        0,
    )
    with engine.store.connect() as conn:
        position = state.get_position(conn, "rest_erp", state.deletes_name("orders"))
    assert position is not None and position[1] == max(gone)


def test_deleted_since_position_advances_and_a_reread_marks_nothing(
    erp, erp_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    engine.sync_source("rest_erp", ["orders"])
    t1 = T1
    early = _erp_orders(erp_db, 2)
    _delete(erp_db, early, t1)
    [one] = engine.sync_source("rest_erp", ["orders"])
    assert one.counts.rows_deleted == 2
    late = _erp_orders(erp_db, 1, skip=10)
    _delete(erp_db, late, t1 + timedelta(hours=1))
    [two] = engine.sync_source("rest_erp", ["orders"])
    assert two.status == "success", two.error
    assert two.counts.rows_deleted == 1
    assert two.counts.checks["deletes"]["listed"] == 1  # only the newer deletion
    assert _asked(erp)[-1]["since"] == [t1.isoformat()]
    assert _deleted(engine.store) == {
        **dict.fromkeys(early, one.run_id),
        **dict.fromkeys(late, two.run_id),
    }
    # a lookback reads both deletions again: the position drops them, nothing is marked
    listed = config.sources["rest_erp"].streams["orders"].deletes.deleted_since
    assert listed is not None
    listed.lookback_seconds = 7200
    [three] = engine.sync_source("rest_erp", ["orders"])
    assert (three.counts.rows_deleted, three.counts.checks["deletes"]["listed"]) == (0, 0)
    assert _asked(erp)[-1]["since"] == [(t1 - timedelta(hours=1)).isoformat()]


def test_deleted_since_counts_an_unknown_id_and_does_not_fail(
    erp, erp_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config, engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    engine.sync_source("rest_erp", ["orders"])
    gone = _erp_orders(erp_db, 1)
    _delete(erp_db, gone)
    source = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    with source.begin() as conn:  # an order made and deleted between two runs
        conn.execute(
            insert(DELETED_RECORDS).values(
                resource="orders",
                record_id="SO-NEVER-SEEN",
                deleted_at="2027-01-01 00:00:00.000000",
            )
        )
    source.dispose()
    [run] = engine.sync_source("rest_erp", ["orders"])
    assert run.status == "success", run.error
    checks = run.counts.checks["deletes"]
    assert (run.counts.rows_deleted, checks["listed"], checks["unknown"]) == (1, 2, 1)
    assert list(_deleted(engine.store)) == gone


def test_deleted_since_an_order_deleted_then_restored_stays_live(
    erp, erp_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The list of deletes is applied before the read: a record deleted and restored under
    the same key (Salesforce's undelete) between two runs ends live, as in the source."""
    _config, engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    engine.sync_source("rest_erp", ["orders"])
    [order] = _erp_orders(erp_db, 1)
    source = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    with source.connect() as conn:
        row = conn.execute(select(ERP_ORDERS).where(ERP_ORDERS.c.id == order)).one()._asdict()
    _delete(erp_db, [order], T1)
    with source.begin() as conn:
        conn.execute(
            insert(ERP_ORDERS).values(row | {"updated_at": stamps.stored(T1 + timedelta(hours=1))})
        )
    source.dispose()
    [run] = engine.sync_source("rest_erp", ["orders"])
    assert run.status == "success", run.error
    assert run.counts.checks["deletes"]["deleted"] == 1 and run.counts.rows_read == 1
    assert _deleted(engine.store) == {}


def test_deleted_since_endpoint_failing_fails_the_run_retriably_marking_nothing(
    erp, erp_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _config, engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    engine.sync_source("rest_erp", ["orders"])
    _delete(erp_db, _erp_orders(erp_db, 2))
    erp.faults.add(Fault(kind="status", status=500, path="/api/v1/orders/deleted", times=None))
    [run] = engine.sync_source("rest_erp", ["orders"])
    assert run.status == "failed" and run.retriable, run.error
    assert "orders/deleted" in (run.error or "") and "500" in (run.error or "")
    assert run.counts.rows_deleted == 0 and run.counts.rows_read == 0  # the read waits
    assert _deleted(engine.store) == {}
    with engine.store.connect() as conn:
        assert state.get_position(conn, "rest_erp", state.deletes_name("orders")) is None
    erp.faults.clear()
    [again] = engine.sync_source("rest_erp", ["orders"])
    assert again.status == "success" and again.counts.rows_deleted == 2


def test_deleted_since_order_leaves_the_customers_orders_in_the_api(
    erp, erp_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from crm_core.access.api_keys import create_key
    from crm_core.api import create_app
    from crm_core.golden import reconcile

    config, engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    for stream in ("customers", "orders"):
        assert engine.sync_source("rest_erp", [stream])[0].status == "success"
    reconcile(engine.store, config.reconcile, full=True)
    [order] = _erp_orders(erp_db, 1)
    source = rest_erp_kit.create_engine(f"sqlite:///{erp_db}")
    with source.connect() as conn:
        customer = conn.execute(
            select(ERP_ORDERS.c.customer_id).where(ERP_ORDERS.c.id == order)
        ).scalar_one()
    source.dispose()
    with engine.store.connect() as conn:
        golden_id = conn.execute(
            select(source_links.c.golden_id).where(
                source_links.c.source == "rest_erp", source_links.c.source_key == customer
            )
        ).scalar_one()
    _info, key = create_key(engine.store, "viewer", "tests")
    auth = {"Authorization": f"Bearer {key}"}

    def listed(client: TestClient, **query: str) -> dict[str, bool]:
        page = client.get(
            f"/customers/{golden_id}/orders", params={"limit": "200", **query}, headers=auth
        ).json()
        return {o["order_id"]: o["deleted"] for o in page["items"] if o["source"] == "rest_erp"}

    with TestClient(create_app(config, store=engine.store, search_refresh_seconds=0)) as client:
        assert order in listed(client)
        _delete(erp_db, [order])
        [run] = engine.sync_source("rest_erp", ["orders"])
        assert run.status == "success" and run.counts.rows_deleted == 1, run.error
        assert order not in listed(client)
        assert listed(client, include_deleted="true")[order] is True


def test_deleted_since_config_problems_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="one way of knowing deletes, not flag and deleted_since"):
        DeletesConfig.model_validate({"flag": "s", "values": ["D"], **LISTED})
    with pytest.raises(ValueError, match=r"deleted_since\.path\n  Field required"):
        DeletesConfig.model_validate({"deleted_since": {"key": "id"}})
    with pytest.raises(ValueError, match="max_share belongs to detect"):
        DeletesConfig.model_validate({**LISTED, "max_share": 0.5})
    with pytest.raises(ValueError, match="one per primary-key field"):
        StreamConfig.model_validate(
            {"primary_key": ["order_id", "line_no"], "deletes": LISTED, "options": {}}
        )
    with pytest.raises(ValueError, match="initial_lookback_days needs moments"):
        DeletesConfig.model_validate(
            {"deleted_since": {"path": "/x", "at_type": "int", "initial_lookback_days": 3}}
        )
    listed = DeletesConfig.model_validate(LISTED)
    assert listed.kind == "deleted_since" and listed.flag_rule() is None
    assert listed.describe() == (
        "deleted_since /orders/deleted (key id, by deleted_at after ?since=, first from the start)"
    )
    bad_paging = {"deleted_since": {"path": "/x", "pagination": {"style": "pages"}}}
    cfg = SourceConfig(
        kind="rest",
        url="http://127.0.0.1:9",
        mapping=Path("m.yaml"),
        streams={
            "orders": {
                "primary_key": ["id"],
                "cursor": ["updated_at"],
                "options": {"path": "/orders"},
                "deletes": bad_paging,
            }
        },
    )
    with pytest.raises(ConfigError, match=r"streams\.orders\.deletes\.deleted_since\.pagination"):
        RestConnector("erp", cfg)


def test_deleted_since_on_a_source_that_cannot_list_deletes_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests import shop_kit

    erp_engine, config, store = shop_kit.world(
        tmp_path, f"sqlite:///{tmp_path / 's.db'}", monkeypatch
    )
    shop_kit.add_orders(erp_engine, 3)
    config.sources["shop"].streams["orders"].deletes = DeletesConfig.model_validate(LISTED)
    [run] = SyncEngine(config, store).sync_source("shop", ["orders"])
    assert run.status == "failed" and "needs a connector" in (run.error or "")


def test_check_shows_deleted_since_and_reads_its_first_page(
    erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, _engine = _hub(tmp_path, erp, f"sqlite:///{tmp_path / 's.db'}", monkeypatch)
    RestConnector("rest_erp", config.sources["rest_erp"]).check()
    assert _asked(erp) and "since" not in _asked(erp)[0]
    listed = config.sources["rest_erp"].streams["orders"].deletes.deleted_since
    assert listed is not None
    listed.path = "/orders/gone"  # a path the API does not have: 404, check the path
    with pytest.raises(ConfigError, match="orders/gone"):
        RestConnector("rest_erp", config.sources["rest_erp"]).check()
