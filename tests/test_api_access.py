"""Who may see what, and how the API says no: roles, missing, bad and revoked keys,
keys kept only as hashes, and every error as problem+json without internals."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from crm_core.access.api_keys import Role, create_key, revoke_key
from crm_core.api import create_app, service
from crm_core.store.tables import api_keys, quarantine
from tests.api_kit import demo_copy

PROBLEM = "application/problem+json"
CUSTOMER = "G00000002"
CUSTOMER_PATHS = [
    "/customers?q=a",
    f"/customers/{CUSTOMER}",
    f"/customers/{CUSTOMER}/orders",
    f"/customers/{CUSTOMER}/inventory",
    f"/customers/{CUSTOMER}/insights",
]
FINANCE_PATHS = [f"/customers/{CUSTOMER}/credit", f"/customers/{CUSTOMER}/receivables"]
OPS_PATHS = ["/runs", "/runs/1", "/quarantine", "/metrics"]
SEES = {
    Role.VIEWER: {"customers"},
    Role.EDITOR: {"customers"},
    Role.FINANCE: {"customers", "finance"},
    Role.OPS: {"ops"},
    Role.ADMIN: {"customers", "finance", "ops"},
}


@dataclass
class Api:
    client: TestClient
    store: Engine
    keys: dict[Role, str]

    def get(self, path: str, role: Role | None = None, **headers: str) -> object:
        if role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.client.get(path, headers=headers)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("api_access") / "demo")
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role.value} tests")[1] for role in Role}
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, store, keys)
    store.dispose()


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_each_role_sees_what_it_may_and_nothing_else(api: Api, role: Role) -> None:
    for scope, paths in (
        ("customers", CUSTOMER_PATHS),
        ("finance", FINANCE_PATHS),
        ("ops", OPS_PATHS),
    ):
        for path in paths:
            response = api.get(path, role)
            if scope in SEES[role]:
                assert response.status_code == 200, (path, response.text)
            else:
                assert response.status_code == 403, (path, response.text)
                assert response.headers["content-type"] == PROBLEM
                assert response.json()["detail"] == f"a {role.value} key may not see {scope} data"


def test_health_needs_no_key_and_everything_else_does(api: Api) -> None:
    assert api.get("/health").status_code == 200
    for path in [*CUSTOMER_PATHS, *FINANCE_PATHS, *OPS_PATHS]:
        response = api.get(path)
        assert response.status_code == 401, path
        assert response.headers["content-type"] == PROBLEM
        assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer not-a-key",
        "Bearer crmhub_000000000000_" + "A" * 43,
    ],
    ids=["basic", "empty", "malformed", "unknown"],
)
def test_a_bad_key_is_401(api: Api, authorization: str) -> None:
    response = api.get("/customers", Authorization=authorization)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM


def test_a_key_with_the_wrong_secret_or_revoked_is_refused(api: Api) -> None:
    _info, key = create_key(api.store, Role.VIEWER, "short-lived")
    prefix, key_id, secret = key.split("_", 2)
    forged = f"{prefix}_{key_id}_{'x' if secret[0] != 'x' else 'y'}{secret[1:]}"
    assert api.get("/customers", Authorization=f"Bearer {forged}").status_code == 401
    assert api.get("/customers", Authorization=f"Bearer {key}").status_code == 200
    revoke_key(api.store, key_id, by="tests")
    response = api.get("/customers", Authorization=f"Bearer {key}")
    assert response.status_code == 401
    assert response.json()["detail"] == "the API key is not valid or was revoked"


def test_keys_are_stored_only_as_hashes(api: Api) -> None:
    with api.store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(api_keys))]
    stored = repr(rows)
    for key in api.keys.values():
        secret = key.split("_", 2)[2]
        assert secret not in stored and key not in stored
        key_id = key.split("_", 2)[1]
        row = next(r for r in rows if r["key_id"] == key_id)
        assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/customers?limit=0", 422, "query.limit"),
        ("/customers?limit=abc", 422, "query.limit"),
        ("/customers?q=" + "x" * 201, 422, "query.q: String should have at most 200 characters"),
        ("/customers?offset=-1", 422, "query.offset"),
        ("/customers?qq=typo", 422, "query.qq: unknown query parameter"),
        (f"/customers/{CUSTOMER}/orders?status=lost", 422, "query.status.0"),
        (f"/customers/{CUSTOMER}/orders?since=yesterday", 422, "query.since"),
        (f"/customers/{CUSTOMER}/insights?as_of=2026-13-01", 422, "query.as_of"),
        ("/customers/" + "G" * 65, 422, "path.id"),
        ("/customers/bad%20id", 422, "path.id"),
        ("/customers/G12345678", 404, "no customer G12345678"),
        ("/runs/0", 422, "path.id"),
        ("/runs/123456", 404, "no run 123456"),
        ("/runs?status=done", 422, "query.status"),
        ("/nowhere", 404, "no such path"),
    ],
)
def test_errors_are_problem_json_saying_what_is_wrong(
    api: Api, path: str, status: int, detail: str
) -> None:
    response = api.get(path, Role.ADMIN)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] == "about:blank"
    assert detail in body["detail"]
    if status == 422:
        assert body["errors"] and all(e["location"] and e["message"] for e in body["errors"])
        assert "x" * 50 not in response.text  # the value sent is not echoed


def test_a_wrong_method_is_405_problem(api: Api) -> None:
    response = api.client.post(
        "/runs", headers={"Authorization": f"Bearer {api.keys[Role.ADMIN]}"}, json={}
    )
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM


def test_a_failure_inside_is_500_problem_without_internals(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("postgresql://hub:s3cret@db/hub exploded in search()")

    monkeypatch.setattr(service, "search", broken)
    response = api.get("/customers", Role.ADMIN)
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["detail"].startswith("the server failed; the error is logged as ")
    assert "s3cret" not in response.text and "Traceback" not in response.text
    ref = body["detail"].rsplit(" ", 1)[1]
    assert any(ref in r.getMessage() for r in caplog.records)


def test_quarantine_lists_held_rows_for_ops(api: Api) -> None:
    from datetime import UTC, datetime

    with api.store.begin() as conn:
        conn.execute(
            quarantine.insert().values(
                source="legacy_erp",
                stream="orders",
                record_key="999",
                raw={"HORD": "999", "HCUST": "C0"},
                reason="orders: customer C0 is unknown",
                status="open",
                created_at=datetime.now(UTC),
            )
        )
    body = api.get("/quarantine?source=legacy_erp", Role.OPS).json()
    assert body["total"] == 1
    row = body["items"][0]
    assert row["raw"] == {"HORD": "999", "HCUST": "C0"} and "unknown" in row["reason"]
    assert api.get("/quarantine?status=discarded", Role.OPS).json()["total"] == 0
    metrics = api.get("/metrics", Role.OPS)
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'crm_hub_quarantine_open_rows{source="legacy_erp",stream="orders"} 1.0' in metrics.text


def test_runs_page_through_the_ledger(api: Api) -> None:
    first = api.get("/runs?limit=3", Role.OPS).json()
    # the legacy ERP's nine streams (the serial-number file's assets the ninth), one run each
    assert first["total"] == 9 and len(first["items"]) == 3 and first["next"]
    ids = [r["run_id"] for r in first["items"]]
    assert ids == sorted(ids, reverse=True)
    run = api.get(f"/runs/{ids[0]}", Role.OPS).json()
    assert run["status"] == "success" and run["rows_read"] > 0 and run["checks"]["contract"]
    orders = api.get("/runs?stream=orders", Role.OPS).json()
    assert [r["stream"] for r in orders["items"]] == ["orders"]


def test_the_search_index_follows_renames_and_new_links(api: Api) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from crm_core.api.service import refresh_search_index
    from crm_core.store.tables import golden_customers, source_links

    def found(q: str) -> list[str]:
        response = api.get(f"/customers?q={q}&limit=200", Role.VIEWER)
        return [c["id"] for c in response.json()["items"]]

    assert refresh_search_index(api.store) == 0  # nothing changed since the app started
    with api.store.begin() as conn:
        conn.execute(
            update(golden_customers)
            .where(golden_customers.c.golden_id == "G00000003")
            .values(name="重庆长江轴承有限公司", updated_at=datetime.now(UTC))
        )
        conn.execute(
            update(source_links)
            .where(source_links.c.golden_id == "G00000004")
            .values(golden_id="G00000005", linked_at=datetime.now(UTC))
        )
    assert "G00000003" not in found("chongqing")  # not before the index is refreshed
    assert refresh_search_index(api.store) == 2
    assert "G00000003" in found("chongqing changjiang")  # 重庆 is chongqing, not zhongqing
    with api.store.connect() as conn:
        moved = conn.execute(
            source_links.select().where(source_links.c.golden_id == "G00000005")
        ).all()
    for link in moved:
        assert "G00000005" in found(link.source_key)
