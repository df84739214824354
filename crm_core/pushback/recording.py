"""One change recorded in the outbox, once per idempotency key: the transaction every
single change (field, asset, concession, new customer) is stored in.

The same idempotency key submitted again returns the change already stored instead of a
second one, also when both arrive at the same time (the second insert finds the key taken
and answers with the first change); a key used for another change is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from crm_core.pushback.change_view import ChangeView, load_change
from crm_core.pushback.errors import ChangeRejected
from crm_core.pushback.outbox_rows import Delivery, insert_new, outbox_row, target_rows
from crm_core.pushback.values import plain_text
from crm_core.store.tables import outbox, outbox_targets

#: What a change makes of a request: its old and new values, and its deliveries.
Plan = tuple[dict[str, dict[str, Any]], list[Delivery]]


def new_change_id() -> str:
    """A fresh change id: ``chg_`` and 24 hex digits."""
    return f"chg_{uuid.uuid4().hex[:24]}"


def check_request(who: str, idempotency_key: str | None) -> None:
    """``InvalidValue`` if who or the idempotency key holds a control character."""
    plain_text("change", "who", who)
    if idempotency_key is not None:
        plain_text("change", "idempotency_key", idempotency_key)


def _existing(conn: Connection, key: str) -> ChangeView | None:
    row = conn.execute(select(outbox.c.change_id).where(outbox.c.idempotency_key == key)).first()
    return load_change(conn, row[0]) if row else None


def replay(
    conn: Connection,
    key: str | None,
    entity: str,
    op: str,
    changes: dict[str, dict[str, Any]],
) -> ChangeView | None:
    """The change already recorded under idempotency key ``key`` if it is this same request
    (ids the hub made up aside); ``ChangeRejected`` if the key was used for another one."""
    seen = _existing(conn, key) if key else None
    if seen is None:
        return None
    return replayed(seen, key or "", entity, op, changes)


def replayed(
    seen: ChangeView, key: str, entity: str, op: str, changes: dict[str, dict[str, Any]]
) -> ChangeView:
    """``seen``, recorded under idempotency key ``key``, as the answer to a request for the
    same change again; ``ChangeRejected`` if the request is for another change."""

    def wanted(c: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {f: v["new"] for f, v in c.items() if f != "concession_id"}

    if (seen.entity, seen.op) == (entity, op) and wanted(seen.changes) == wanted(changes):
        seen.replayed = True
        return seen
    raise ChangeRejected(
        f"idempotency key {key!r} was used for another change ({seen.change_id})",
        conflict=True,
    )


def store_change(
    conn: Connection,
    *,
    golden_id: str | None,
    entity: str,
    op: str,
    record_key: str,
    changes: dict[str, dict[str, Any]],
    deliveries: list[Delivery],
    who: str,
    idempotency_key: str | None,
) -> ChangeView:
    """Store one checked change and its deliveries, or answer with the change a concurrent
    request with the same idempotency key stored first."""
    change_id = new_change_id()
    now = datetime.now(UTC)
    row = outbox_row(
        change_id,
        idempotency_key or change_id,
        golden_id,
        entity,
        op,
        record_key,
        changes,
        who,
        now,
    )
    stored = conn.execute(
        insert_new(conn, outbox, "idempotency_key").values(**row).returning(outbox.c.change_id)
    ).first()
    if stored is None:
        # a concurrent request with the same key stored its change first
        seen = replay(conn, idempotency_key, entity, op, changes)
        if seen is None:
            raise ChangeRejected(f"idempotency key {idempotency_key!r} is taken", conflict=True)
        return seen
    conn.execute(insert(outbox_targets), target_rows(change_id, deliveries, now))
    return load_change(conn, change_id)


def submit_change(
    store: Engine,
    plan: Callable[[Connection], Plan],
    entity: str,
    op: str,
    golden_id: str | None,
    record_key: str,
    *,
    who: str,
    idempotency_key: str | None,
) -> ChangeView:
    """In one transaction: the changes and deliveries ``plan`` makes of a request, then the
    change recorded under ``idempotency_key`` if it is this same one, else the change stored."""
    with store.begin() as conn:
        changes, deliveries = plan(conn)
        if seen := replay(conn, idempotency_key, entity, op, changes):
            return seen
        return store_change(
            conn,
            golden_id=golden_id,
            entity=entity,
            op=op,
            record_key=record_key,
            changes=changes,
            deliveries=deliveries,
            who=who,
            idempotency_key=idempotency_key,
        )
