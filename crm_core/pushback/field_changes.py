"""Field changes of a golden customer's ``customers`` (contact data) or ``credit`` (credit
limit) records: what the store knows of the customers, read in a few queries whatever their
number (:class:`CustomerFacts`), and the one check every field change, single or in bulk,
goes through (:func:`checked_field_change`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.pushback import routing
from crm_core.pushback.change_view import ChangeView
from crm_core.pushback.errors import ChangeRejected, UnknownChange
from crm_core.pushback.outbox_rows import Delivery
from crm_core.pushback.recording import Plan, check_request, submit_change
from crm_core.pushback.values import jsonable, typed
from crm_core.store.lookup import among
from crm_core.store.tables import RECORD_TABLES, golden_customers, source_links
from schemas.settings import HubConfig

#: The entities whose changes are field changes of a golden customer's records.
FIELD_ENTITIES = ("customers", "credit")


def field_entity(entity: str) -> None:
    """``ChangeRejected`` unless changes to ``entity`` are field changes of a customer."""
    if entity not in FIELD_ENTITIES:
        raise ChangeRejected(f"changes to {entity} are not field changes of a customer")


class CustomerFacts:
    """What the store holds about the golden customers of some field changes, read in a few
    queries whatever their number: the golden rows, their records' links, and the records
    of the entity changed (what the hub last pulled of the fields changed)."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.golden: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        #: the routes of a change to these fields (a batch changes the same few fields)
        self.routes: dict[tuple[str, ...], list[routing.Route]] = {}

    @classmethod
    def load(
        cls,
        conn: Connection,
        config: HubConfig,
        entity: str,
        golden_ids: Sequence[str],
        fields: Iterable[str] = (),
    ) -> CustomerFacts:
        """The facts of ``golden_ids`` for changes of ``entity``'s ``fields``: of the golden
        rows and the records, only the key, whether merged, and these fields are read."""
        facts = cls(entity)
        wanted = set(fields)
        golden_cols = [c for c in golden_customers.c if c.name in wanted]
        for where in among(conn, golden_customers.c.golden_id, golden_ids):
            rows = conn.execute(
                select(
                    golden_customers.c.golden_id, golden_customers.c.merged_into, *golden_cols
                ).where(where)
            ).all()
            names = ["golden_id", "merged_into", *(c.name for c in golden_cols)]
            facts.golden.update((r[0], dict(zip(names, r, strict=True))) for r in rows)
        for where in among(conn, source_links.c.golden_id, facts.golden):
            links = conn.execute(
                select(source_links.c.golden_id, source_links.c.source, source_links.c.source_key)
                .where(where)
                .order_by(source_links.c.linked_at, source_links.c.source_key)
            ).all()
            for golden_id, source, key in links:
                facts.links[golden_id, source].append(key)
        rules = config.push_back.ownership.get(entity)
        targets = sorted({t for r in rules.fields.values() for t in r.targets}) if rules else []
        table = RECORD_TABLES[entity]
        key_col = table.c[routing.key_field(entity)]
        record_cols = [c for c in table.c if c.name in wanted and c is not key_col]
        names = [key_col.name, *(c.name for c in record_cols)]
        for target in targets:
            keys = {k for (_, s), ks in facts.links.items() if s == target for k in ks}
            for where in among(conn, key_col, keys):
                found = conn.execute(
                    select(key_col, *record_cols).where(table.c.source == target, where)
                ).all()
                facts.records.update(
                    ((target, r[0]), dict(zip(names, r, strict=True))) for r in found
                )
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

    def routes_of(self, config: HubConfig, fields: list[str]) -> list[routing.Route]:
        """Where a change to ``fields`` of the entity goes (``ChangeRejected`` for a field
        the CRM side may not change, or cannot write); worked out once per set of fields."""
        known = self.routes.get(tuple(fields))
        if known is None:
            rules = routing.rules_for(config, self.entity, fields)
            known = self.routes[tuple(fields)] = routing.routes(config, self.entity, rules)
        return known


def live_golden(conn: Connection, golden_id: str) -> dict[str, Any]:
    """The golden customer's row (see :meth:`CustomerFacts.live_golden`)."""
    row = conn.execute(
        select(golden_customers.c.golden_id, golden_customers.c.merged_into).where(
            golden_customers.c.golden_id == golden_id
        )
    ).first()
    facts = CustomerFacts("customers")
    if row is not None:
        facts.golden[golden_id] = {"golden_id": row[0], "merged_into": row[1]}
    return facts.live_golden(golden_id)


def checked_field_change(
    config: HubConfig,
    facts: CustomerFacts,
    entity: str,
    golden_id: str,
    values: dict[str, Any],
) -> Plan:
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
    deliveries: list[Delivery] = []
    old: dict[str, Any] = {}
    for route in facts.routes_of(config, list(new)):
        for key in facts.record_keys(golden_id, route.target):
            deliveries.append((route.target, route.stream.stream, key, {key_field: key}))
            if not old:
                old = facts.stored_values(route.target, key, list(new)) or {}
    if entity == "customers":
        old = {f: golden.get(f, old.get(f)) for f in new}
    if not deliveries:
        targets = ", ".join(r.target for r in facts.routes_of(config, list(new)))
        raise ChangeRejected(
            f"customer {golden_id} has no {entity} record in {targets}, so the change "
            "has nowhere to go",
            conflict=True,
        )
    changes = {f: {"old": jsonable(old.get(f)), "new": jsonable(v)} for f, v in new.items()}
    return changes, deliveries


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
    field_entity(entity)
    check_request(who, idempotency_key)

    def plan(conn: Connection) -> Plan:
        facts = CustomerFacts.load(conn, config, entity, [golden_id], values)
        return checked_field_change(config, facts, entity, golden_id, values)

    return submit_change(
        store,
        plan,
        entity,
        "update",
        golden_id,
        golden_id,
        who=who,
        idempotency_key=idempotency_key,
    )


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
