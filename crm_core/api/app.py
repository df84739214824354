"""The API app: routes, problem+json errors, the search index kept fresh, and a guard in
front of every route (:class:`Guard`).

At start the app brings the customer search index up to date (pinyin for new and
changed customers), then a background thread does so every ``search_refresh_seconds``,
so searches never compute pinyin themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_core import __version__
from crm_core.api import problems
from crm_core.api.routers import (
    asset_changes,
    assets,
    campaigns,
    changes,
    customers,
    lookup,
    ops,
    stewardship,
)
from crm_core.api.service import PopulationCache, refresh_search_index
from crm_core.api.web import install as install_web
from crm_core.api.web.pages import bad_input
from crm_core.store.db import open_store
from schemas.settings import HubConfig
from schemas.text import control_character

log = logging.getLogger("crm_core.api")

DESCRIPTION = """\
Customer 360 for CRM users: who the customer is (the golden record, its source records
and each field's lineage) and what the back office knows about them (orders, credit,
receivables, stock of what they buy, purchase history and value). Changes made on the CRM
side, sent back to the systems that own each field; stewardship of golden records. Ops:
runs, quarantine, conflicts, metrics.

Every call but `/health` needs `Authorization: Bearer <key>`, a key made with
`crm-hub apikey create --role ROLE`. Roles: **viewer** reads customers, orders,
inventory and insights; **editor** also submits changes (contact data, credit-limit
requests, concessions, new customers) and merges, unmerges and pins golden records;
**finance** adds credit and receivables; **ops** reads runs, quarantine, conflicts and
metrics; **admin** all of it.
Errors are RFC 7807 `application/problem+json`. Money is a decimal string with its
currency beside it.
"""


class SearchRefresher:
    """Keeps the search index current: once now, then every ``interval`` seconds in a
    daemon thread until stopped (``interval`` 0: only once)."""

    def __init__(self, store: Engine, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> int:
        """Index what changed; log and swallow store errors (the next round retries)."""
        started = time.perf_counter()
        try:
            done = refresh_search_index(self.store)
        except Exception as exc:  # noqa: BLE001 - a failed round must not end the API
            log.warning("search index refresh failed: %s: %s", type(exc).__name__, exc)
            return 0
        if done:
            log.info(
                "search index: %d customers indexed in %.2fs", done, time.perf_counter() - started
            )
        return done

    def start(self) -> None:
        """Refresh now, then keep refreshing in the background."""
        self.refresh()
        if self.interval > 0:
            self._thread = threading.Thread(
                target=self._run, name="crm-hub-search-index", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.refresh()

    def stop(self) -> None:
        """Stop the background thread."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)


#: paths whose answers may be cached (static files of the page and of the API docs)
CACHEABLE = ("/ui/static/", "/docs-assets/")


def refused_part(scope: Scope) -> str | None:
    """Why a request's path or query string is refused before any route sees it (a
    control character: no customer id, search or name holds one, and the store may
    not take it), or None."""
    path = scope.get("path", "")
    if problem := control_character(path):
        return f"path: {problem}"
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if problem := control_character(name):
            return f"query: the name of a parameter {problem}"
        if problem := control_character(value):
            return f"query.{name[:40]}: the value {problem}"
    return None


class Guard:
    """In front of every route: a path or query with a control character is refused
    (422: problem+json, or the error page under ``/ui``), and every answer but a static
    file carries ``X-Content-Type-Options: nosniff`` and ``Cache-Control: no-store``, as
    the pages always did."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = scope.get("path", "").startswith(CACHEABLE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if not cacheable:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        reason = refused_part(scope)
        if reason is None:
            await self.app(scope, receive, send_with_headers)
            return
        if scope.get("path", "").startswith("/ui"):
            answer = bad_input(Request(scope), reason)
        else:
            answer = problems.problem(422, f"invalid request: {reason}")
        await answer(scope, receive, send_with_headers)


def create_app(
    config: HubConfig,
    *,
    store: Engine | None = None,
    search_refresh_seconds: float = 30.0,
    population_ttl: float = 300.0,
) -> FastAPI:
    """The API over ``config``'s store (or ``store``, already open and migrated)."""
    engine = (
        store
        if store is not None
        else open_store(config.store_url(), config.store.timeouts, ping_each_checkout=False)
    )
    refresher = SearchRefresher(engine, search_refresh_seconds)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        refresher.start()
        try:
            yield
        finally:
            refresher.stop()

    # Swagger UI (/docs) and ReDoc (/redoc) with their scripts served by the app, no CDN
    app = FastAPIOffline(
        title="crm-hub",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        static_url="/docs-assets",
    )
    app.state.config = config
    app.state.store = engine
    app.state.population = PopulationCache(population_ttl)
    app.state.search = refresher
    problems.install(app)
    app.add_middleware(Guard)
    app.include_router(ops.health)
    app.include_router(customers.customers)
    app.include_router(customers.finance)
    app.include_router(lookup.lookup)
    app.include_router(ops.ops)
    app.include_router(stewardship.stewardship)
    app.include_router(changes.changes)
    app.include_router(changes.conflicts_router)
    app.include_router(assets.aftersales)
    app.include_router(asset_changes.asset_changes)
    app.include_router(campaigns.listing)
    app.include_router(campaigns.returns)
    install_web(app)  # the customer-360 page under /ui
    return app
