"""Bulk submit of CRM-side changes (``crm-hub change customer --from-csv``, ``POST
/changes:batch``): each change checked as a single one is and answered on its own,
idempotent per change, at most 10,000 a request, and delivered like any other."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.pushback import bulk, submit
from crm_core.pushback.deliver import push_back
from crm_core.store.tables import outbox, outbox_targets
from schemas.pushback import PushState
from schemas.settings import HubConfig
from tests import pushback_kit as kit
from tests.conftest import PG_ADMIN
from tests.test_cli import crm_hub


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.build(tmp_path_factory.mktemp("bulk-world"), customers=30)


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Iterator[tuple[Path, HubConfig, Engine]]:
    path = kit.copy(template, tmp_path / "world")
    config, store = kit.open_world(path)
    yield path, config, store
    store.dispose()


def _count(store: Engine, table=outbox) -> int:  # type: ignore[no-untyped-def]
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_cli_bulk_csv_records_valid_rows_refuses_bad_ones_and_is_idempotent_per_row(
    world: tuple[Path, HubConfig, Engine], tmp_path: Path
) -> None:
    path, config, store = world
    customers = kit.legacy_customers(store)[:4]
    rows = [
        {"golden_id": g, "phone": f"+86 21 5555 01{i:02d}", "email": "", "idempotency_key": f"k{i}"}
        for i, (g, _) in enumerate(customers)
    ]
    rows.append({"golden_id": "G_NOPE", "phone": "+86 1", "email": "", "idempotency_key": "k-x"})
    rows.append(
        {
            "golden_id": customers[0][0],
            "phone": "",
            "email": "not an e-mail\x01",
            "idempotency_key": "",
        }
    )
    sheet = _write_csv(tmp_path / "changes.csv", rows)

    first = crm_hub("change", "customer", "--from-csv", str(sheet), cwd=path.parent)
    assert first.returncode == 1, first.stderr
    assert "6 row(s): 4 recorded, 0 recorded before (same idempotency key), 2 refused" in (
        first.stdout
    )
    assert "row 6 (G_NOPE): no customer 'G_NOPE'" in first.stdout
    assert "row 7 (" in first.stdout and "customers.email" in first.stdout
    assert _count(store) == 4
    targets = _count(store, outbox_targets)
    assert targets >= 4

    again = crm_hub("change", "customer", "--from-csv", str(sheet), "--json", cwd=path.parent)
    answer = json.loads(again.stdout)
    assert (answer["accepted"], answer["replayed"], answer["refused"]) == (0, 4, 2)
    assert [i["replayed"] for i in answer["items"][:4]] == [True] * 4
    assert _count(store) == 4 and _count(store, outbox_targets) == targets

    result = push_back(config, store)
    assert result.delivered == 4 and not result.failed
    for (_, key), sent in zip(customers, rows, strict=False):
        row = kit.legacy_row(path, "RCM", "rtrim(CCUST) = :k", k=key.strip())
        assert row is not None and row["CPHON"].strip() == sent["phone"]


def test_cli_bulk_csv_of_10001_rows_is_refused_whole(
    world: tuple[Path, HubConfig, Engine], tmp_path: Path
) -> None:
    path, _, store = world
    golden, _ = kit.legacy_customers(store)[0]
    rows = [{"golden_id": golden, "phone": f"+86 21 {i:08d}"} for i in range(10_001)]
    sheet = _write_csv(tmp_path / "too-many.csv", rows)
    refused = crm_hub("change", "customer", "--from-csv", str(sheet), cwd=path.parent)
    assert refused.returncode != 0
    assert "at most 10,000 changes, this one has 10,001" in refused.stderr
    assert _count(store) == 0


def test_bulk_idempotency_key_twice_in_one_batch_records_one_change(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    _, config, store = world
    (golden, _), (other, _) = kit.legacy_customers(store)[:2]
    same = bulk.FieldChange(golden, {"phone": "+86 21 5555 0199"}, idempotency_key="dup")
    clash = bulk.FieldChange(other, {"phone": "+86 21 5555 0198"}, idempotency_key="dup")
    out = bulk.submit_batch(store, config, [same, same, clash], "bulk test")
    assert out[0].view is not None and not out[0].view.replayed
    assert out[1].view is not None and out[1].view.replayed
    assert out[1].view.change_id == out[0].view.change_id
    assert out[2].error is not None and "used for another change" in str(out[2].error)
    assert _count(store) == 1


@pytest.fixture
def api(world: tuple[Path, HubConfig, Engine]) -> Iterator[tuple]:
    _, config, store = world
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {
        role: {"Authorization": f"Bearer {create_key(store, role, f'{role.value} bulk')[1]}"}
        for role in (Role.EDITOR, Role.VIEWER)
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store, keys


def test_api_batch_answers_each_item_and_a_repeated_batch_replays(api) -> None:
    client, store, keys = api
    customers = kit.legacy_customers(store)[:3]
    items = [
        {"golden_id": g, "set": {"phone": f"+86 21 6666 00{i:02d}"}, "idempotency_key": f"a{i}"}
        for i, (g, _) in enumerate(customers)
    ]
    items.append({"golden_id": customers[0][0], "set": {"name": "Not Ours Ltd"}})
    items.append({"golden_id": "G_NOPE", "set": {"phone": "+86 21 1"}})
    items.append({"golden_id": customers[1][0], "entity": "credit", "set": {"credit_limit": "x"}})
    body = {"items": items}

    assert client.post("/changes:batch", json=body, headers=keys[Role.VIEWER]).status_code == 403
    first = client.post("/changes:batch", json=body, headers=keys[Role.EDITOR])
    assert first.status_code == 207, first.text
    answer = first.json()
    assert (answer["accepted"], answer["replayed"], answer["refused"]) == (3, 0, 3)
    statuses = [i["status"] for i in answer["items"]]
    assert statuses == [202, 202, 202, 422, 404, 422]
    assert "customers.name is owned by legacy_erp" in answer["items"][3]["error"]["reason"]
    assert answer["items"][3]["error"]["field"] == "name"
    assert answer["items"][5]["error"]["field"] == "credit_limit"
    ids = [i["change_id"] for i in answer["items"][:3]]
    assert all(ids) and answer["items"][0]["state"] == PushState.PENDING
    assert client.get(f"/changes/{ids[0]}", headers=keys[Role.EDITOR]).status_code == 200

    again = client.post("/changes:batch", json=body, headers=keys[Role.EDITOR]).json()
    assert [i["status"] for i in again["items"]] == [200, 200, 200, 422, 404, 422]
    assert [i["change_id"] for i in again["items"][:3]] == ids
    assert _count(store) == 3


def test_api_batch_of_10001_changes_is_refused_whole(api) -> None:
    client, store, keys = api
    golden, _ = kit.legacy_customers(store)[0]
    items = [{"golden_id": golden, "set": {"phone": f"+86 21 {i:08d}"}} for i in range(10_001)]
    refused = client.post("/changes:batch", json={"items": items}, headers=keys[Role.EDITOR])
    assert refused.status_code == 422
    assert "at most 10,000 changes, this one has 10,001" in refused.text
    assert _count(store) == 0


@pytest.mark.postgres
def test_bulk_on_postgresql_is_set_based_answers_each_change_and_replays(
    pg_url: str, tmp_path: Path
) -> None:
    """On PostgreSQL a batch reads and writes in a fixed number of statements whatever its
    size, stores what a single change stores, answers each change on its own, and a batch
    submitted again records nothing new."""
    with kit.scratch_pg(PG_ADMIN) as erp_url:
        path = kit.build_pg(tmp_path / "world", pg_url, erp_url)
        config, store = kit.open_world(path)
        try:
            _bulk_on_postgresql(config, store, erp_url)
        finally:
            store.dispose()


def _bulk_on_postgresql(config: HubConfig, store: Engine, erp_url: str) -> None:
    customers = kit.legacy_customers(store)[:12]
    good = [
        bulk.FieldChange(g, {"phone": f"+86 21 7777 {i:04d}"}, idempotency_key=f"pg{i}")
        for i, (g, _) in enumerate(customers[:10])
    ]
    good.append(bulk.FieldChange(customers[10][0], {"email": "bulk.pg@example.cn"}))
    good.append(bulk.FieldChange(customers[11][0], {"credit_limit": "120000"}, "credit"))
    bad = [
        bulk.FieldChange("G_NOPE", {"phone": "+86 21 1"}),
        bulk.FieldChange(customers[0][0], {"name": "Not Ours Ltd"}),
        bulk.FieldChange(customers[1][0], {"email": "bad\x01"}),
        bulk.FieldChange(customers[2][0], {"phone": "+86 21 0"}, idempotency_key="pg3"),
    ]
    statements: list[str] = []

    @event.listens_for(store, "before_cursor_execute")
    def _note(*args: Any) -> None:
        statements.append(args[2])

    first = bulk.submit_batch(store, config, [*good, *bad], "bulk pg")
    # per entity (customers, credit) three reads, then the known keys and the changes
    # recorded under them, and two inserts: 11 at most for these 16 changes, not one a change
    assert len(statements) <= 11, statements
    assert [o.accepted for o in first] == [True] * len(good) + [False] * len(bad)
    errors = [str(o.error) for o in first[len(good) :]]
    assert "no customer 'G_NOPE'" in errors[0]
    assert "customers.name: no system is declared its owner" in errors[1]
    assert "customers.email" in errors[2]
    assert "'pg3' was used for another change" in errors[3]
    assert _count(store) == len(good)

    # a bulk change is stored as a single change is: compare with one made alone
    alone = submit.change_fields(
        store,
        config,
        entity="customers",
        golden_id=customers[0][0],
        values={"email": "alone@example.cn"},
        who="bulk pg",
    )
    view = first[0].view
    assert view is not None and not view.replayed
    stored = submit.get_change(store, view.change_id)
    assert stored.changes["phone"]["new"] == "+86 21 7777 0000"
    assert stored.created_at.tzinfo is not None and stored.state == PushState.PENDING
    assert [t["record_key"] for t in stored.targets] == [customers[0][1]]
    with store.connect() as conn:
        keys = dict(
            conn.execute(
                select(outbox_targets.c.change_id, outbox_targets.c.target_key).where(
                    outbox_targets.c.change_id.in_([view.change_id, alone.change_id])
                )
            ).all()
        )
    assert keys[view.change_id] == {"customer_id": customers[0][1]}
    assert keys[alone.change_id] == {"customer_id": customers[0][1]}

    statements.clear()
    again = bulk.submit_batch(store, config, [*good, *bad], "bulk pg")
    assert len(statements) <= 11, statements
    keyed = [o for o, item in zip(again, good, strict=False) if item.idempotency_key]
    assert all(o.view is not None and o.view.replayed for o in keyed)
    assert [o.view.change_id for o in keyed if o.view] == [
        o.view.change_id for o in first[:10] if o.view
    ]
    assert _count(store) == len(good) + 2 + 1  # the two without a key are new; and alone

    result = push_back(config, store)
    assert not result.failed, result.errors
    key = customers[3][1].strip()
    phone = kit.erp_value(
        erp_url, 'SELECT rtrim("CPHON") FROM "RCM" WHERE rtrim("CCUST") = :k', k=key
    )
    assert phone == "+86 21 7777 0003"
