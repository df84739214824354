"""The pooled requests session of a REST source: adapter with urllib3 retries, timeouts
on every call, and the source's authentication (secrets read from the environment here,
when the session is first built)."""

from __future__ import annotations

import os
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase
from urllib3.util.retry import Retry

from connectors.rest.options import ApiKeyAuth, BearerAuth, ClientCredentials, SourceOptions
from schemas.errors import ConfigError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "crm-hub-rest-connector/1"


class PoliteRetry(Retry):
    """urllib3's Retry with ``Retry-After`` waits capped at ``max_retry_after`` seconds."""

    max_retry_after: float = 120.0

    def new(self, **kw: Any) -> PoliteRetry:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_retry_after(self, response: Any) -> float | None:
        seconds = super().get_retry_after(response)
        return None if seconds is None else min(seconds, self.max_retry_after)


def make_retry(options: SourceOptions) -> PoliteRetry:
    """The per-request retry policy of a source."""
    r = options.retries
    retry = PoliteRetry(
        total=r.attempts,
        connect=r.attempts,
        read=r.attempts,
        status=r.attempts,
        other=0,
        # writes (PATCH, POST) carry an Idempotency-Key, so repeating one is safe: a server
        # that applied it answers from its record; POST also fetches OAuth2 tokens
        allowed_methods=frozenset({"GET", "POST", "PATCH"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=r.backoff,
        backoff_max=r.backoff_max,
        backoff_jitter=r.jitter,
        respect_retry_after_header=True,
        raise_on_status=False,  # the last answer comes back, so its status can be reported
    )
    retry.max_retry_after = r.max_retry_after
    return retry


class HeaderAuth(AuthBase):
    """Adds one header holding a secret; its repr never shows the secret."""

    def __init__(self, header: str, value: str) -> None:
        self._header, self._value = header, value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self._header] = self._value
        return request

    def __repr__(self) -> str:
        return f"<{self._header}: ***>"


class TimeoutSession(requests.Session):
    """A session whose every request has a timeout, unless one is given."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.default_timeout = timeout

    # requests.Session.request takes its options positionally too; this one by keyword only
    def request(self, method: str, url: str | bytes, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


def env_secret(source: str, name: str, key: str) -> str:
    """The value of environment variable ``name``, or a ConfigError naming it (never the value)."""
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"source {source!r}: environment variable {name} (options.auth.{key}) is not set"
        )
    return value


def build_session(
    source: str, options: SourceOptions, token_url: str | None, pool_size: int
) -> requests.Session:
    """A session with pooled connections, retries, timeouts and the source's auth."""
    auth = options.auth
    timeout = (options.timeout.connect, options.timeout.read)
    session: requests.Session
    if isinstance(auth, ClientCredentials):
        from authlib.integrations.requests_client import OAuth2Session

        client_id = auth.client_id or (
            env_secret(source, auth.client_id_env, "client_id_env") if auth.client_id_env else None
        )
        if not client_id:
            raise ConfigError(f"source {source!r}: options.auth needs client_id or client_id_env")
        session = OAuth2Session(
            client_id=client_id,
            client_secret=env_secret(source, auth.client_secret_env, "client_secret_env"),
            token_endpoint=token_url,
            token_endpoint_auth_method=auth.auth_method,
            grant_type="client_credentials",
            scope=auth.scope,
            leeway=auth.leeway,
            default_timeout=timeout,
        )
    else:
        session = TimeoutSession(timeout)
        if isinstance(auth, BearerAuth):
            token = env_secret(source, auth.token_env, "token_env")
            session.auth = HeaderAuth("Authorization", f"Bearer {token}")
        elif isinstance(auth, ApiKeyAuth):
            session.auth = HeaderAuth(auth.header, env_secret(source, auth.key_env, "key_env"))
    adapter = HTTPAdapter(
        pool_connections=1, pool_maxsize=pool_size, max_retries=make_retry(options)
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers.update(
        {"Accept": "application/json", "User-Agent": USER_AGENT, **options.headers}
    )
    session.verify = options.verify
    return session
