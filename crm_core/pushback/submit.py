"""The service every CRM-side change goes through (CLI, HTTP API, Python callers).

A change is checked before anything is stored: every field must be one the CRM side may
change (``push_back.ownership``), every value must fit the model, the customer must exist
and have a record in at least one target. Then, in one transaction, the change goes into
the outbox with one delivery row per target record, and a concession also into the store
as the CRM's own record of it (source ``crm``). The same idempotency key submitted again
returns the change already stored instead of a second one, also when both arrive at
the same time (the second insert finds the key taken and answers with the first change).
Text with a control character is refused before anything is stored (``InvalidValue``).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, Insert, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from crm_core.pushback import routing
from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.pushback.values import jsonable, plain_text, typed
from crm_core.store.tables import (
    RECORD_TABLES,
    golden_customers,
    outbox,
    outbox_targets,
    source_links,
)
from schemas.entities import ENTITIES
from schemas.model import Concession
from schemas.pushback import CRM, PushState
from schemas.settings import HubConfig


@dataclass
class ChangeView:
    """A change as the CLI and the API show it."""

    change_id: str
    idempotency_key: str
    golden_id: str | None
    entity: str
    op: str
    record_key: str
    changes: dict[str, dict[str, Any]]
    who: str
    created_at: datetime
    state: str
    attempts: int = 0
    last_error: str | None = None
    finished_at: datetime | None = None
    targets: list[dict[str, Any]] = field(default_factory=list)
    #: whether this is the change an earlier request with the same idempotency key stored
    replayed: bool = False

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        out = {k: jsonable(v) for k, v in self.__dict__.items() if k not in ("targets", "replayed")}
        out["targets"] = [{k: jsonable(v) for k, v in t.items()} for t in self.targets]
        return out


def new_change_id() -> str:
    """A fresh change id: ``chg_`` and 24 hex digits."""
    return f"chg_{uuid.uuid4().hex[:24]}"


def _live_golden(conn: Connection, golden_id: str) -> dict[str, Any]:
    row = conn.execute(select(golden_customers).where(golden_customers.c.golden_id == golden_id))
    found = row.mappings().first()
    facts = CustomerFacts("customers")
    if found is not None:
        facts.golden[golden_id] = dict(found)
    return facts.live_golden(golden_id)


def _existing(conn: Connection, key: str) -> ChangeView | None:
    row = conn.execute(select(outbox.c.change_id).where(outbox.c.idempotency_key == key)).first()
    return load_change(conn, row[0]) if row else None


def load_change(conn: Connection, change_id: str) -> ChangeView:
    """One change with its deliveries (``UnknownChange`` if there is none)."""
    found = load_changes(conn, [change_id])
    if change_id not in found:
        raise UnknownChange(f"no change {change_id!r}")
    return found[change_id]


def load_changes(conn: Connection, change_ids: Sequence[str]) -> dict[str, ChangeView]:
    """Changes with their deliveries by change id (those that exist), in two queries a
    few thousand changes."""
    out: dict[str, ChangeView] = {}
    for part in _parts(sorted(set(change_ids))):
        rows = conn.execute(select(outbox).where(outbox.c.change_id.in_(part))).mappings()
        out.update((r["change_id"], _view(r)) for r in rows)
        targets = conn.execute(
            select(
                outbox_targets.c.change_id,
                outbox_targets.c.target,
                outbox_targets.c.stream,
                outbox_targets.c.record_key,
                outbox_targets.c.state,
                outbox_targets.c.attempts,
                outbox_targets.c.last_error,
                outbox_targets.c.written_at,
                outbox_targets.c.echoed_at,
            )
            .where(outbox_targets.c.change_id.in_(part))
            .order_by(outbox_targets.c.target, outbox_targets.c.record_key)
        ).mappings()
        for t in targets:
            target = dict(t)
            out[target.pop("change_id")].targets.append(target)
    return out


def _view(row: Any) -> ChangeView:
    return ChangeView(
        change_id=row["change_id"],
        idempotency_key=row["idempotency_key"],
        golden_id=row["golden_id"],
        entity=row["entity"],
        op=row["op"],
        record_key=row["record_key"],
        changes=row["changes"],
        who=row["who"],
        created_at=row["created_at"],
        state=row["state"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        finished_at=row["finished_at"],
    )


def _replay(
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


def insert_new(conn: Connection, table: Table, *key: str) -> Insert:
    """An insert into ``table`` that inserts nothing (and returns no row) when a row with
    the same ``key`` exists, also one a concurrent transaction has just committed, instead
    of failing with a unique violation (PostgreSQL and SQLite; elsewhere a plain insert)."""
    dialect = {"postgresql": postgresql, "sqlite": sqlite}.get(conn.dialect.name)
    if dialect is None:
        return insert(table)
    return dialect.insert(table).on_conflict_do_nothing(index_elements=list(key))


def check_request(who: str, idempotency_key: str | None) -> None:
    """``InvalidValue`` if who or the idempotency key holds a control character."""
    plain_text("change", "who", who)
    if idempotency_key is not None:
        plain_text("change", "idempotency_key", idempotency_key)


def _store_change(
    conn: Connection,
    *,
    golden_id: str | None,
    entity: str,
    op: str,
    record_key: str,
    changes: dict[str, dict[str, Any]],
    deliveries: list[tuple[str, str, str, dict[str, Any]]],
    who: str,
    idempotency_key: str | None,
) -> ChangeView:
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
        seen = _replay(conn, idempotency_key, entity, op, changes)
        if seen is None:
            raise ChangeRejected(f"idempotency key {idempotency_key!r} is taken", conflict=True)
        return seen
    conn.execute(insert(outbox_targets), target_rows(change_id, deliveries, now))
    return load_change(conn, change_id)


def outbox_row(
    change_id: str,
    idempotency_key: str,
    golden_id: str | None,
    entity: str,
    op: str,
    record_key: str,
    changes: dict[str, dict[str, Any]],
    who: str,
    now: datetime,
) -> dict[str, Any]:
    """The ``outbox`` row of a new change, pending, made at ``now``."""
    return {
        "change_id": change_id,
        "idempotency_key": idempotency_key,
        "golden_id": golden_id,
        "entity": entity,
        "op": op,
        "record_key": record_key,
        "changes": changes,
        "who": who,
        "created_at": now,
        "state": PushState.PENDING,
        "attempts": 0,
        "updated_at": now,
    }


def target_rows(
    change_id: str, deliveries: Sequence[Delivery], now: datetime
) -> list[dict[str, Any]]:
    """The ``outbox_targets`` rows of a new change's deliveries, pending, made at ``now``."""
    return [
        {
            "change_id": change_id,
            "target": target,
            "record_key": key,
            "stream": stream,
            "target_key": target_key,
            "state": PushState.PENDING,
            "attempts": 0,
            "updated_at": now,
        }
        for target, stream, key, target_key in deliveries
    ]


