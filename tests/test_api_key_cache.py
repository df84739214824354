"""A key found valid is taken as valid for ``api.key_cache_seconds`` without a store
query: revoked by the serving process it is refused at once, revoked behind its back (as
``crm-hub apikey revoke`` in another process does) within those seconds; only the very
key text found valid is remembered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from crm_core.access import key_cache
from crm_core.access.api_keys import Role, Scope, authenticate, create_key, revoke_key
from crm_core.api import create_app
from crm_core.store.tables import api_keys
from schemas.api_settings import ApiConfig
from schemas.settings import HubConfig
from tests.api_kit import demo_copy

REMEMBER = 5.0  # seconds, on the cache's clock in these tests


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubConfig, Engine]]:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("api_key_cache") / "demo")
    yield config, store
    store.dispose()


def _client(demo: tuple[HubConfig, Engine], seconds: float) -> TestClient:
    config, store = demo
    api = config.api.model_copy(update={"key_cache_seconds": seconds})
    app = create_app(config.model_copy(update={"api": api}), store=store, search_refresh_seconds=0)
    return TestClient(app, raise_server_exceptions=False)


def _status(client: TestClient, key: str) -> int:
    return client.get("/customers?q=a", headers={"Authorization": f"Bearer {key}"}).status_code


def _revoke_behind_its_back(store: Engine, key: str) -> None:
    """Revoke ``key`` in the store as another process would: this one is not told."""
    with store.begin() as conn:
        conn.execute(
            update(api_keys)
            .where(api_keys.c.key_id == key.split("_")[1])
            .values(revoked_at=datetime.now(UTC), revoked_by="another process")
        )


def test_a_key_revoked_elsewhere_is_refused_once_its_check_is_older_than_the_setting(
    demo: tuple[HubConfig, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]  # the cache's clock, moved by hand: a slow first request is no matter
    monkeypatch.setattr(key_cache, "now", lambda: clock[0])
    _info, key = create_key(demo[1], Role.VIEWER, "revoked elsewhere")
    with _client(demo, REMEMBER) as client:
        assert _status(client, key) == 200
        _revoke_behind_its_back(demo[1], key)
        clock[0] += REMEMBER * 0.9
        assert _status(client, key) == 200  # remembered: no store query
        clock[0] += REMEMBER * 0.2
        assert _status(client, key) == 401


def test_without_remembering_a_key_revoked_elsewhere_is_refused_at_once(
    demo: tuple[HubConfig, Engine],
) -> None:
    _info, key = create_key(demo[1], Role.VIEWER, "not remembered")
    with _client(demo, 0) as client:
        assert _status(client, key) == 200
        _revoke_behind_its_back(demo[1], key)
        assert _status(client, key) == 401


def test_a_key_revoked_by_this_process_is_refused_at_once(
    demo: tuple[HubConfig, Engine],
) -> None:
    info, key = create_key(demo[1], Role.VIEWER, "revoked here")
    with _client(demo, 60) as client:
        assert _status(client, key) == 200
        revoke_key(demo[1], info.key_id, by="tests")
        assert _status(client, key) == 401


def test_only_the_key_found_valid_is_remembered(demo: tuple[HubConfig, Engine]) -> None:
    _info, key = create_key(demo[1], Role.VIEWER, "remembered")
    prefix, key_id, secret = key.split("_", 2)
    forged = f"{prefix}_{key_id}_{'x' if secret[0] != 'x' else 'y'}{secret[1:]}"
    with _client(demo, 60) as client:
        assert _status(client, key) == 200
        assert _status(client, forged) == 401
        assert _status(client, key) == 200


def test_remembered_keys_take_the_scopes_of_the_settings_asked_with(
    demo: tuple[HubConfig, Engine],
) -> None:
    _info, key = create_key(demo[1], Role.VIEWER, "scopes")
    found = authenticate(demo[1], key, ApiConfig(key_cache_seconds=60))
    assert found is not None and found.allows(Scope.CUSTOMERS)
    strict = ApiConfig(key_cache_seconds=60, access={"customers": ["admin"]})
    again = authenticate(demo[1], key, strict)  # remembered, under other settings
    assert again is not None and not again.allows(Scope.CUSTOMERS)
