"""A store for the installed-base, service and campaign tests: the sample legacy ERP (with
its serial-number file), the service desk (served on loopback while it is read) and the
marketing system, synced, with golden customers made the simple way of ``api_kit``."""

from __future__ import annotations

import shutil
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, select

from crm_core.access.api_keys import create_key
from crm_core.api import create_app
from crm_core.golden.attached import golden_of
from crm_core.pull.sync import StreamResult, SyncEngine
from crm_core.store.db import open_store
from crm_core.store.tables import RECORD_TABLES, source_links
from schemas.settings import HubConfig, load_config
from tests.api_kit import link_goldens

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

AS_OF = date(2026, 11, 20)
SYSTEMS = ("legacy_erp", "service_desk", "marketing")
ROLES = ("viewer", "finance", "editor", "admin")


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sync_all(workdir: Path, config: HubConfig, store: Engine) -> list[StreamResult]:
    """Sync every source of the world (its service desk served meanwhile)."""
    from sample_erps import scenario

    port = int(config.sources["service_desk"].url.rsplit(":", 1)[1].split("/")[0])
    engine = SyncEngine(config, store)
    results: list[StreamResult] = []
    with scenario.servers(workdir, service_desk_port=port):
        for source in SYSTEMS:
            results += engine.sync_source(source)
    assert all(r.status == "success" for r in results), [(r.stream, r.error) for r in results]
    return results


def aftersales_world(
    workdir: Path, customers: int = 60, store_url: str | None = None
) -> tuple[HubConfig, Engine]:
    """The three systems in ``workdir``, synced into the demo store (or ``store_url``), with
    golden customers."""
    from sample_erps import scenario

    scenario.prepare(
        workdir,
        seed=5,
        customers=customers,
        as_of=AS_OF,
        systems=SYSTEMS,
        service_desk_port=free_port(),
    )
    config = load_config(workdir / scenario.CONFIG_NAME)
    store = open_store(store_url or config.store_url())
    sync_all(workdir, config, store)
    link_goldens(store)
    return config, store


@cache
def _template(root: Path) -> Path:
    workdir = root / "aftersales-template"
    _config, store = aftersales_world(workdir)
    store.dispose()
    return workdir


def world_copy(root: Path, target: Path) -> tuple[HubConfig, Engine]:
    """A copy of the session's synced world at ``target``: its config and store engine."""
    shutil.copytree(_template(root), target)
    config = load_config(target / "crm-hub.yaml")
    return config, open_store(config.store_url())


@dataclass
class Api:
    """The API over a world's store, with a key per role."""

    client: TestClient
    store: Engine
    keys: dict[str, str]

    def get(self, path: str, role: str = "viewer", **params: Any) -> Any:
        """GET ``path`` as ``role``; the JSON of a 200 answer."""
        response = self.call(path, role, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def call(self, path: str, role: str = "viewer", **params: Any) -> Any:
        """GET ``path`` as ``role``; the response, whatever its status."""
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return self.client.get(path, params=params, headers=headers)


@contextmanager
def api_over(config: HubConfig, store: Engine) -> Iterator[Api]:
    """A test client of the app over ``store`` with a viewer, finance and admin key."""
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"{role} tests")[1] for role in ROLES}
    with TestClient(app) as client:
        yield Api(client, store, keys)


def busiest(store: Engine, table: str) -> str:
    """The golden id with the most rows of ``table`` (which names a customer by
    ``customer_source`` or its own source, and ``customer_id``)."""
    rows = RECORD_TABLES[table]
    if "customer_source" in rows.c:
        base = golden_of(rows, rows.c.customer_id)
    else:
        base = select(rows.c.customer_id).join(
            source_links,
            and_(
                source_links.c.source == rows.c.source,
                source_links.c.source_key == rows.c.customer_id,
            ),
        )
    stmt = (
        base.with_only_columns(source_links.c.golden_id, func.count())
        .group_by(source_links.c.golden_id)
        .order_by(func.count().desc(), source_links.c.golden_id)
        .limit(1)
    )
    with store.connect() as conn:
        return str(conn.execute(stmt).one()[0])


def keys_of(store: Engine, golden_id: str) -> set[tuple[str, str]]:
    """(source, customer key) of the golden customer's source records."""
    with store.connect() as conn:
        stmt = select(source_links.c.source, source_links.c.source_key).where(
            source_links.c.golden_id == golden_id
        )
        return {(r[0], r[1]) for r in conn.execute(stmt)}