def _submit(
    store: Engine,
    plan: Callable[[Connection], tuple[dict[str, dict[str, Any]], list[Delivery]]],
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
        if seen := _replay(conn, idempotency_key, entity, op, changes):
            return seen
        return _store_change(
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


def change_fields(
    store: Engine,
    config: HubConfig,
    *,
    entity: str,
    golden_id: str,
    values: dict[str, Any],
    who: str,
    idempotency_key: str | None = None,
) -> ChangeView:
    """Change fields of a golden customer's ``customers`` or ``credit`` records in the
    systems that keep them (contacts, address, phone, e-mail; a credit-limit request)."""
    _field_entity(entity)
    check_request(who, idempotency_key)

    def plan(conn: Connection) -> tuple[dict[str, dict[str, Any]], list[Delivery]]:
        facts = CustomerFacts.load(conn, config, entity, [golden_id])
        return checked_field_change(config, facts, entity, golden_id, values)

    return _submit(
        store,
        plan,
        entity,
        "update",
        golden_id,
        golden_id,
        who=who,
        idempotency_key=idempotency_key,
    )


#: The entities whose changes are field changes of a golden customer's records.
FIELD_ENTITIES = ("customers", "credit")


def _field_entity(entity: str) -> None:
    if entity not in FIELD_ENTITIES:
        raise ChangeRejected(f"changes to {entity} are not field changes of a customer")


#: A delivery of a change: target, stream, record key, the target's key values.
Delivery = tuple[str, str, str, dict[str, Any]]


class CustomerFacts:
    """What the store holds about the golden customers of some field changes, read in a few
    queries whatever their number: the golden rows, their records' links, and the records
    of the entity changed (what the hub last pulled)."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.golden: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    @classmethod
    def load(
        cls, conn: Connection, config: HubConfig, entity: str, golden_ids: Sequence[str]
    ) -> CustomerFacts:
        """The facts of ``golden_ids`` for changes of ``entity``."""
        facts = cls(entity)
        wanted = sorted(set(golden_ids))
        for part in _parts(wanted):
            rows = conn.execute(
                select(golden_customers).where(golden_customers.c.golden_id.in_(part))
            )
            facts.golden.update((r["golden_id"], dict(r)) for r in rows.mappings())
        live = sorted(facts.golden)
        for part in _parts(live):
            links = conn.execute(
                select(source_links.c.golden_id, source_links.c.source, source_links.c.source_key)
                .where(source_links.c.golden_id.in_(part))
                .order_by(source_links.c.linked_at, source_links.c.source_key)
            )
            for golden_id, source, key in links:
                facts.links[golden_id, source].append(key)
        rules = config.push_back.ownership.get(entity)
        targets = sorted({t for r in rules.fields.values() for t in r.targets}) if rules else []
        table = RECORD_TABLES[entity]
        key_col = table.c[routing.key_field(entity)]
        for target in targets:
            keys = sorted({k for (_, s), ks in facts.links.items() if s == target for k in ks})
            for part in _parts(keys):
                found = conn.execute(
                    select(table).where(table.c.source == target, key_col.in_(part))
                ).mappings()
                facts.records.update(((target, r[key_col.name]), dict(r)) for r in found)
        return facts

    def live_golden(self, golden_id: str) -> dict[str, Any]:
        """The golden customer's row; ``UnknownChange`` if there is none, ``ChangeRejected``
        naming the survivor if it was merged."""
        found = self.golden.get(golden_id)
        if found is None:
            raise UnknownChange(f"no customer {golden_id!r}")
        if found["merged_into"]:
            raise ChangeRejected(
                f"customer {golden_id} was merged into {found['merged_into']}: change that one",
                conflict=True,
            )
        return found

    def record_keys(self, golden_id: str, target: str) -> list[str]:
        """The records of the entity in ``target`` that a change to the customer touches:
        its customer records, or (credit) those of them with a credit record."""
        keys = self.links.get((golden_id, target), [])
        if self.entity == "customers":
            return list(keys)
        return [k for k in keys if (target, k) in self.records]

    def stored_values(self, target: str, key: str, fields: list[str]) -> dict[str, Any] | None:
        """What the hub last pulled of one record's ``fields`` (None: never pulled)."""
        record = self.records.get((target, key))
        return None if record is None else {f: record.get(f) for f in fields}


def checked_field_change(
    config: HubConfig,
    facts: CustomerFacts,
    entity: str,
    golden_id: str,
    values: dict[str, Any],
) -> tuple[dict[str, dict[str, Any]], list[Delivery]]:
    """A field change checked against the customer, the ownership and the model: its old and
    new values and its deliveries, or ``ChangeRejected`` (``UnknownChange``) with the reason.
    Every field change, one or a batch, is checked here."""
    golden = facts.live_golden(golden_id)  # an unknown customer first: 404, not 422
    key_field = routing.key_field(entity)
    if not values:
        raise ChangeRejected("the change changes no field")
    if key_field in values:
        raise ChangeRejected(f"{entity}.{key_field} is a key and cannot be changed", key_field)
    new = {f: typed(entity, f, v) for f, v in values.items()}
    plan = routing.routes(config, entity, routing.rules_for(config, entity, list(new)))
    deliveries: list[Delivery] = []
    old: dict[str, Any] = {}
    for route in plan:
        for key in facts.record_keys(golden_id, route.target):
            deliveries.append((route.target, route.stream.stream, key, {key_field: key}))
            if not old:
                old = facts.stored_values(route.target, key, list(new)) or {}
    if entity == "customers":
        old = {f: golden.get(f, old.get(f)) for f in new}
    if not deliveries:
        targets = ", ".join(r.target for r in plan)
        raise ChangeRejected(
            f"customer {golden_id} has no {entity} record in {targets}, so the change "
            "has nowhere to go",
            conflict=True,
        )
    changes = {f: {"old": jsonable(old.get(f)), "new": jsonable(v)} for f, v in new.items()}
    return changes, deliveries


def _parts(items: Sequence[Any], size: int = 5000) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


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
    return _submit(
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
) -> tuple[dict[str, dict[str, Any]], list[Delivery]]:
    """The changes of ``values`` to asset ``asset_id`` of customer ``golden_id`` and their
    deliveries to the systems that keep it; ``ChangeRejected`` if it has nowhere to go."""
    entity = "assets"
    table = RECORD_TABLES[entity]
    _live_golden(conn, golden_id)
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


def request_credit_limit(
    store: Engine,
    config: HubConfig,
    *,
    golden_id: str,
    credit_limit: Decimal | str,
    who: str,
    idempotency_key: str | None = None,
) -> ChangeView:
    """Ask the system that owns credit limits to set a customer's new limit."""
    return change_fields(
        store,
        config,
        entity="credit",
        golden_id=golden_id,
        values={"credit_limit": credit_limit},
        who=who,
        idempotency_key=idempotency_key,
    )


def record_concession(
    store: Engine,
    config: HubConfig,
    *,
    golden_id: str,
    concession: dict[str, Any],
    who: str,
    idempotency_key: str | None = None,
) -> ChangeView:
    """Record an approved concession for a customer (or one of its orders) and queue it
    for the system that books concessions; the store keeps the CRM's record of it."""
    check_request(who, idempotency_key)
    with store.begin() as conn:
        _live_golden(conn, golden_id)  # an unknown customer first: 404, not 422
        concession_id, values = _checked_concession(golden_id, concession)
        rules = routing.rules_for(
            config, "concessions", [f for f in values if f != "concession_id"]
        )
        plan = routing.routes(config, "concessions", rules)
        deliveries = []
        for route in plan:
            keys = routing.customer_keys(conn, golden_id, route.target)
            if not keys:
                raise ChangeRejected(
                    f"customer {golden_id} has no record in {route.target}, which books "
                    "concessions",
                    conflict=True,
                )
            deliveries.append(
                (route.target, route.stream.stream, concession_id, {"customer_id": keys[0]})
            )
        changes = {f: {"old": None, "new": jsonable(v)} for f, v in values.items()}
        if seen := _replay(conn, idempotency_key, "concessions", "create", changes):
            return seen
        exists = conn.execute(
            select(RECORD_TABLES["concessions"].c.concession_id).where(
                RECORD_TABLES["concessions"].c.concession_id == concession_id
            )
        ).first()
        if exists:
            raise ChangeRejected(f"concession {concession_id} exists already", conflict=True)
        view = _store_change(
            conn,
            golden_id=golden_id,
            entity="concessions",
            op="create",
            record_key=concession_id,
            changes=changes,
            deliveries=deliveries,
            who=who,
            idempotency_key=idempotency_key,
        )
        if view.replayed:
            return view
        now = datetime.now(UTC)
        concessions = RECORD_TABLES["concessions"]
        booked = conn.execute(
            insert_new(conn, concessions, "source", "concession_id")
            .values(source=CRM, **values, updated_at=now, loaded_at=now)
            .returning(concessions.c.concession_id)
        ).first()
        if booked is None:  # recorded meanwhile by a concurrent request
            raise ChangeRejected(f"concession {concession_id} exists already", conflict=True)
        return view


def _checked_concession(golden_id: str, concession: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A concession's id (given, or a new one) and its model values, or ``ChangeRejected``
    naming the field at fault."""
    fields = {k: v for k, v in concession.items() if v is not None}
    unknown = [
        f
        for f in fields
        if f not in Concession.model_fields or f in ("customer_id", "status", "updated_at")
    ]
    if unknown:
        raise ChangeRejected(
            f"concessions: unknown or read-only field(s) {', '.join(unknown)}", unknown[0]
        )
    concession_id = str(fields.pop("concession_id", "") or f"CRM-{uuid.uuid4().hex[:12].upper()}")
    draft = {"concession_id": concession_id, "customer_id": golden_id, **fields}
    try:
        record = Concession.model_validate(draft)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "concession"
        raise ChangeRejected(f"concessions.{where}: {first['msg']}", where) from None
    _check_concession(record)
    values = record.model_dump(exclude={"updated_at"})
    for name, value in values.items():
        plain_text("concessions", name, value)
    return concession_id, values


def _check_concession(record: Concession) -> None:
    if record.kind == "amount" and (record.amount is None or record.currency is None):
        raise ChangeRejected(
            "concessions.amount: an amount concession needs amount and currency", "amount"
        )
    if record.kind == "percent" and record.percent is None:
        raise ChangeRejected("concessions.percent: a percent concession needs percent", "percent")
    if record.kind == "percent" and record.amount is not None:
        raise ChangeRejected("concessions.amount: give amount or percent, not both", "amount")
    if record.valid_to is not None and record.valid_to < record.valid_from:
        raise ChangeRejected("concessions.valid_to: ends before it starts", "valid_to")
    if not record.reason.strip() or not record.approver.strip():
        raise ChangeRejected("concessions: reason and approver must not be blank", "approver")


def create_customer(
    store: Engine,
    config: HubConfig,
    *,
    values: dict[str, Any],
    who: str,
    idempotency_key: str | None = None,
) -> ChangeView:
    """Create a customer on the CRM side in the systems ``push_back.ownership.customers.
    create_in`` names; it gets its golden id when the next pull and reconcile see it."""
    rules_cfg = config.push_back.ownership.get("customers")
    if rules_cfg is None or not rules_cfg.create_in:
        raise ChangeRejected(
            "no system is declared to create customers in (push_back.ownership.customers.create_in)"
        )
    if "name" not in values:
        raise ChangeRejected("customers.name: a new customer needs a name", "name")
    check_request(who, idempotency_key)
    customer_id = str(values.pop("customer_id", "") or f"H{uuid.uuid4().hex[:9].upper()}")
    plain_text("customers", "customer_id", customer_id)
    new = {f: typed("customers", f, v) for f, v in values.items()}
    new.setdefault("active", True)
    new.setdefault("created_on", date.today())
    ENTITIES["customers"].model.model_validate({"customer_id": customer_id, **new})
    deliveries = []
    for target in rules_cfg.create_in:
        stream = routing.target_stream(config, target, "customers")
        deliveries.append((target, stream.stream, customer_id, {"customer_id": customer_id}))
    changes = {f: {"old": None, "new": jsonable(v)} for f, v in new.items()}
    return _submit(
        store,
        lambda _conn: (changes, deliveries),
        "customers",
        "create",
        None,
        customer_id,
        who=who,
        idempotency_key=idempotency_key,
    )


def get_change(store: Engine, change_id: str) -> ChangeView:
    """One change and where its deliveries stand."""
    with store.connect() as conn:
        return load_change(conn, change_id)


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
