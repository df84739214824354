"""The service every CRM-side change goes through (CLI, HTTP API, Python callers).

A change is checked before anything is stored: every field must be one the CRM side may
change (``push_back.ownership``), every value must fit the model, the customer must exist
and have a record in at least one target. Then, in one transaction, the change goes into
the outbox with one delivery row per target record, and a concession also into the store
as the CRM's own record of it (source ``crm``). The same idempotency key submitted again
returns the change already stored instead of a second one, also when both arrive at
the same time (the second insert finds the key taken and answers with the first change).
Text with a control character is refused before anything is stored (``InvalidValue``).

The work is done in the modules beside this one, whose public names this one gathers:
:mod:`.field_changes` (contact data and credit limits), :mod:`.asset_changes`,
:mod:`.concessions`, new customers (here), :mod:`.recording` (a change into the outbox,
once per idempotency key), :mod:`.outbox_rows` (the outbox's rows) and
:mod:`.change_view` (a change as shown); :mod:`.bulk` submits many field changes at once.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import Engine

from crm_core.pushback import routing
from crm_core.pushback.asset_changes import change_asset
from crm_core.pushback.change_view import ChangeView, get_change, load_change, load_changes
from crm_core.pushback.concessions import record_concession
from crm_core.pushback.errors import ChangeRejected
from crm_core.pushback.field_changes import (
    FIELD_ENTITIES,
    CustomerFacts,
    change_fields,
    checked_field_change,
    request_credit_limit,
)
from crm_core.pushback.outbox_rows import Delivery, insert_new, outbox_row, target_rows
from crm_core.pushback.recording import check_request, new_change_id, replayed, submit_change
from crm_core.pushback.values import jsonable, plain_text, typed
from schemas.entities import ENTITIES
from schemas.settings import HubConfig

__all__ = [
    "FIELD_ENTITIES",
    "ChangeView",
    "CustomerFacts",
    "Delivery",
    "change_asset",
    "change_fields",
    "check_request",
    "checked_field_change",
    "create_customer",
    "get_change",
    "insert_new",
    "load_change",
    "load_changes",
    "new_change_id",
    "outbox_row",
    "record_concession",
    "replayed",
    "request_credit_limit",
    "target_rows",
]


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
    return submit_change(
        store,
        lambda _conn: (changes, deliveries),
        "customers",
        "create",
        None,
        customer_id,
        who=who,
        idempotency_key=idempotency_key,
    )
