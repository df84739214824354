"""REST connector authentication against the sample REST ERP: a bearer token from the
environment, and OAuth2 client credentials with a cached token renewed on expiry. No
secret ever shows in an error or a log line."""

# ruff: noqa: F401, F811 - the fixtures come from tests.rest_erp_kit
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest

from sample_erps.rest_erp import Auth, serve
from sample_erps.rest_erp.server import RestErpServer
from schemas.errors import ConfigError
from tests.rest_erp_kit import FAST, connector, erp_db, erp_template

TOKEN = "b3arer-T0ken-value"
SECRET = "cl1ent-S3cret-value"
ORDERS = {"path": "/orders", "pagination": {"style": "cursor", "page_size": 40}}


def oauth(**extra: Any) -> dict[str, Any]:
    auth = {
        "type": "oauth2_client_credentials",
        "token_url": "/oauth/token",
        "client_id": "crm-hub",
        "client_secret_env": "ERP_CLIENT_SECRET",
        "leeway": 0,
        **extra,
    }
    return {**FAST, "auth": auth}


def read_all(server: RestErpServer, source: dict[str, Any]) -> int:
    with connector(server.api_url, ORDERS, primary_key=["id"], source=source) as conn:
        return sum(b.height for b in conn.read("s", None, 1000))


def no_secret_in(text: str, server: RestErpServer) -> None:
    issued = list(server._tokens)
    for secret in (TOKEN, SECRET, *issued):
        assert secret not in text


def test_rest_bearer_token_from_the_environment(
    erp_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bearer = {**FAST, "auth": {"type": "bearer", "token_env": "ERP_TOKEN"}}
    with serve(erp_db, auth=Auth(bearer_tokens=frozenset({TOKEN}))) as server:
        with pytest.raises(ConfigError, match="environment variable ERP_TOKEN"):
            read_all(server, bearer)
        monkeypatch.setenv("ERP_TOKEN", TOKEN)
        assert read_all(server, bearer) > 100
        with pytest.raises(ConfigError, match="needs credentials"):
            read_all(server, FAST)
        monkeypatch.setenv("ERP_TOKEN", "wrong-token")
        with pytest.raises(ConfigError) as info:
            read_all(server, bearer)
    assert "401 Unauthorized: the token was refused" in str(info.value)
    assert "wrong-token" not in str(info.value)
    no_secret_in(caplog.text, server)


@pytest.mark.slow
def test_rest_oauth2_token_is_fetched_once_and_renewed_when_it_expires(
    erp_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ERP_CLIENT_SECRET", SECRET)
    source = oauth()
    # expires_in is whole seconds for the client: 2 s lasts at least 1 s, at most 2 s
    with serve(erp_db, auth=Auth(clients={"crm-hub": SECRET}, token_ttl=2.0)) as server:
        with connector(server.api_url, ORDERS, primary_key=["id"], source=source) as conn:
            first = sum(b.height for b in conn.read("s", None, 1000))
            assert len(server.requests_to("/oauth/token")) == 1  # cached across all pages
            assert len(server.requests_to("/api/v1/orders")) > 3
            time.sleep(2.05)  # the token expires
            assert sum(b.height for b in conn.read("s", None, 1000)) == first
        tokens = server.requests_to("/oauth/token")
        assert [t.status for t in tokens] == [200, 200]
        assert all(r.status == 200 for r in server.requests_to("/api/v1/orders"))
    no_secret_in(caplog.text, server)


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_rest_oauth2_token_revoked_early_by_the_server_is_fetched_again(
    erp_db: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setenv("ERP_CLIENT_SECRET", SECRET)
    auth = Auth(clients={"crm-hub": SECRET}, token_ttl=0.3, advertised_ttl=3600)
    source = oauth(auth_method=method)
    with serve(erp_db, auth=auth) as server:
        with connector(server.api_url, ORDERS, primary_key=["id"], source=source) as conn:
            first = sum(b.height for b in conn.read("s", None, 1000))
            time.sleep(0.35)  # the server forgets the token; the client thinks it is good
            assert sum(b.height for b in conn.read("s", None, 1000)) == first
        statuses = [r.status for r in server.requests_to("/api/v1/orders")]
        assert 401 in statuses and statuses[-1] == 200
        assert len(server.requests_to("/oauth/token")) >= 2  # more if the machine is slow


def test_rest_oauth2_bad_client_secret_is_one_clear_line_without_the_secret(
    erp_db: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ERP_CLIENT_SECRET", "not-the-" + SECRET)
    with (
        serve(erp_db, auth=Auth(clients={"crm-hub": SECRET})) as server,
        pytest.raises(ConfigError) as info,
    ):
        read_all(server, oauth())
    message = str(info.value)
    assert message == (
        f"source 'erp': POST {server.token_url} (OAuth2 token): refused: invalid_client: "
        "client authentication failed"
    )
    no_secret_in(message + caplog.text, server)
