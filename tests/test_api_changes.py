"""CRM-side changes over the HTTP API: an editor records a concession and a contact change,
gets the change id and its state, sees the concession on the customer's page data after
push-back and the pull; a viewer is refused; fields the CRM does not own are 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.pull.sync import SyncEngine
from crm_core.pushback import submit
from crm_core.pushback.deliver import push_back
from tests import pushback_kit as kit


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.build(tmp_path_factory.mktemp("api-changes-world"), customers=30)


@pytest.fixture
def api(template: Path, tmp_path: Path) -> Iterator[tuple]:
    path = kit.copy(template, tmp_path / "world")
    config, store = kit.open_world(path)
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {
        role: {"Authorization": f"Bearer {create_key(store, role, f'{role.value} li')[1]}"}
        for role in (Role.EDITOR, Role.VIEWER, Role.OPS)
    }
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, config, store, keys
    store.dispose()


def test_api_concession_by_editor_is_queued_booked_and_shown_with_its_approver(api) -> None:
    client, config, store, keys = api
    golden, _ = kit.shared_customer(store)
    body = {
        "kind": "amount",
        "amount": "1200.00",
        "currency": "CNY",
        "reason": "quality claim on delivery 4711",
        "approver": "Anna Schmidt",
        "valid_from": "2026-11-01",
    }
    refused = client.post(f"/customers/{golden}/concessions", json=body, headers=keys[Role.VIEWER])
    assert refused.status_code == 403
    made = client.post(
        f"/customers/{golden}/concessions", json=body,
        headers={**keys[Role.EDITOR], "Idempotency-Key": "claim-4711"},
    )  # fmt: skip
    assert made.status_code == 202, made.text
    change = made.json()
    assert change["state"] == "pending" and change["who"] == "editor li"
    assert made.headers["location"] == f"/changes/{change['change_id']}"
    again = client.post(
        f"/customers/{golden}/concessions", json=body,
        headers={**keys[Role.EDITOR], "Idempotency-Key": "claim-4711"},
    )  # fmt: skip
    assert again.json()["change_id"] == change["change_id"]

    page = client.get(f"/customers/{golden}/concessions", headers=keys[Role.VIEWER]).json()
    assert page["total"] == 1 and page["next"] is None
    shown = page["items"]
    assert [(c["source"], c["push_state"]) for c in shown] == [("crm", "pending")]
    push_back(config, store)
    SyncEngine(config, store).sync_source("legacy_erp", ["concessions"])
    shown = client.get(f"/customers/{golden}/concessions", headers=keys[Role.VIEWER]).json()
    shown = shown["items"]
    [booked] = [c for c in shown if c["concession_id"] == change["record_key"]]
    assert booked["source"] == "legacy_erp" and booked["approver"] == "Anna Schmidt"
    assert booked["status"] == "approved" and booked["push_state"] == "delivered"
    state = client.get(f"/changes/{change['change_id']}", headers=keys[Role.EDITOR]).json()
    assert state["state"] == "delivered" and state["targets"][0]["echoed_at"]


def test_api_contact_change_and_ownership_refusal_and_conflicts_list(api) -> None:
    client, _, store, keys = api
    golden, _ = kit.shared_customer(store)
    bad = client.patch(f"/customers/{golden}", json={"name": "X"}, headers=keys[Role.EDITOR])
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert "customers.name is owned by legacy_erp" in bad.json()["detail"]
    unknown = client.patch(f"/customers/{golden}", json={"fax": "1"}, headers=keys[Role.EDITOR])
    assert unknown.status_code == 422
    missing = client.patch("/customers/G99999999", json={"phone": "1"}, headers=keys[Role.EDITOR])
    assert missing.status_code == 404
    ok = client.patch(
        f"/customers/{golden}", json={"phone": "+86 21 5555 0199"}, headers=keys[Role.EDITOR]
    )
    assert ok.status_code == 202, ok.text
    assert {t["target"] for t in ok.json()["targets"]} == {"legacy_erp", "modern_erp"}
    assert client.get("/conflicts", headers=keys[Role.EDITOR]).status_code == 403
    none = client.get("/conflicts", headers=keys[Role.OPS]).json()
    assert none == {"items": [], "total": 0, "limit": 50, "offset": 0, "next": None}
    assert client.get("/changes/chg_0000", headers=keys[Role.EDITOR]).status_code == 404


def test_api_dead_letters_page_for_ops_naming_change_target_and_error(api, tmp_path) -> None:
    """`GET /dead-letters` (ops) answers the page shape, with the next page's URL."""
    client, config, store, keys = api
    assert client.get("/dead-letters", headers=keys[Role.EDITOR]).status_code == 403
    empty = client.get("/dead-letters", headers=keys[Role.OPS]).json()
    assert empty == {"items": [], "total": 0, "limit": 50, "offset": 0, "next": None}
    golden, _ = kit.shared_customer(store)
    made = [
        submit.request_credit_limit(store, config, golden_id=golden, credit_limit=str(n), who="a")
        for n in (91000, 92000, 93000)
    ]
    broken = config.model_copy(deep=True)
    broken.push_back.max_attempts, broken.push_back.backoff_seconds = 1, 0
    broken.sources["legacy_erp"].url = f"sqlite:///{tmp_path / 'no' / 'erp.db'}"
    assert push_back(broken, store).failed == 1  # the others wait behind the first
    assert push_back(broken, store).failed == 0  # ... and still wait: the first is unfinished
    first = client.get("/dead-letters?limit=1", headers=keys[Role.OPS])
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["total"] == 1 and page["next"] is None
    [letter] = page["items"]
    assert letter["change_id"] == made[0].change_id and letter["state"] == "failed"
    [target] = letter["targets"]
    assert target["target"] == "legacy_erp" and "unable to open" in target["last_error"]
    conflicts = client.get("/conflicts?state=all&limit=1", headers=keys[Role.OPS]).json()
    assert set(conflicts) == {"items", "total", "limit", "offset", "next"}
