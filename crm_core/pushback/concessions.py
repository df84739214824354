"""Concessions the CRM side records for a customer (or one of its orders): checked against
the model, queued for the system that books concessions, and kept in the store as the
CRM's own record of them (source ``crm``)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, select

from crm_core.pushback import routing
from crm_core.pushback.change_view import ChangeView
from crm_core.pushback.errors import ChangeRejected
from crm_core.pushback.field_changes import live_golden
from crm_core.pushback.outbox_rows import insert_new
from crm_core.pushback.recording import check_request, replay, store_change
from crm_core.pushback.values import jsonable, plain_text
from crm_core.store.tables import RECORD_TABLES
from schemas.model import Concession
from schemas.pushback import CRM
from schemas.settings import HubConfig


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
        live_golden(conn, golden_id)  # an unknown customer first: 404, not 422
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
        if seen := replay(conn, idempotency_key, "concessions", "create", changes):
            return seen
        exists = conn.execute(
            select(RECORD_TABLES["concessions"].c.concession_id).where(
                RECORD_TABLES["concessions"].c.concession_id == concession_id
            )
        ).first()
        if exists:
            raise ChangeRejected(f"concession {concession_id} exists already", conflict=True)
        view = store_change(
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
