"""The API app: routes, problem+json errors, and the search index kept fresh.

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

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import Engine

from crm_core import __version__
from crm_core.api import problems
from crm_core.api.routers import changes, customers, ops, stewardship
from crm_core.api.service import PopulationCache, refresh_search_index
from crm_core.api.web import install as install_web
from crm_core.store.db import open_store
from schemas.settings import HubConfig

log = logging.getLogger("crm_core.api")

DESCRIPTION = """\
Customer 360 for CRM users: who the customer is (the golden record, its source records
and each field's lineage) and what the back office knows about them (orders, credit,
receivables, stock of what they buy, purchase history and value). Ops: runs, quarantine,
metrics.

Every call but `/health` needs `Authorization: Bearer <key>`, a key made with
`crm-hub apikey create --role ROLE`. Roles: **viewer** reads customers, orders,
inventory and insights; **editor** also submits changes (later); **finance** adds credit
and receivables; **ops** reads runs, quarantine and metrics; **admin** all of it.
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


def create_app(
    config: HubConfig,
    *,
    store: Engine | None = None,
    search_refresh_seconds: float = 30.0,
    population_ttl: float = 300.0,
) -> FastAPI:
    """The API over ``config``'s store (or ``store``, already open and migrated)."""
    engine = store if store is not None else open_store(config.store_url(), config.store.timeouts)
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
    app.include_router(ops.health)
    app.include_router(customers.customers)
    app.include_router(customers.finance)
    app.include_router(ops.ops)
    app.include_router(stewardship.stewardship)
    app.include_router(changes.changes)
    app.include_router(changes.conflicts_router)
    install_web(app)  # the customer-360 page under /ui
    return app
