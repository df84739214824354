"""The service desk's API, served on loopback, and the source block that reads it.

``GET /api/v2/tickets`` and ``GET /api/v2/survey-responses`` list records in
``(updated_at, id)`` order, filtered by ``changedSince`` (inclusive, any ISO 8601 time),
``pageSize`` rows at a time; the body is ``{"tickets": [...], "paging": {"continuation":
TOKEN}}`` (``"responses"`` for the survey) and the next page is asked for with
``continuation=TOKEN``, a keyset token, until the token is null.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Engine, Table, and_, create_engine, or_, select

from sample_erps.service_desk.data import surveys, tickets, utc

BASE = "/api/v2"
#: path: (table, the body's key of the record list)
RESOURCES: dict[str, tuple[Table, str]] = {
    "/tickets": (tickets, "tickets"),
    "/survey-responses": (surveys, "responses"),
}
MAX_PAGE = 500

SOURCE_TEMPLATE = """\
  {name}:
    kind: rest
    url: {url}
    mapping: {mapping}
    schedule: "*/10 * * * *"
    options:
      timeout: {{connect: 5, read: 30}}
      retries: {{attempts: 5, backoff: 0.5, max_retry_after: 60}}
    streams:
      service_requests:
        primary_key: [id]
        cursor: [updated_at]
        options:
          path: /tickets
          records_path: tickets
          pagination: {{style: cursor, cursor_param: continuation,
                        cursor_path: paging.continuation, size_param: pageSize,
                        page_size: {page_size}}}
          incremental: {{param: changedSince}}
          columns: [asset_serial, first_response_at, resolved_at, closed_at]
      service_surveys:
        primary_key: [id]
        cursor: [updated_at]
        options:
          path: /survey-responses
          records_path: responses
          pagination: {{style: cursor, cursor_param: continuation,
                        cursor_path: paging.continuation, size_param: pageSize,
                        page_size: {page_size}}}
          incremental: {{param: changedSince}}
          columns: [comment]
"""


def source_config(
    url: str,
    *,
    name: str = "service_desk",
    mapping: str = "mappings/service_desk.yaml",
    page_size: int = 200,
) -> str:
    """The YAML of one source (indented for ``sources:``) that reads the service desk at
    ``url`` (its API base, e.g. ``ServiceDeskServer.api_url``)."""
    return SOURCE_TEMPLATE.format(name=name, url=url, mapping=mapping, page_size=page_size)


class BadRequest(ValueError):
    """A query parameter the API cannot use."""


def _token(updated_at: str, ident: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([updated_at, ident]).encode()).decode()


def _untoken(text: str) -> tuple[str, str]:
    try:
        updated_at, ident = json.loads(base64.urlsafe_b64decode(text.encode()))
        return str(updated_at), str(ident)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"continuation: not a token this API issued ({exc})") from None


def list_page(engine: Engine, path: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of ``path`` for ``query``, as the API's body."""
    table, key = RESOURCES[path]
    try:
        size = min(MAX_PAGE, max(1, int(query.get("pageSize", "100"))))
    except ValueError:
        raise BadRequest("pageSize: not a number") from None
    stmt = select(table).order_by(table.c.updated_at, table.c.id).limit(size)
    if "changedSince" in query:
        try:
            since = datetime.fromisoformat(query["changedSince"].replace("Z", "+00:00"))
        except ValueError:
            raise BadRequest("changedSince: not an ISO 8601 time") from None
        if since.tzinfo is None:
            raise BadRequest("changedSince: give the time with its offset")
        stmt = stmt.where(table.c.updated_at >= utc(since))
    if query.get("continuation"):
        after, ident = _untoken(query["continuation"])
        stmt = stmt.where(
            or_(table.c.updated_at > after, and_(table.c.updated_at == after, table.c.id > ident))
        )
    with engine.connect() as conn:
        rows = [{k: v for k, v in r._mapping.items() if v is not None} for r in conn.execute(stmt)]
    last = rows[-1] if len(rows) == size else None
    nxt = _token(last["updated_at"], last["id"]) if last else None
    return {key: rows, "paging": {"continuation": nxt}}


class ServiceDeskServer:
    """The service desk's API on loopback (``port`` 0: a free one) in a thread."""

    def __init__(self, db: str | Path | Engine, *, host: str = "127.0.0.1", port: int = 0):
        self.engine = db if isinstance(db, Engine) else create_engine(f"sqlite:///{db}")
        self._owns_engine = not isinstance(db, Engine)
        self._httpd = ThreadingHTTPServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_url(self) -> str:
        """The API's base URL, a source's ``url``."""
        return self.url + BASE

    def start(self) -> ServiceDeskServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the database."""
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        if self._owns_engine:
            self.engine.dispose()


@contextmanager
def serve(db: str | Path | Engine, **options: Any) -> Iterator[ServiceDeskServer]:
    """Run the service desk's API for the duration of a ``with`` block."""
    server = ServiceDeskServer(db, **options).start()
    try:
        yield server
    finally:
        server.stop()


def _handler_for(server: ServiceDeskServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        desk = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    desk: ServiceDeskServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the demo prints its own progress."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path.removeprefix(BASE)
        if not parts.path.startswith(BASE) or path not in RESOURCES:
            self._json(404, {"error": f"no resource {parts.path}", "known": list(RESOURCES)})
            return
        try:
            body = list_page(self.desk.engine, path, dict(parse_qsl(parts.query)))
        except BadRequest as exc:
            self._json(400, {"error": str(exc)})
            return
        self._json(200, body)

    def _json(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
