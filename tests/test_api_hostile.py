"""Hostile input on every way in: text with control characters is refused when a change is
submitted (API 422 naming the field, CLI exit 2, the page's form error), never stored to
poison push-back later; a NUL in a query, a day before the calendar's start, a pin the
field cannot hold and an id beyond any integer are 422s, never 500s; twenty requests at
once with one Idempotency-Key record one change (PostgreSQL); JSON answers carry
``nosniff`` and ``no-store``."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.golden import reconcile
from crm_core.pull.sync import SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, golden_stewardship, outbox
from sample_erps import scenario
from schemas.settings import load_config
from tests import pushback_kit as kit
from tests.api_kit import demo_copy
from tests.test_cli import crm_hub
from tests.test_web_changes import _token
from tests.test_web_pages import _as, _text

CUSTOMER = "G00000047"
CONCESSION = {
    "kind": "percent",
    "percent": "5",
    "reason": "loyal customer",
    "approver": "Anna Schmidt",
    "valid_from": "2026-11-01",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any, dict]]:
    root = Path(tmp_path_factory.getbasetemp())
    folder = tmp_path_factory.mktemp("api_hostile") / "demo"
    config, store = demo_copy(root, folder)
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} hostile")[1] for role in Role}
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        client.folder = folder  # type: ignore[attr-defined]
        yield client, store, keys
    store.dispose()


def _auth(key: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **headers}


def _changes(store: Any) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)).scalar_one())


def test_hostile_api_changes_with_control_characters_are_refused_naming_the_field(site) -> None:
    client, store, keys = site
    editor = _auth(keys[Role.EDITOR])
    before = _changes(store)
    for method, path, body, field in (
        ("PATCH", f"/customers/{CUSTOMER}", {"phone": "+86 21\x00 5555"}, "customers.phone"),
        ("PATCH", f"/customers/{CUSTOMER}", {"city": "Shang\x1b[31mhai"}, "customers.city"),
        ("PATCH", f"/customers/{CUSTOMER}", {"email": "a@b.cn\n"}, "customers.email"),
        ("POST", "/customers", {"name": "Evil\x00 Ltd"}, "customers.name"),
        (
            "POST",
            f"/customers/{CUSTOMER}/concessions",
            {**CONCESSION, "reason": "claim\x00 4711"},
            "concessions.reason",
        ),
        (
            "POST",
            f"/customers/{CUSTOMER}/concessions",
            {**CONCESSION, "approver": "Anna\tSchmidt"},
            "concessions.approver",
        ),
    ):
        answer = client.request(method, path, json=body, headers=editor)
        assert answer.status_code == 422, (path, body, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["detail"].startswith(f"{field}: the value contains the control")
    assert _changes(store) == before  # nothing queued to poison push-back later

    # free text may hold line breaks and tabs: a concession's reason
    reason = "quality claim\non delivery 4711\t(2 pallets)"
    made = client.post(
        f"/customers/{CUSTOMER}/concessions",
        json={**CONCESSION, "reason": reason},
        headers=editor,
    )
    assert made.status_code == 202, made.text
    assert made.json()["changes"]["reason"]["new"] == reason


def test_hostile_cli_change_with_a_control_character_exits_2(site) -> None:
    client, store, _keys = site
    before = _changes(store)
    refused = crm_hub(
        "change", "customer", CUSTOMER, "--set", "phone=+86 21 \x1b[2J5555", cwd=client.folder
    )
    assert refused.returncode == 2, refused.stderr
    assert "customers.phone: the value contains the control character U+001B" in refused.stderr
    assert _changes(store) == before


def test_hostile_web_forms_show_the_refusal_and_keep_nothing(site) -> None:
    client, store, keys = site
    _as(client, keys[Role.EDITOR])
    page = client.get(f"/ui/customers/{CUSTOMER}")
    before = _changes(store)
    contact = {"phone": "+86\x00 21", "token": _token(page.text, "contact")}
    refused = client.post(f"/ui/customers/{CUSTOMER}/contact", data=contact)
    assert refused.status_code == 422
    assert "customers.phone: the value contains the control character U+0000" in _text(refused.text)
    form = {**CONCESSION, "reason": "claim\x07", "token": _token(page.text, "concessions")}
    refused = client.post(f"/ui/customers/{CUSTOMER}/concessions", data=form)
    assert refused.status_code == 422
    assert "concessions.reason" in _text(refused.text)
    corrected = client.post(
        f"/ui/customers/{CUSTOMER}/correct", data={"field": "country", "value": "Shanghai"}
    )
    assert corrected.status_code == 422
    assert "country: the value 'Shanghai' is not valid" in _text(corrected.text)
    assert _changes(store) == before


def test_hostile_api_query_path_and_days_are_422_never_500(site) -> None:
    client, _store, keys = site
    admin = _auth(keys[Role.ADMIN])
    for path in (
        "/customers?q=%00",
        "/customers?q=abc%00def",
        "/stewardship?golden_id=Y%00",
        "/runs?stream=a%00",
        "/quarantine?stream=%00",
        f"/customers/{CUSTOMER}%00/orders",
        f"/customers/{CUSTOMER}/insights?as_of=0001-01-01",
        f"/customers/{CUSTOMER}/inventory?as_of=0001-01-01",
        f"/customers/{CUSTOMER}/receivables?as_of=9999-12-31",
        "/stewardship/99999999999999999999/undo",
    ):
        method = "POST" if path.endswith("/undo") else "GET"
        answer = client.request(method, path, headers=admin)
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json", path
    assert "query.q" in client.get("/customers?q=%00", headers=admin).json()["detail"]
    assert client.get(f"/customers/{CUSTOMER}/insights?as_of=1900-01-01", headers=admin).is_success

    _as(client, keys[Role.ADMIN])
    page = client.get("/ui/search?q=%00")
    assert page.status_code == 422 and "query.q" in _text(page.text)
    assert page.headers["content-type"].startswith("text/html")
    assert client.get(f"/ui/customers/{CUSTOMER}?as_of=0001-01-01").status_code == 422


def test_hostile_api_pins_hold_only_what_the_field_holds(site) -> None:
    client, store, keys = site
    editor = _auth(keys[Role.EDITOR])
    pins = f"/customers/{CUSTOMER}/pins"
    for field, body, reason in (
        ("country", {"value": "People's Republic"}, "country: the value"),
        ("kind", {"value": "alien"}, "kind: the value"),
        ("phone", {"value": "+86\x00 21"}, "phone: the value contains the control character"),
        ("phone", {"value": "+86 21", "note": "ok\x00"}, "note: the value contains"),
    ):
        answer = client.put(f"{pins}/{field}", json=body, headers=editor)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"].startswith(reason)
    merged = client.post(f"/customers/{CUSTOMER}/merge", json={"other": "x:\x00"}, headers=editor)
    assert merged.status_code == 422
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(golden_stewardship)).scalar() == 0
    ok = client.put(
        f"{pins}/country",
        json={"value": "CN", "note": "checked\nwith the customer"},
        headers=editor,
    )
    assert ok.status_code == 200, ok.text


def test_hostile_api_json_answers_are_not_sniffed_or_cached(site) -> None:
    client, _store, keys = site
    for path, headers in (
        ("/customers?q=a", _auth(keys[Role.VIEWER])),
        ("/customers/G99999998", _auth(keys[Role.VIEWER])),
        ("/health", {}),
        ("/openapi.json", {}),
        ("/runs", _auth(keys[Role.VIEWER])),  # 403
    ):
        answer = client.get(path, headers=headers)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["cache-control"] == "no-store", path


@pytest.fixture
def pg_world(tmp_path: Path, pg_url: str) -> Iterator[tuple[Any, Any]]:
    """The push-back world with its store on PostgreSQL."""
    scenario.prepare(
        tmp_path, seed=7, customers=20, as_of=kit.AS_OF, systems=("legacy_erp", "modern_erp")
    )
    config = load_config(tmp_path / scenario.CONFIG_NAME)
    store = open_store(pg_url)
    engine = SyncEngine(config, store)
    for source in config.sources:
        engine.sync_source(source)
    reconcile(store, config.reconcile, full=True)
    yield config, store
    store.dispose()


def _at_once(client: TestClient, n: int, method: str, path: str, **kwargs: Any) -> list[Any]:
    """``n`` requests started together from ``n`` threads."""
    start = threading.Barrier(n)
    answers: list[Any] = []

    def one() -> None:
        start.wait()
        answers.append(client.request(method, path, **kwargs))

    threads = [threading.Thread(target=one) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


@pytest.mark.postgres
def test_hostile_api_twenty_concurrent_posts_with_one_idempotency_key_on_postgres(
    pg_world,
) -> None:
    config, store = pg_world
    golden, _ = kit.shared_customer(store)
    app = create_app(config, store=store, search_refresh_seconds=0)
    key = create_key(store, Role.EDITOR, "editor li")[1]
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, body in (
            ("POST", f"/customers/{golden}/concessions", CONCESSION),
            ("PATCH", f"/customers/{golden}", {"phone": "+86 21 5555 0199"}),
        ):
            headers = _auth(key, **{"Idempotency-Key": f"hostile-{method}"})
            answers = _at_once(client, 20, method, path, json=body, headers=headers)
            statuses = Counter(a.status_code for a in answers)
            assert statuses[202] == 1 and statuses[200] == 19, statuses
            assert len({a.json()["change_id"] for a in answers}) == 1
        # a NUL would have been stored and broken push-back later: refused up front
        nul = client.patch(f"/customers/{golden}", json={"phone": "1\x00"}, headers=_auth(key))
        assert nul.status_code == 422
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 2
        crm = RECORD_TABLES["concessions"].c.source == "crm"
        booked = select(func.count()).select_from(RECORD_TABLES["concessions"]).where(crm)
        assert conn.execute(booked).scalar() == 1
