"""HTTP for the REST connector: pages fetched with retries, and failures as clear errors.

Two layers of retry, each where it can work:

- urllib3's ``Retry`` (mounted on the session's adapter) retries a request that could not
  connect, timed out or got 5xx/429 before any of the body was read, with exponential
  backoff and jitter, and waits what ``Retry-After`` says on 429/503 (at most
  ``max_retry_after``);
- a page whose body breaks off mid-read (a dropped connection) or is not JSON cannot be
  retried by urllib3, as the response has already been handed over; tenacity fetches such
  a page again, up to ``page_attempts`` times.

Writes (PATCH, POST) go through both layers too: each carries an ``Idempotency-Key``, so a
repeat of a change the server has already applied is answered from the server's record
instead of being applied again.

Secrets (tokens, client secrets) are read from the environment when the session is first
used and never appear in errors or logs: errors name the source, the method, the URL without
its query, the status and the reason.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from urllib3.exceptions import (
    ConnectTimeoutError as Urllib3ConnectTimeout,
)
from urllib3.exceptions import (
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from connectors.rest.options import ClientCredentials, SourceOptions
from connectors.rest.session import RETRY_STATUSES, build_session
from schemas.errors import ConfigError, FatalSyncError, HubError, RetriableError
from schemas.exact_json import to_json

log = logging.getLogger(__name__)
#: What reading a body raises when the connection breaks off in the middle of it.
BODY_BROKE_OFF = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ConnectionError,
    requests.exceptions.ContentDecodingError,
)


class BrokenPage(Exception):
    """A page whose body broke off or is not JSON: worth fetching again."""


class HttpClient:
    """The connection of one REST source: session, auth and error translation."""

    def __init__(self, source: str, base_url: str, options: SourceOptions, pool_size: int):
        self.source = source
        self.base_url = base_url.rstrip("/")
        self.options = options
        self.pool_size = pool_size
        self.timeout = (options.timeout.connect, options.timeout.read)
        self._session: requests.Session | None = None
        self._oauth = isinstance(options.auth, ClientCredentials)

    # -- session --------------------------------------------------------------------
    @property
    def session(self) -> requests.Session:
        """The pooled session, built on first use (secrets are read then)."""
        if self._session is None:
            token_url = self.token_url if self._oauth else None
            self._session = build_session(self.source, self.options, token_url, self.pool_size)
        return self._session

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint, absolute."""
        auth = self.options.auth
        assert isinstance(auth, ClientCredentials)
        return urljoin(self.base_url + "/", auth.token_url)

    def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            self._session.close()
            self._session = None

    # -- requests -------------------------------------------------------------------
    def url(self, path: str) -> str:
        """The absolute URL of an API path (``/orders`` under the source's URL)."""
        if urlsplit(path).scheme:
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def where(self, url: str) -> str:
        """A URL as errors show it: scheme, host and path, without query or user info."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    def get_json(
        self, url: str, params: dict[str, Any] | None, what: str
    ) -> tuple[Any, requests.Response]:
        """GET a page and decode its JSON, with the retries described in the module."""
        return self.request_json("GET", url, what, params=params)

    def request_json(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (),
    ) -> tuple[Any, requests.Response]:
        """Send a request (``body`` as JSON) and decode its JSON answer, with the retries
        described in the module. An answer whose status is in ``expect`` comes back (its
        body decoded, None if it is not JSON); any other status from 400 up is raised as
        the error it means. A write's 2xx answer comes back as it is (None if it is empty,
        broken or not JSON): the status says the change is in."""
        attempts = self.options.retries.page_attempts
        r = self.options.retries
        retrying = Retrying(
            stop=stop_after_attempt(attempts),
            wait=wait_exponential(multiplier=r.backoff, max=r.backoff_max)
            + wait_random(0, r.jitter),
            retry=retry_if_exception_type(BrokenPage),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        try:
            data = None if body is None else json.dumps(body, ensure_ascii=False, default=to_json)
        except (TypeError, ValueError) as exc:
            raise FatalSyncError(f"{self._prefix(method, url, what)}: {exc}") from None
        sent = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
        call = _Call(method, url, params, data.encode("utf-8") if data else None, sent, expect)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(call, what)
        except BrokenPage as exc:
            raise RetriableError(
                f"{self._prefix(method, url, what)}: {exc} (tried {attempts} times)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _once(self, call: _Call, what: str) -> tuple[Any, requests.Response]:
        response = self._send(call, what)
        if response.status_code == 401 and self._oauth:
            # the server dropped the token before its stated expiry: fetch a new one, once
            response.close()
            self._fetch_token(what)
            response = self._send(call, what)
        noun = "page" if call.method == "GET" else "answer"
        status = response.status_code
        with response:
            if status >= 400 and status not in call.expect:
                raise self._status_error(response, call.method, call.url, what)
            if call.method != "GET" and status < 400:
                return self._written(call, response, what), response
            try:
                body = response.content
            except BODY_BROKE_OFF as exc:
                raise BrokenPage(
                    f"the connection broke off while reading the {noun} ({_reason(exc)})"
                ) from None
        log.debug("%s %s (%s): %s", call.method, self.where(call.url), what, status)
        if status >= 400:
            return _json_or_none(body), response
        try:
            return json.loads(body), response
        except ValueError as exc:
            raise BrokenPage(f"the {noun} is not valid JSON ({exc})") from None

    def _written(self, call: _Call, response: requests.Response, what: str) -> Any:
        """The decoded answer to a write the server took (2xx), None if it has none or it
        cannot be read: its status says the change is in, so it is not sent again."""
        try:
            body = response.content
        except BODY_BROKE_OFF as exc:
            log.warning(
                "%s: %s, but the answer broke off (%s)",
                self._prefix(call.method, call.url, what),
                response.status_code,
                _reason(exc),
            )
            return None
        log.debug("%s %s (%s): %s", call.method, self.where(call.url), what, response.status_code)
        return _json_or_none(body)

    def _send(self, call: _Call, what: str) -> requests.Response:
        session = self.session
        if self._oauth:
            token = getattr(session, "token", None)
            # with OAuth the session is authlib's OAuth2Session, which has a leeway
            if not token or token.is_expired(leeway=session.leeway):  # type: ignore[attr-defined]
                self._fetch_token(what)
        try:
            return session.request(
                call.method,
                call.url,
                params=call.params,
                data=call.data,
                headers=call.headers,
                stream=True,
                timeout=self.timeout,
            )
        except OAuthError as exc:  # a renewal inside the request, at the edge of expiry
            raise self._refused(exc) from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, call.method, call.url, what) from None

    def _fetch_token(self, what: str) -> None:
        """Fetch a new access token (cached by the session until it expires)."""
        head = self._prefix("POST", self.token_url, "OAuth2 token")
        try:
            # with OAuth the session is authlib's OAuth2Session, which fetches tokens
            self.session.fetch_token(self.token_url)  # type: ignore[attr-defined]
        except OAuthError as exc:
            raise self._refused(exc) from None
        except requests.HTTPError as exc:
            answer = exc.response
            status = f"{answer.status_code} {answer.reason}" if answer is not None else "failed"
            raise RetriableError(f"{head}: {status}") from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, "POST", self.token_url, "OAuth2 token") from None
        except ValueError as exc:  # the answer is not a JSON object
            raise RetriableError(f"{head}: {exc}") from None
        log.debug("fetched an OAuth2 access token for source %r", self.source)

    def _refused(self, exc: OAuthError) -> ConfigError:
        described = f": {exc.description}" if exc.description else ""
        head = self._prefix("POST", self.token_url, "OAuth2 token")
        return ConfigError(f"{head}: refused: {exc.error}{described}")

    # -- errors ---------------------------------------------------------------------
    def _prefix(self, method: str, url: str, what: str) -> str:
        return f"source {self.source!r}: {method} {self.where(url)} ({what})"

    def _tries(self, response: requests.Response) -> str:
        retries = getattr(response.raw, "retries", None)
        done = len(retries.history) if retries is not None else 0
        return f" after {done + 1} tries" if done else ""

    def _status_error(
        self, response: requests.Response, method: str, url: str, what: str
    ) -> HubError:
        status = response.status_code
        head = f"{self._prefix(method, url, what)}: {status} {response.reason}"
        detail = _server_message(response)
        if status in (401, 403):
            auth = self.options.auth
            hint = {
                "bearer": "the token was refused",
                "api_key": "the API key was refused",
                "oauth2_client_credentials": "the access token was refused",
            }.get(auth.type, "the API needs credentials (options.auth)")
            return ConfigError(f"{head}: {hint}")
        if status == 404 and method == "GET":
            return ConfigError(f"{head}: check the stream's options.path")
        if status in RETRY_STATUSES or status == 408:
            return RetriableError(f"{head}{self._tries(response)}")
        return ConfigError(f"{head}{': ' + detail if detail else ''}")

    def _transport_error(self, exc: BaseException, method: str, url: str, what: str) -> HubError:
        head = self._prefix(method, url, what)
        retries = self.options.retries.attempts
        after = f" (after {retries + 1} tries)" if retries else ""
        if isinstance(exc, requests.exceptions.SSLError):
            return ConfigError(f"{head}: TLS failed: {_reason(exc)}")
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
            return ConfigError(f"{head}: not a valid URL")
        if _caused_by(exc, NewConnectionError):  # a subclass of urllib3's connect timeout
            return RetriableError(f"{head}: {_reason(exc)}{after}")
        if isinstance(exc, requests.exceptions.ConnectTimeout) or _caused_by(
            exc, Urllib3ConnectTimeout
        ):
            return RetriableError(
                f"{head}: no connection within {self.timeout[0]:g}s (connect timeout){after}"
            )
        if isinstance(exc, requests.exceptions.ReadTimeout) or _caused_by(exc, ReadTimeoutError):
            return RetriableError(
                f"{head}: no answer within {self.timeout[1]:g}s (read timeout){after}"
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return RetriableError(f"{head}: {_reason(exc)}{after}")
        if isinstance(exc, requests.RequestException):
            return FatalSyncError(f"{head}: {type(exc).__name__}: {_reason(exc)}")
        return FatalSyncError(f"{head}: {type(exc).__name__}")


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        nested = getattr(seen, "reason", None)
        if isinstance(nested, BaseException) and nested is not seen:
            seen = nested
            continue
        args = getattr(seen, "args", ())
        seen = args[0] if args and isinstance(args[0], BaseException) else None
    return False


def _reason(exc: BaseException) -> str:
    """A short, secret-free reason for a transport failure."""
    if _caused_by(exc, NewConnectionError):
        text = str(exc)
        return "connection refused" if "refused" in text.lower() else "cannot connect"
    if _caused_by(exc, ProtocolError):
        return "the server closed the connection"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.split("(Caused by")[0].strip()[:200]


class _Call:
    """One request as sent on every attempt."""

    def __init__(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        data: bytes | None,
        headers: dict[str, str],
        expect: Collection[int],
    ) -> None:
        self.method, self.url, self.params = method, url, params
        self.data, self.headers, self.expect = data, headers, frozenset(expect)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def _server_message(response: requests.Response) -> str:
    """The error message in an error answer's body, if it has one (at most 200 chars)."""
    try:
        body = json.loads(response.content)
    except (ValueError, requests.RequestException):
        return ""
    return server_message(body)


def server_message(body: Any) -> str:
    """The error message in a decoded error answer, if it has one (at most 200 chars)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    message = (body.get("message") if isinstance(body, dict) else None) or error
    return str(message)[:200] if message else ""
