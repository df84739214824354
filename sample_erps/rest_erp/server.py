"""The sample REST ERP's HTTP server: the API of :mod:`.api` over a SQLite file, on loopback.

It runs in process on a free port (``with serve(db_path) as erp: erp.api_url``) or from the
command line (``python -m sample_erps.rest_erp serve``). It speaks HTTP/1.1 with keep-alive,
so clients can pool connections. Authentication is optional: static bearer tokens, and/or
OAuth2 client credentials at ``POST /oauth/token`` with tokens that expire. The admin
endpoints under ``/_admin`` (faults, request log) exist only when ``admin`` is true.
Single records and customer writes (PATCH, POST, with ``Idempotency-Key`` and ``If-Match``)
are described in :mod:`.writes`; the lists of deleted records (``GET /<resource>/deleted``)
in :mod:`.deletions`.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy import Engine, create_engine

from sample_erps.rest_erp import api, deletions, writes
from sample_erps.rest_erp.faults import Fault, FaultPlan, parse_header
from sample_erps.rest_erp.schema import DELETED_RECORDS, IDEMPOTENCY_KEYS

API_PREFIX = "/api/v1/"
TOKEN_PATH = "/oauth/token"
MAX_BODY = 1 << 20
#: Resources clients may write, and how.
WRITABLE = {"customers": ("PATCH", "POST")}


@dataclass
class Auth:
    """Who may read: static bearer tokens, and OAuth2 clients (id -> secret).

    ``token_ttl`` is how long an issued token is accepted; ``advertised_ttl`` is the
    ``expires_in`` told to clients (default: the same), to play a server that revokes
    tokens early. With neither tokens nor clients, the API is open.
    """

    bearer_tokens: frozenset[str] = frozenset()
    clients: dict[str, str] = field(default_factory=dict)
    token_ttl: float = 3600.0
    advertised_ttl: float | None = None

    @property
    def required(self) -> bool:
        """Whether requests must carry a token."""
        return bool(self.bearer_tokens or self.clients)


@dataclass(frozen=True)
class Logged:
    """One request the server answered."""

    at: float
    method: str
    path: str
    query: str
    status: int
    fault: str | None
    replayed: bool = False


class RestErpServer:
    """The sample REST ERP served on ``host:port`` (port 0: a free one) in a thread."""

    def __init__(
        self,
        db: str | Path | Engine,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auth: Auth | None = None,
        admin: bool = True,
    ) -> None:
        self.engine = (
            db
            if isinstance(db, Engine)
            else create_engine(f"sqlite:///{db}", connect_args={"check_same_thread": False})
        )
        self._own_engine = not isinstance(db, Engine)
        IDEMPOTENCY_KEYS.create(self.engine, checkfirst=True)  # files made before writes
        DELETED_RECORDS.create(self.engine, checkfirst=True)  # and before the deletes log
        self.auth = auth or Auth()
        self.admin = admin
        self.faults = FaultPlan()
        self.log: list[Logged] = []
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        #: one write at a time: the idempotency check, the If-Match check and the change
        #: are one step
        self.write_lock = threading.Lock()
        #: requests being answered now, and the most at any one time (``reset_peak``)
        self.in_flight = 0
        self.peak_in_flight = 0
        #: seconds every request takes at least (a slow API, for concurrency tests)
        self.delay = 0.0
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """The base URL of the API (a REST source's ``url``)."""
        return f"{self.url}{API_PREFIX.rstrip('/')}"

    @property
    def token_url(self) -> str:
        """The OAuth2 token endpoint."""
        return f"{self.url}{TOKEN_PATH}"

    def start(self) -> RestErpServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port and the database."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        if self._own_engine:
            self.engine.dispose()

    def __enter__(self) -> RestErpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler ----------------------------------------------------------
    def issue_token(self) -> tuple[str, float]:
        """A new access token and the lifetime told to the client."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.auth.token_ttl
        told = self.auth.advertised_ttl
        return token, self.auth.token_ttl if told is None else told

    def token_ok(self, token: str) -> bool:
        """Whether a bearer token is accepted now."""
        if token in self.auth.bearer_tokens:
            return True
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and time.monotonic() < expires

    def entered(self) -> None:
        """Count a request being answered."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def left(self) -> None:
        """Count a request answered."""
        with self._lock:
            self.in_flight -= 1

    def reset_peak(self) -> None:
        """Start counting the most concurrent requests afresh."""
        with self._lock:
            self.peak_in_flight = self.in_flight

    def record(self, entry: Logged) -> None:
        """Add a request to the log."""
        with self._lock:
            self.log.append(entry)

    def requests_to(self, path: str) -> list[Logged]:
        """The logged requests whose path starts with ``path``."""
        with self._lock:
            return [e for e in self.log if e.path.startswith(path)]


@contextmanager
def serve(db: str | Path | Engine, **options: Any) -> Iterator[RestErpServer]:
    """Run the sample REST ERP for the duration of a ``with`` block."""
    server = RestErpServer(db, **options)
    with server:
        yield server


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up (a timeout on their side) are normal here, not worth a trace."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if not isinstance(exc, ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(server: RestErpServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        erp = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no delayed-ACK stall
    server_version = "SampleRestErp/1.0"
    erp: RestErpServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the server keeps its own log (``RestErpServer.log``)."""

    # -- dispatch -------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        self._path, self._query_text = unquote(parts.path), parts.query
        self._status, self._fault_kind, self._replayed = 0, None, False
        self._late: Fault | None = None  # a fault that strikes once a write is committed
        self.erp.entered()
        try:
            if self.erp.delay:
                time.sleep(self.erp.delay)
            if not self._read_body():
                return
            try:
                fault = self._fault_for(self._path, method)
            except (TypeError, ValueError) as exc:
                self._error(400, "bad_fault", f"X-Fault: {exc}")
                return
            if fault is not None and fault.applied:
                self._fault_kind, self._late = fault.kind, fault
            elif fault is not None and self._inject(fault):
                return
            if self._path.startswith("/_admin/") and self.erp.admin:
                self._admin(method)
            elif self._path == TOKEN_PATH and method == "POST":
                self._token()
            elif self._path == "/health":
                self._json(200, {"status": "ok"})
            elif self._path.startswith(API_PREFIX):
                self._api(method, self._path.removeprefix(API_PREFIX).strip("/"))
            else:
                self._error(404, "not_found", f"no endpoint {method} {self._path}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (a timeout on its side)
        finally:
            self.erp.left()
            self.erp.record(
                Logged(
                    time.monotonic(),
                    method,
                    self._path,
                    self._query_text,
                    self._status,
                    self._fault_kind,
                    self._replayed,
                )
            )

    def _read_body(self) -> bool:
        """Read the request's body (all of it, so the connection stays usable whatever the
        answer); False when it was refused (and answered)."""
        self._body = b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY or self.headers.get("Transfer-Encoding"):
            self.close_connection = True  # the body is not read: the connection is spoilt
            status = 413 if length > MAX_BODY else 411
            self._error(status, "body_refused", f"send a Content-Length up to {MAX_BODY}")
            return False
        self._body = self.rfile.read(length) if length else b""
        return True

    def _fault_for(self, path: str, method: str) -> Fault | None:
        header = self.headers.get("X-Fault")
        if header:
            return parse_header(header)
        if path.startswith("/_admin/"):
            return None
        return self.erp.faults.pick(path, method)

    # -- faults ---------------------------------------------------------------------
    def _inject(self, fault: Fault) -> bool:
        """Apply a fault; True when it has answered the request itself."""
        self._fault_kind = fault.kind
        if fault.kind == "slow":
            time.sleep(fault.delay)
            return False
        if fault.kind == "status":
            self._error(fault.status, "injected", "injected failure")
            return True
        if fault.kind == "rate_limit":
            self._error(
                429,
                "rate_limited",
                "too many requests",
                {"Retry-After": str(fault.retry_after)},
            )
            return True
        return False  # drop and malformed change the page once it is made

    def _strike_late(self, answer: writes.Answer) -> bool:
        """Apply an ``applied`` fault to a committed write; True when it has answered."""
        fault = self._late
        if fault is None or not 200 <= answer.status < 300:
            return False
        if fault.kind == "slow":
            time.sleep(fault.delay)
        elif fault.kind == "status":
            self._error(fault.status, "injected", "injected failure after the change was made")
            return True
        elif fault.kind == "rate_limit":
            headers = {"Retry-After": str(fault.retry_after)}
            self._error(429, "rate_limited", "too many requests", headers)
            return True
        elif fault.kind == "drop":
            self.close_connection = True  # the change is in; the client never hears so
            return True
        return False  # malformed spoils the answer as it is sent

    # -- endpoints ------------------------------------------------------------------
    def _api(self, method: str, rest: str) -> None:
        name, _, ident = rest.partition("/")
        write = "PATCH" if ident else "POST"  # PATCH changes a record, POST adds one
        allowed = ["GET", *(m for m in WRITABLE.get(name, ()) if m == write)]
        if method == "GET" and not ident:
            self._list(name)
        elif method == "GET" and ident == deletions.DELETED and name in api.RESOURCES:
            self._list(name, deleted=True)
        elif name not in api.RESOURCES:
            known = ", ".join(api.RESOURCES)
            self._error(404, "not_found", f"no resource {name!r} (known: {known})")
        elif method == "GET":
            self._one(name, ident)
        elif method in allowed:
            self._write(method, name, ident)
        else:
            here = "a record" if ident else "the list"
            message = f"{method} is not allowed on {here} of {name!r}"
            self._error(405, "method_not_allowed", message, {"Allow": ", ".join(allowed)})

    def _one(self, name: str, ident: str) -> None:
        resource = api.RESOURCES[name]
        if len(resource.key) != 1:
            self._error(404, "not_found", f"{name!r} has no single-record endpoint")
            return
        if not self._authorized():
            return
        with self.erp.engine.connect() as conn:
            found = writes.one(conn, resource, ident)
        if found is None:
            self._error(404, "not_found", f"no {resource.key[0]} {ident!r} in {name!r}")
            return
        record, tag = found
        self._json(200, record, {"ETag": tag})

    def _write(self, method: str, name: str, ident: str) -> None:
        if not self._authorized():
            return
        key = self.headers.get("Idempotency-Key")
        if not key:
            self._error(428, "idempotency_key_required", "send an Idempotency-Key header")
            return
        try:
            body = json.loads(self._body or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._error(400, "bad_request", "the body must be a JSON object")
            return
        resource, if_match = api.RESOURCES[name], self.headers.get("If-Match")
        try:
            with self.erp.write_lock, self.erp.engine.begin() as conn:

                def run() -> writes.Answer:
                    if method == "PATCH":
                        return writes.patch_customer(conn, resource, ident, body, if_match)
                    return writes.create_customer(conn, resource, body)

                answer = writes.idempotent(conn, key, method, self._path, body, run)
        except writes.Refused as exc:
            self._error(exc.status, exc.code, exc.message, exc.headers, exc.field)
            return
        self._replayed = answer.replayed
        if self._strike_late(answer):
            return
        headers = dict(answer.headers)
        if answer.replayed:
            headers["Idempotent-Replayed"] = "true"
        self._json(answer.status, answer.body, headers)

    def _list(self, name: str, deleted: bool = False) -> None:
        resource = api.RESOURCES.get(name)
        if resource is None:
            known = ", ".join(api.RESOURCES)
            self._error(404, "not_found", f"no resource {name!r} (known: {known})")
            return
        if not self._authorized():
            return
        query = dict(parse_qsl(self._query_text, keep_blank_values=True))
        try:
            with self.erp.engine.connect() as conn:
                if deleted:
                    page = deletions.deleted_page(conn, resource, query)
                else:
                    page = api.list_page(conn, resource, query)
        except api.BadRequest as exc:
            self._error(400, "bad_request", str(exc))
            return
        base = f"http://{self.headers.get('Host') or self.erp.url.removeprefix('http://')}"
        nxt = api.next_url(base, self._path, page.next_query)
        body = {
            "data": page.records,
            "meta": page.meta,
            "links": {"self": f"{base}{self.path}", "next": nxt},
        }
        headers = {"Link": f'<{nxt}>; rel="next"'} if nxt else {}
        self._json(200, body, headers)

    def _authorized(self) -> bool:
        if not self.erp.auth.required:
            return True
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "bearer" and self.erp.token_ok(token.strip()):
            return True
        self._error(
            401,
            "invalid_token",
            "missing, unknown or expired access token",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
        return False

    def _token(self) -> None:
        form = dict(parse_qsl(self._body.decode("utf-8"), keep_blank_values=True))
        client_id, secret = form.get("client_id"), form.get("client_secret")
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() == "basic":
            with suppress(binascii.Error, UnicodeDecodeError):
                client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
                client_id, secret = unquote(client_id), unquote(secret)
        if form.get("grant_type") != "client_credentials":
            self._json(400, {"error": "unsupported_grant_type"})
        elif not client_id or self.erp.auth.clients.get(client_id) != secret:
            self._json(
                401,
                {"error": "invalid_client", "error_description": "client authentication failed"},
            )
        else:
            token, expires_in = self.erp.issue_token()
            self._json(
                200, {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
            )

    def _admin(self, method: str) -> None:
        if self._path == "/_admin/faults":
            if method == "DELETE":
                self.erp.faults.clear()
            elif method == "POST":
                try:
                    data = json.loads(self._body or b"[]")
                    items = data if isinstance(data, list) else [data]
                    self.erp.faults.add(*(Fault(**item) for item in items))
                except (TypeError, ValueError) as exc:
                    self._error(400, "bad_fault", str(exc))
                    return
            self._json(200, {"faults": [f.as_dict() for f in self.erp.faults.list()]})
        elif self._path == "/_admin/requests" and method == "GET":
            self._json(200, {"requests": [e.__dict__ for e in self.erp.log]})
        else:
            self._error(404, "not_found", f"no endpoint {method} {self._path}")

    # -- answers --------------------------------------------------------------------
    def _error(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        field: str | None = None,
    ) -> None:
        error = {"code": code, "message": message, **({"field": field} if field else {})}
        self._json(status, {"error": error}, headers)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._status = status
        whole = 200 <= status < 300
        if self._fault_kind == "malformed" and whole:
            payload = payload[: len(payload) // 2]
        self.send_response(status, HTTPStatus(status).phrase)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self._fault_kind == "drop" and whole:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True  # the rest of the page never comes
            return
        self.wfile.write(payload)
