"""Stewardship over the API: editors merge, unmerge, pin and undo; every action is the
caller's, recorded, and refused with a clear problem when it cannot be done."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.store.tables import golden_customers, source_links
from tests.api_kit import demo_copy


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, object, dict]]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("api_stewardship") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {
        role: {"Authorization": f"Bearer {create_key(store, role, f'{role.value} anna')[1]}"}
        for role in (Role.EDITOR, Role.VIEWER)
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, store, keys
    store.dispose()


def _two_goldens(store) -> tuple[str, str]:
    with store.connect() as conn:
        ids = (
            conn.execute(
                select(golden_customers.c.golden_id)
                .where(golden_customers.c.merged_into.is_(None))
                .order_by(golden_customers.c.golden_id)
                .limit(2)
            )
            .scalars()
            .all()
        )
    return ids[0], ids[1]


def test_api_stewardship_merge_pin_undo_round_trip(api) -> None:
    client, store, keys = api
    keep, other = _two_goldens(store)
    merged = client.post(
        f"/customers/{keep}/merge", json={"other": other, "note": "same company"},
        headers=keys[Role.EDITOR],
    )  # fmt: skip
    assert merged.status_code == 200, merged.text
    action = merged.json()
    assert action["action"] == "merge" and action["who"] == "editor anna"
    with store.connect() as conn:
        gone = conn.execute(
            select(golden_customers.c.merged_into).where(golden_customers.c.golden_id == other)
        ).scalar_one()
        linked = set(
            conn.execute(
                select(source_links.c.golden_id).where(source_links.c.golden_id.in_([keep, other]))
            ).scalars()
        )
    assert gone == keep and linked == {keep}

    pinned = client.put(
        f"/customers/{keep}/pins/name", json={"value": "ACME 上海"}, headers=keys[Role.EDITOR]
    )
    assert pinned.status_code == 200, pinned.text
    shown = client.get(f"/customers/{keep}", headers=keys[Role.VIEWER]).json()
    assert "ACME 上海" in str(shown)

    undone = client.post(f"/stewardship/{action['id']}/undo", headers=keys[Role.EDITOR])
    assert undone.status_code == 200 and undone.json()["undone_by"] == "editor anna"
    with store.connect() as conn:
        back = conn.execute(
            select(golden_customers.c.merged_into).where(golden_customers.c.golden_id == other)
        ).scalar_one()
    assert back is None
    listed = client.get("/stewardship", headers=keys[Role.EDITOR]).json()
    assert [a["action"] for a in listed[:2]] == ["pin", "merge"]


def test_api_stewardship_refusals_are_problems(api) -> None:
    client, store, keys = api
    keep, _other = _two_goldens(store)
    viewer = client.post(
        f"/customers/{keep}/merge", json={"other": keep}, headers=keys[Role.VIEWER]
    )
    assert viewer.status_code == 403
    same = client.post(f"/customers/{keep}/merge", json={"other": keep}, headers=keys[Role.EDITOR])
    assert same.status_code == 409 and "same golden customer" in same.json()["detail"]
    assert same.headers["content-type"] == "application/problem+json"
    unknown = client.put(
        f"/customers/{keep}/pins/no_such_field", json={"value": "x"}, headers=keys[Role.EDITOR]
    )
    assert unknown.status_code == 409 and "no_such_field" in unknown.json()["detail"]
    extra = client.post(
        f"/customers/{keep}/merge", json={"other": keep, "bogus": 1}, headers=keys[Role.EDITOR]
    )
    assert extra.status_code == 422
