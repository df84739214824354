"""Push-back through the REST connector, end to end: a CRM phone change is PATCHed into the
sample REST ERP with an Idempotency-Key, the next pull recognises the echo, a crash after
the PATCH leaves nothing applied twice, and a customer deleted there ends ``gone``."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, delete

from crm_core.golden import reconcile
from crm_core.pull.sync import SyncEngine
from crm_core.pushback import submit
from crm_core.pushback.conflicts import list_conflicts
from crm_core.pushback.deliver import push_back
from crm_core.pushback.failpoints import ENV as FAILPOINTS
from crm_core.pushback.failpoints import EXIT_CODE
from crm_core.store.db import open_store
from crm_core.store.tables import source_links
from sample_erps import scenario
from sample_erps.rest_erp.schema import CUSTOMERS
from sample_erps.rest_erp.server import RestErpServer
from schemas.settings import load_config
from tests.test_cli import crm_hub

AS_OF = date(2026, 11, 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def rest_world(
    rest_world_server: tuple[Path, str, str, RestErpServer],
) -> tuple[Path, str, str, str]:
    path, golden, key, server = rest_world_server
    return path, golden, key, server.api_url


@pytest.fixture
def rest_world_server(tmp_path: Path) -> Iterator[tuple[Path, str, str, RestErpServer]]:
    port = _free_port()
    scenario.prepare(
        tmp_path, seed=11, customers=30, as_of=AS_OF, systems=("legacy_erp", "rest_erp"),
        rest_port=port,
    )  # fmt: skip
    path = tmp_path / scenario.CONFIG_NAME
    text = (
        path.read_text(encoding="utf-8")
        .replace(
            "phone: {owner: crm, targets: [legacy_erp]", "phone: {owner: crm, targets: [rest_erp]"
        )
        .replace(
            "email: {owner: crm, targets: [legacy_erp]", "email: {owner: crm, targets: [rest_erp]"
        )
    )
    path.write_text(text, encoding="utf-8")
    with scenario.rest_server(tmp_path, port) as server:
        config = load_config(path)
        store = open_store(config.store_url())
        engine = SyncEngine(config, store)
        for source in config.sources:
            engine.sync_source(source)
        reconcile(store, config.reconcile, full=True)
        with store.connect() as conn:
            golden, key = conn.execute(
                source_links.select()
                .with_only_columns(source_links.c.golden_id, source_links.c.source_key)
                .where(source_links.c.source == "rest_erp")
                .order_by(source_links.c.source_key)
                .limit(1)
            ).one()
        store.dispose()
        yield path, golden, key, server


def _phone(api_url: str, key: str) -> str:
    return requests.get(f"{api_url}/customers/{key}", timeout=10).json()["phone"]


def test_exactly_once_through_rest_after_a_crash_and_the_echo_is_recognised(
    rest_world: tuple[Path, str, str, str],
) -> None:
    path, golden, key, api_url = rest_world
    config = load_config(path)
    store = open_store(config.store_url())
    try:
        change = submit.change_fields(
            store, config, entity="customers", golden_id=golden,
            values={"phone": "+86 21 5555 0177"}, who="sales.li",
        )  # fmt: skip
        assert [t["target"] for t in change.targets] == ["rest_erp"]
        crashed = crm_hub("push", cwd=path.parent, env={FAILPOINTS: "pushback.after_write"})
        assert crashed.returncode == EXIT_CODE
        assert _phone(api_url, key) == "+86 21 5555 0177"  # the PATCH went through
        rerun = crm_hub("push", "--json", cwd=path.parent)
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout)["already_applied"] == 1
        assert submit.get_change(store, change.change_id).state == "delivered"
        [pulled] = SyncEngine(config, store).sync_source("rest_erp", ["customers"])
        assert pulled.counts.checks["echoes"] == 1
        assert push_back(config, store).changes == 0
    finally:
        store.dispose()


def test_newest_wins_conflict_through_rest_reads_the_records_stamp(
    rest_world: tuple[Path, str, str, str],
) -> None:
    path, golden, key, api_url = rest_world
    config = load_config(path)
    store = open_store(config.store_url())
    try:
        change = submit.change_fields(
            store, config, entity="customers", golden_id=golden,
            values={"email": "crm.side@example.com"}, who="sales.li",
        )  # fmt: skip
        # after the CRM's change, the back office edits the same e-mail in its own API
        edited = requests.patch(
            f"{api_url}/customers/{key}",
            json={"email": "back.office@example.com"},
            headers={"Idempotency-Key": "back-office-edit-1"},
            timeout=10,
        )
        assert edited.status_code == 200, edited.text
        result = push_back(config, store)
        assert result.conflicts == 1 and result.delivered == 1  # settled by newest_wins
        assert requests.get(f"{api_url}/customers/{key}", timeout=10).json()["email"] == (
            "back.office@example.com"
        )
        [conflict] = list_conflicts(store, state="resolved")
        assert conflict["resolution"] == "target"
        assert conflict["resolved_by"] == "policy:newest_wins"
        assert conflict["target_at"] > conflict["crm_at"]
        assert submit.get_change(store, change.change_id).targets[0]["state"] == "skipped"
    finally:
        store.dispose()


def test_false_conflict_customer_deleted_in_the_rest_erp_ends_gone(
    rest_world: tuple[Path, str, str, str],
) -> None:
    path, golden, key, api_url = rest_world
    config = load_config(path)
    store = open_store(config.store_url())
    erp = create_engine(f"sqlite:///{path.parent / 'rest_erp.db'}")
    try:
        with erp.begin() as conn:  # the back office deletes the customer
            conn.execute(delete(CUSTOMERS).where(CUSTOMERS.c.id == key))
        assert requests.get(f"{api_url}/customers/{key}", timeout=10).status_code == 404
        change = submit.change_fields(
            store, config, entity="customers", golden_id=golden,
            values={"phone": "+86 21 5555 0188"}, who="sales.li",
        )  # fmt: skip
        result = push_back(config, store)
        assert result.gone == 1 and result.conflicts == 0 and result.failed == 0
        view = submit.get_change(store, change.change_id)
        assert view.state == "gone"
        assert view.last_error == "the record no longer exists in rest_erp"
        assert list_conflicts(store, state=None) == []
    finally:
        erp.dispose()
        store.dispose()


def test_rest_delivery_runs_side_by_side_never_above_max_connections(
    rest_world_server: tuple[Path, str, str, RestErpServer],
) -> None:
    path, _, _, server = rest_world_server
    config = load_config(path)
    store = open_store(config.store_url())
    try:
        with store.connect() as conn:
            goldens = [
                r[0]
                for r in conn.execute(
                    source_links.select()
                    .with_only_columns(source_links.c.golden_id)
                    .where(source_links.c.source == "rest_erp")
                    .order_by(source_links.c.source_key)
                    .limit(8)
                )
            ]
        for i, golden in enumerate(goldens):
            submit.change_fields(
                store, config, entity="customers", golden_id=golden,
                values={"phone": f"+86 21 5555 02{i:02d}"}, who="sales.li",
            )  # fmt: skip
        limit = config.source("rest_erp").max_connections
        assert limit == 2
        server.delay = 0.05  # a slow API: requests sent side by side overlap
        server.reset_peak()
        result = push_back(config, store)
        assert result.delivered == len(goldens) and not result.failed
        assert server.peak_in_flight == limit  # side by side, and never more
    finally:
        store.dispose()
