"""HTTP for the REST connector: pages fetched with retries, and failures as clear errors.

Two layers of retry, each where it can work:

- urllib3's ``Retry`` (mounted on the session's adapter) retries a request that could not
  connect, timed out or got 5xx/429 before any of the body was read, with exponential
  backoff and jitter, and waits what ``Retry-After`` says on 429/503 (at most
  ``max_retry_after``);
- a page whose body breaks off mid-read (a dropped connection) or is not JSON cannot be
  retried by urllib3, as the response has already been handed over; tenacity fetches such
  a page again, up to ``page_attempts`` times.

Secrets (tokens, client secrets) are read from the environment when the session is first
used and never appear in errors or logs: errors name the source, the method, the URL without
its query, the status and the reason.
"""

from __future__ import annotations

import json
import logging
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

log = logging.getLogger(__name__)


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
            for attempt in retrying:
                with attempt:
                    return self._get_once(url, params, what)
        except BrokenPage as exc:
            raise RetriableError(
                f"{self._prefix('GET', url, what)}: {exc} (tried {attempts} times)"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _get_once(
        self, url: str, params: dict[str, Any] | None, what: str
    ) -> tuple[Any, requests.Response]:
        response = self._send(url, params, what)
        if response.status_code == 401 and self._oauth:
            # the server dropped the token before its stated expiry: fetch a new one, once
            response.close()
            self._fetch_token(what)
            response = self._send(url, params, what)
        with response:
            if response.status_code >= 400:
                raise self._status_error(response, url, what)
            try:
                body = response.content
            except (
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError,
                requests.exceptions.ContentDecodingError,
            ) as exc:
                raise BrokenPage(
                    f"the connection broke off while reading the page ({_reason(exc)})"
                ) from None
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BrokenPage(f"the page is not valid JSON ({exc})") from None
        log.debug("GET %s (%s): %s", self.where(url), what, response.status_code)
        return data, response

    def _send(self, url: str, params: dict[str, Any] | None, what: str) -> requests.Response:
        session = self.session
        if self._oauth:
            token = getattr(session, "token", None)
            if not token or token.is_expired(leeway=session.leeway):  # type: ignore[attr-defined]
                self._fetch_token(what)
        try:
            return session.get(url, params=params, stream=True, timeout=self.timeout)
        except OAuthError as exc:  # a renewal inside the request, at the edge of expiry
            raise self._refused(exc) from None
        except requests.RequestException as exc:
            raise self._transport_error(exc, "GET", url, what) from None

    def _fetch_token(self, what: str) -> None:
        """Fetch a new access token (cached by the session until it expires)."""
        head = self._prefix("POST", self.token_url, "OAuth2 token")
        try:
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

    def _status_error(self, response: requests.Response, url: str, what: str) -> HubError:
        status = response.status_code
        head = f"{self._prefix('GET', url, what)}: {status} {response.reason}"
        detail = _server_message(response)
        if status in (401, 403):
            auth = self.options.auth
            hint = {
                "bearer": "the token was refused",
                "api_key": "the API key was refused",
                "oauth2_client_credentials": "the access token was refused",
            }.get(auth.type, "the API needs credentials (options.auth)")
            return ConfigError(f"{head}: {hint}")
        if status == 404:
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


def _server_message(response: requests.Response) -> str:
    """The error message in an error answer's body, if it has one (at most 200 chars)."""
    try:
        body = json.loads(response.content)
    except (ValueError, requests.RequestException):
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message") or error.get("code")
    message = (body.get("message") if isinstance(body, dict) else None) or error
    return str(message)[:200] if message else ""
