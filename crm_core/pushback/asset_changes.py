"""Changes to a customer's installed base: an install-site correction (CRM-owned), a
service contract renewal (requested from the system that owns contracts), routed by
``push_back.ownership.assets`` to the systems that keep the asset."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.pushback import routing
from crm_core.pushback.change_view import ChangeView
from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.pushback.field_changes import live_golden
from crm_core.pushback.outbox_rows import Delivery
from crm_core.pushback.recording import Plan, check_request, submit_change
from crm_core.pushback.values import jsonable, plain_text, typed
from crm_core.store.tables import RECORD_TABLES, source_links
from schemas.settings import HubConfig


def change_asset(
    store: Engine,
    config: HubConfig,
    *,
    golden_id: str,
    asset_id: str,
    values: dict[str, Any],
    who: str,
    idempotency_key: str | None = None,
) -> ChangeView:
    """Change fields of one asset of a golden customer in the systems that keep it: an
    install-site correction, a service contract renewal (a new contract id and end date,
    requested from the system that owns contracts), by ``push_back.ownership.assets``."""
    check_request(who, idempotency_key)
    plain_text("change", "asset_id", asset_id)
    return submit_change(
        store,
        lambda conn: _asset_change(conn, config, golden_id, asset_id, values),
        "assets",
        "update",
        golden_id,
        asset_id,
        who=who,
        idempotency_key=idempotency_key,
    )


def _asset_change(
    conn: Connection, config: HubConfig, golden_id: str, asset_id: str, values: dict[str, Any]
) -> Plan:
    """The changes of ``values`` to asset ``asset_id`` of customer ``golden_id`` and their
    deliveries to the systems that keep it; ``ChangeRejected`` if it has nowhere to go."""
    entity = "assets"
    table = RECORD_TABLES[entity]
    live_golden(conn, golden_id)
    if not values:
        raise ChangeRejected("the change changes no field")
    if "asset_id" in values or "customer_id" in values:
        raise ChangeRejected("assets.asset_id and customer_id cannot be changed", "asset_id")
    owned = {
        (r.source, r.asset_id)
        for r in conn.execute(
            select(table.c.source, table.c.asset_id)
            .join(
                source_links,
                (source_links.c.source == table.c.source)
                & (source_links.c.source_key == table.c.customer_id),
            )
            .where(source_links.c.golden_id == golden_id, table.c.asset_id == asset_id)
        )
    }
    if not owned:
        raise UnknownChange(f"customer {golden_id} has no asset {asset_id!r}")
    new = {f: typed(entity, f, v) for f, v in values.items()}
    plan = routing.routes(config, entity, routing.rules_for(config, entity, list(new)))
    deliveries: list[Delivery] = []
    old: dict[str, Any] = {}
    for route in plan:
        if (route.target, asset_id) in owned:
            deliveries.append((route.target, route.stream.stream, asset_id, {"asset_id": asset_id}))
            old = old or _pulled(conn, entity, route.target, asset_id, list(new))
    if not deliveries:
        targets = ", ".join(r.target for r in plan)
        raise ChangeRejected(
            f"asset {asset_id} is not kept in {targets}, so the change has nowhere to go",
            conflict=True,
        )
    changes = {f: {"old": jsonable(old.get(f)), "new": jsonable(v)} for f, v in new.items()}
    return changes, deliveries


def _pulled(
    conn: Connection, entity: str, target: str, record_key: str, fields: list[str]
) -> dict[str, Any]:
    """What the hub last pulled from ``target`` of one record's ``fields`` (empty: never)."""
    table = RECORD_TABLES[entity]
    key_col = table.c[routing.key_field(entity)]
    row = conn.execute(
        select(*(table.c[f] for f in fields)).where(table.c.source == target, key_col == record_key)
    ).first()
    return {} if row is None else dict(zip(fields, row, strict=True))
