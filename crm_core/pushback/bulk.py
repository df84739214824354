"""Bulk submit: up to :data:`MAX_BATCH` field changes in one request (``crm-hub change
customer --from-csv FILE``, ``POST /changes:batch``), each answered on its own.

Every change goes through the same check as a single one
(:func:`crm_core.pushback.field_changes.checked_field_change`: the customer, the
ownership, the model), without a query of its own: what the store knows of the customers
is read once for the whole batch (:class:`crm_core.pushback.field_changes.CustomerFacts`),
the idempotency keys already recorded in one query, and the accepted changes go into the
outbox with one statement per table (:mod:`crm_core.pushback.outbox_rows`), all in one
transaction. Each change may carry its own idempotency key: one already recorded answers
with the change recorded (``replayed``), one used for another change, or twice in the
batch for different changes, refuses that change (409). A refused change refuses nothing
else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.pushback.change_view import ChangeView, load_changes
from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.pushback.field_changes import FIELD_ENTITIES, CustomerFacts, checked_field_change
from crm_core.pushback.outbox_rows import (
    Delivery,
    insert_changes,
    insert_targets,
    outbox_row,
    target_rows,
)
from crm_core.pushback.recording import check_request, new_change_id, replayed
from crm_core.store.lookup import among
from crm_core.store.tables import outbox
from schemas.pushback import PushState
from schemas.settings import HubConfig

#: The most changes one bulk request may hold.
MAX_BATCH = 10_000


@dataclass(frozen=True)
class FieldChange:
    """One change of a bulk request: new values of fields of one golden customer's
    ``customers`` (contact data) or ``credit`` (credit limit) records."""

    golden_id: str
    values: dict[str, Any]
    entity: str = "customers"
    idempotency_key: str | None = None


@dataclass
class ItemOutcome:
    """What became of one change of a bulk request: recorded (``view``; ``view.replayed``
    when its idempotency key had recorded it already) or refused (``error``)."""

    index: int
    view: ChangeView | None = None
    error: ChangeRejected | UnknownChange | None = None

    @property
    def accepted(self) -> bool:
        """Whether the change is in the outbox (new or recorded before)."""
        return self.view is not None


def check_size(count: int) -> None:
    """``ChangeRejected`` unless a bulk request of ``count`` changes may be submitted."""
    if count == 0:
        raise ChangeRejected("the bulk request holds no change")
    if count > MAX_BATCH:
        raise ChangeRejected(
            f"a bulk request holds at most {MAX_BATCH:,} changes, this one has {count:,}: "
            "split it into several requests"
        )


@dataclass
class _Accepted:
    index: int
    item: FieldChange
    changes: dict[str, dict[str, Any]]
    deliveries: list[Delivery]
    key: str
    change_id: str


def submit_batch(
    store: Engine, config: HubConfig, items: Sequence[FieldChange], who: str
) -> list[ItemOutcome]:
    """Check and record a batch of field changes by ``who`` in one transaction; one outcome
    per item, in order. ``ChangeRejected`` for a batch that is empty or too large."""
    check_size(len(items))
    check_request(who, None)
    outcomes = [ItemOutcome(i) for i in range(len(items))]
    with store.begin() as conn:
        by_entity: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            by_entity.setdefault(item.entity, []).append(i)
        accepted: list[_Accepted] = []
        for entity, indexes in by_entity.items():
            fields = {f for i in indexes for f in items[i].values}
            golden_ids = [items[i].golden_id for i in indexes]
            facts = (
                CustomerFacts.load(conn, config, entity, golden_ids, fields)
                if entity in FIELD_ENTITIES
                else None
            )
            for i in indexes:
                item = items[i]
                try:
                    if facts is None:
                        raise ChangeRejected(
                            f"changes to {entity} are not field changes of a customer "
                            f"(a bulk request takes {' and '.join(FIELD_ENTITIES)})"
                        )
                    check_request(who, item.idempotency_key)
                    changes, deliveries = checked_field_change(
                        config, facts, entity, item.golden_id, item.values
                    )
                except (ChangeRejected, UnknownChange) as exc:
                    outcomes[i].error = exc
                    continue
                change_id = new_change_id()
                key = item.idempotency_key or change_id
                accepted.append(_Accepted(i, item, changes, deliveries, key, change_id))
        fresh, repeats = _answer_known_keys(conn, accepted, outcomes)
        _store(conn, fresh, who, outcomes)
    for later, earlier in repeats:
        view = outcomes[earlier].view
        if view is None:  # pragma: no cover - the earlier change is stored or raised
            continue
        outcomes[later].view = replace(view, replayed=True)
    return outcomes


def _answer_known_keys(
    conn: Connection, accepted: list[_Accepted], outcomes: list[ItemOutcome]
) -> tuple[list[_Accepted], list[tuple[int, int]]]:
    """Answer the changes whose idempotency key is recorded already; return the others, to
    be stored, and the (later, earlier) indexes of changes repeating an earlier change of
    this batch (same key, same change: the earlier one's answer)."""
    known = _recorded_under(conn, [a.key for a in accepted if a.item.idempotency_key])
    fresh: list[_Accepted] = []
    first: dict[str, _Accepted] = {}
    repeats: list[tuple[int, int]] = []
    for a in accepted:
        try:
            if a.key in known:
                seen = known[a.key]
                outcomes[a.index].view = replayed(seen, a.key, a.item.entity, "update", a.changes)
            elif a.key in first:
                earlier = first[a.key]
                replayed(_draft(earlier), a.key, a.item.entity, "update", a.changes)
                repeats.append((a.index, earlier.index))
            else:
                first[a.key] = a
                fresh.append(a)
        except ChangeRejected as exc:
            outcomes[a.index].error = exc
    return fresh, repeats


def _draft(a: _Accepted, who: str = "", now: datetime | None = None) -> ChangeView:
    """The view of a change about to be stored."""
    return ChangeView(
        change_id=a.change_id,
        idempotency_key=a.key,
        golden_id=a.item.golden_id,
        entity=a.item.entity,
        op="update",
        record_key=a.item.golden_id,
        changes=a.changes,
        who=who,
        created_at=now or datetime.now(UTC),
        state=PushState.PENDING,
    )


def _store(conn: Connection, fresh: list[_Accepted], who: str, outcomes: list[ItemOutcome]) -> None:
    """The changes and their deliveries into the outbox, one statement each table
    (:mod:`crm_core.pushback.outbox_rows`); a change whose key a concurrent request has
    just taken answers as that request's change does."""
    now = datetime.now(UTC)
    rows = [
        outbox_row(
            a.change_id,
            a.key,
            a.item.golden_id,
            a.item.entity,
            "update",
            a.item.golden_id,
            a.changes,
            who,
            now,
        )
        for a in fresh
    ]
    stored = insert_changes(conn, rows)
    insert_targets(
        conn,
        [
            row
            for a in fresh
            if a.change_id in stored
            for row in target_rows(a.change_id, a.deliveries, now)
        ],
    )
    late = [a for a in fresh if a.change_id not in stored]
    known = _recorded_under(conn, [a.key for a in late])
    for a in fresh:
        if a.change_id in stored:
            view = _draft(a, who, now)
            view.targets = [
                {
                    "target": target,
                    "stream": stream,
                    "record_key": key,
                    "state": PushState.PENDING,
                    "attempts": 0,
                    "last_error": None,
                    "written_at": None,
                    "echoed_at": None,
                }
                for target, stream, key, _ in a.deliveries
            ]
            outcomes[a.index].view = view
            continue
        try:  # a concurrent request stored a change under this key first
            seen = known.get(a.key)
            if seen is None:
                raise ChangeRejected(f"idempotency key {a.key!r} is taken", conflict=True)
            outcomes[a.index].view = replayed(seen, a.key, a.item.entity, "update", a.changes)
        except ChangeRejected as exc:
            outcomes[a.index].error = exc


def _recorded_under(conn: Connection, keys: list[str]) -> dict[str, ChangeView]:
    """The changes recorded under these idempotency keys, by key."""
    rows = [
        (key, change_id)
        for where in among(conn, outbox.c.idempotency_key, keys)
        for key, change_id in conn.execute(
            select(outbox.c.idempotency_key, outbox.c.change_id).where(where)
        )
    ]
    if not rows:
        return {}
    views = load_changes(conn, [c for _, c in rows])
    return {k: views[c] for k, c in rows if c in views}
