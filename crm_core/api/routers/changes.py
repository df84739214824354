"""CRM-side changes over HTTP: contact data, credit-limit requests, approved concessions,
new customers (editors and admins), each answered with its outbox change id and state;
a change's progress; a customer's concessions; the open conflicts (ops).

The endpoints call the same service as ``crm-hub change`` (:mod:`crm_core.pushback.submit`);
fields the CRM side does not own are refused with 422 naming the field, never queued. An
``Idempotency-Key`` header makes a retried request return the change already recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from crm_core.access.api_keys import ApiKey, Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import FREE_TEXT, LINE, Limit, Offset, with_next
from crm_core.api.problems import documented, refusal_status
from crm_core.api.service import pushback as service_pushback
from crm_core.api.service.freshness import CONCESSIONS
from crm_core.api.service.pushback import ConcessionOut
from crm_core.api.service.summary import credit_hold
from crm_core.api.service.views import CustomerPage, Page
from crm_core.api.summaries import freshness_of
from crm_core.pushback import ChangeRejected, UnknownChange, bulk, submit
from crm_core.pushback.conflicts import count_conflicts, list_conflicts
from crm_core.pushback.outbox import count_changes, list_changes
from schemas.pushback import PushState
from schemas.strict import Strict

changes = APIRouter(
    tags=["changes"],
    dependencies=[Depends(reject_unknown_query)],
    responses=documented(400, 401, 403, 404, 409, 422, 503),
)
conflicts_router = APIRouter(
    tags=["ops"],
    dependencies=[Depends(require(Scope.OPS)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 422, 503),
)
Editor = Annotated[ApiKey, Depends(require(Scope.CHANGES))]
Reader = Annotated[ApiKey, Depends(require(Scope.CUSTOMERS))]
GoldenId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        json_schema_extra=LINE,
        description="The same key sent again returns the change already recorded.",
    ),
]
GoldenIdText = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra=LINE)]
#: a field's new value in a bulk request: text, a number or null (checked by the model)
ScalarValue = Annotated[str, Field(max_length=500)] | int | Decimal | bool | None
Text = Annotated[str, Field(min_length=1, max_length=500, json_schema_extra=FREE_TEXT)]
#: the answer to a request repeated with the same Idempotency-Key
REPLAYED: dict[int | str, dict[str, Any]] = {
    200: {"description": "The change already recorded under this Idempotency-Key"}
}


#: An exact amount, as text in the OpenAPI document (JSON numbers are floats)
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=18, decimal_places=4),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,14}(\.[0-9]{1,4})?$"}),
]
Percent = Annotated[
    Decimal,
    Field(gt=0, le=100, decimal_places=2),
    WithJsonSchema({"type": "string", "pattern": r"^([1-9][0-9]?(\.[0-9]{1,2})?|100)$"}),
]


class ContactChange(Strict):
    """New contact data of a customer; fields left out stay as they are."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    email: Annotated[str, Field(max_length=320, json_schema_extra=LINE)] | None = None
    phone: Annotated[str, Field(max_length=60, json_schema_extra=LINE)] | None = None
    street: Annotated[str, Field(max_length=200, json_schema_extra=LINE)] | None = None
    street2: Annotated[str, Field(max_length=200, json_schema_extra=LINE)] | None = None
    city: Annotated[str, Field(max_length=100, json_schema_extra=LINE)] | None = None
    region: Annotated[str, Field(max_length=100, json_schema_extra=LINE)] | None = None
    postcode: Annotated[str, Field(max_length=20, json_schema_extra=LINE)] | None = None
    name: Annotated[str, Field(max_length=200, json_schema_extra=LINE)] | None = None
    tax_id: Annotated[str, Field(max_length=40, json_schema_extra=LINE)] | None = None


class CreditLimitRequest(Strict):
    """A new credit limit, requested from the system that owns credit limits."""

    credit_limit: Amount


class ConcessionRequest(Strict):
    """An approved concession: an amount (with currency) or a percentage off."""

    kind: Literal["amount", "percent"]
    amount: Amount | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None
    percent: Percent | None = None
    order_id: Annotated[str, Field(max_length=64, json_schema_extra=LINE)] | None = None
    reason: Text
    approver: Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=LINE)]
    valid_from: date
    valid_to: date | None = None


class NewCustomer(Strict):
    """A customer created on the CRM side."""

    name: Annotated[str, Field(min_length=1, max_length=200, json_schema_extra=LINE)]
    kind: Literal["company", "person"] | None = None
    tax_id: Annotated[str, Field(max_length=40, json_schema_extra=LINE)] | None = None
    email: Annotated[str, Field(max_length=320, json_schema_extra=LINE)] | None = None
    phone: Annotated[str, Field(max_length=60, json_schema_extra=LINE)] | None = None
    street: Annotated[str, Field(max_length=200, json_schema_extra=LINE)] | None = None
    city: Annotated[str, Field(max_length=100, json_schema_extra=LINE)] | None = None
    postcode: Annotated[str, Field(max_length=20, json_schema_extra=LINE)] | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] | None = None


class Delivery(BaseModel):
    """Where one target record of a change stands."""

    target: str
    stream: str
    record_key: str
    state: str
    attempts: int
    last_error: str | None = None
    written_at: datetime | None = None
    echoed_at: datetime | None = None


class CreditHold(BaseModel):
    """The customer is on credit hold in a back office: the change is recorded anyway."""

    reason: str = Field(description="Why, as the back office says (else 'on hold').")


class ChangeOut(BaseModel):
    """A CRM-side change: what it changes, who made it, and where it stands."""

    change_id: str
    state: str
    entity: str
    op: str
    golden_id: str | None
    record_key: str
    changes: dict[str, dict[str, Any]]
    who: str
    created_at: datetime
    attempts: int
    last_error: str | None = None
    finished_at: datetime | None = None
    targets: list[Delivery]
    credit_hold: CreditHold | None = Field(
        None,
        description="Set on a concession or credit-limit request for a customer on credit hold.",
    )


class ConflictOut(BaseModel):
    """A change not written because the target changed the same field meanwhile."""

    id: int
    change_id: str
    golden_id: str | None
    target: str
    stream: str
    record_key: str | None
    field: str
    crm_value: str | None
    target_value: str | None
    pulled_value: str | None
    crm_at: datetime | None
    target_at: datetime | None
    policy: str
    state: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    created_at: datetime


def _out(view: submit.ChangeView) -> ChangeOut:
    data = {k: v for k, v in view.__dict__.items() if k in ChangeOut.model_fields}
    data["targets"] = [Delivery(**t) for t in view.targets]
    return ChangeOut(**data)


def _refused(exc: ChangeRejected | UnknownChange) -> HTTPException:
    return HTTPException(refusal_status(exc), str(exc))


def _submit(
    request: Request,
    response: Response,
    action: Callable[..., submit.ChangeView],
    **arguments: Any,
) -> ChangeOut:
    """Run one push-back service call: 202 with the change and its Location (200 with the
    change already recorded for a request with the same idempotency key), or the refusal
    as a problem."""
    try:
        view = action(request.app.state.store, request.app.state.config, **arguments)
    except (ChangeRejected, UnknownChange) as exc:
        raise _refused(exc) from None
    response.status_code = 200 if view.replayed else 202
    response.headers["Location"] = f"/changes/{view.change_id}"
    return _out(view)


def _with_hold(request: Request, out: ChangeOut) -> ChangeOut:
    """``out`` with the customer's credit hold, when it is on hold."""
    if out.golden_id and (reason := credit_hold(request.app.state.store, out.golden_id)):
        out.credit_hold = CreditHold(reason=reason)
    return out


@changes.patch(
    "/customers/{id}",
    summary="Change a customer's contact data",
    status_code=202,
    responses=REPLAYED,
)
def patch_customer(
    caller: Editor,
    request: Request,
    response: Response,
    id: GoldenId,
    body: ContactChange,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Queued for the systems that keep a copy; fields the CRM does not own give 422."""
    values = body.model_dump(exclude_unset=True)
    return _submit(
        request,
        response,
        submit.change_fields,
        entity="customers",
        golden_id=id,
        values=values,
        who=caller.name,
        idempotency_key=idempotency_key,
    )


@changes.post(
    "/customers/{id}/credit-limit-requests",
    summary="Request a new credit limit",
    status_code=202,
    responses=REPLAYED,
)
def post_credit_limit(
    caller: Editor,
    request: Request,
    response: Response,
    id: GoldenId,
    body: CreditLimitRequest,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Queued for the system that owns credit limits, which keeps its own value if it
    changed the limit meanwhile (owner wins); ``credit_hold`` says when the customer is
    on credit hold."""
    out = _submit(
        request,
        response,
        submit.request_credit_limit,
        golden_id=id,
        credit_limit=body.credit_limit,
        who=caller.name,
        idempotency_key=idempotency_key,
    )
    return _with_hold(request, out)


@changes.post(
    "/customers/{id}/concessions",
    summary="Record an approved concession",
    status_code=202,
    responses=REPLAYED,
)
def post_concession(
    caller: Editor,
    request: Request,
    response: Response,
    id: GoldenId,
    body: ConcessionRequest,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Recorded now (the customer page shows it at once) and queued for finance;
    ``credit_hold`` says when the customer is on credit hold."""
    out = _submit(
        request,
        response,
        submit.record_concession,
        golden_id=id,
        concession=body.model_dump(),
        who=caller.name,
        idempotency_key=idempotency_key,
    )
    return _with_hold(request, out)


@changes.post("/customers", summary="Create a customer", status_code=202, responses=REPLAYED)
def post_customer(
    caller: Editor,
    request: Request,
    response: Response,
    body: NewCustomer,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Created in the systems configured for it; the golden record follows with the
    next pull and reconcile."""
    return _submit(
        request,
        response,
        submit.create_customer,
        values=body.model_dump(exclude_none=True),
        who=caller.name,
        idempotency_key=idempotency_key,
    )


class BatchItem(Strict):
    """One change of a bulk request: new values of a customer's contact data
    (``entity: customers``) or its credit limit (``entity: credit``)."""

    golden_id: GoldenIdText
    entity: Literal["customers", "credit"] = "customers"
    set: dict[Annotated[str, Field(max_length=64)], ScalarValue] = Field(
        description="FIELD: VALUE, checked against the model and the field ownership "
        "as a single change is; null clears a field."
    )
    idempotency_key: Annotated[str, Field(max_length=200, json_schema_extra=LINE)] | None = Field(
        None, description="Sent again, the change already recorded is the answer."
    )


class BatchRequest(Strict):
    """Up to 10,000 changes, each checked and answered on its own."""

    #: at least one (more than 10,000 is refused by the service with its reason)
    items: list[BatchItem] = Field(min_length=1)


class ItemRefusal(BaseModel):
    """Why one change of a bulk request was refused."""

    reason: str
    field: str | None = None


class BatchItemOut(BaseModel):
    """What became of one change: 202 recorded, 200 recorded before (same idempotency
    key), 404 no such customer, 409 clashes with the store (merged customer, no record to
    change, key used for another change), 422 refused (ownership, model)."""

    index: int = Field(description="The item's place in the request, from 0.")
    status: int
    idempotency_key: str | None = None
    change_id: str | None = None
    state: str | None = None
    error: ItemRefusal | None = None


class BatchOut(BaseModel):
    """The answer to a bulk request: one item per change, in the request's order."""

    accepted: int = Field(description="Changes recorded by this request (202).")
    replayed: int = Field(description="Changes recorded before under their key (200).")
    refused: int = Field(description="Changes refused (404, 409, 422).")
    items: list[BatchItemOut]


def _item_out(outcome: bulk.ItemOutcome, item: BatchItem) -> BatchItemOut:
    if outcome.view is not None:
        return BatchItemOut(
            index=outcome.index,
            status=200 if outcome.view.replayed else 202,
            idempotency_key=item.idempotency_key,
            change_id=outcome.view.change_id,
            state=outcome.view.state,
        )
    assert outcome.error is not None  # an outcome is a view or an error
    return BatchItemOut(
        index=outcome.index,
        status=refusal_status(outcome.error),
        idempotency_key=item.idempotency_key,
        error=ItemRefusal(reason=str(outcome.error), field=getattr(outcome.error, "field", None)),
    )


@changes.post(
    "/changes:batch",
    summary="Submit many changes at once",
    status_code=207,
    responses={207: {"description": "One answer per change (see each item's status)."}},
)
def post_changes_batch(caller: Editor, request: Request, body: BatchRequest) -> BatchOut:
    """Up to 10,000 contact-data or credit-limit changes, each checked as a single change
    is and answered on its own: 207 with a status per item (202, 200, 404, 409, 422); a
    refused change refuses nothing else. More than 10,000 (or none) is a 422 for the whole
    request, nothing recorded."""
    items = [
        bulk.FieldChange(
            golden_id=i.golden_id,
            values=dict(i.set),
            entity=i.entity,
            idempotency_key=i.idempotency_key,
        )
        for i in body.items
    ]
    try:
        outcomes = bulk.submit_batch(
            request.app.state.store, request.app.state.config, items, caller.name
        )
    except (ChangeRejected, UnknownChange) as exc:
        raise _refused(exc) from None
    out = [_item_out(o, i) for o, i in zip(outcomes, body.items, strict=True)]
    return BatchOut(
        accepted=sum(1 for o in out if o.status == 202),
        replayed=sum(1 for o in out if o.status == 200),
        refused=sum(1 for o in out if o.status >= 400),
        items=out,
    )


@changes.get("/changes/{id}", summary="A change and where it stands")
def get_change(
    caller: Editor,
    request: Request,
    id: Annotated[str, Path(min_length=1, max_length=40, pattern=r"^chg_[0-9a-f]+$")],
) -> ChangeOut:
    """Its fields (old and new values), who made it, and each target's delivery."""
    try:
        return _out(submit.get_change(request.app.state.store, id))
    except UnknownChange as exc:
        raise _refused(exc) from None


@changes.get("/customers/{id}/concessions", summary="A customer's concessions")
def get_concessions(
    caller: Reader, request: Request, id: GoldenId, limit: Limit = 50, offset: Offset = 0
) -> CustomerPage[ConcessionOut]:
    """What the CRM recorded and what finance has booked, one row per concession (the
    finance system's row once it has it), with the approver and status, newest first;
    ``freshness``: as of when the finance systems' concessions were read."""
    rows = service_pushback.concessions(request.app.state.store, id)
    page = CustomerPage[ConcessionOut](
        items=rows[offset : offset + limit],
        total=len(rows),
        limit=limit,
        offset=offset,
        freshness=freshness_of(request, id, CONCESSIONS),
    )
    return with_next(request, page)


@conflicts_router.get("/conflicts", summary="Push-back conflicts")
def get_conflicts(
    request: Request,
    state: Literal["open", "resolved", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> Page[ConflictOut]:
    """Changes held back because the back office changed the same field, newest first."""
    store, wanted = request.app.state.store, None if state == "all" else state
    rows = list_conflicts(store, wanted, limit, offset)
    page = Page[ConflictOut](
        items=[ConflictOut(**r) for r in rows],
        total=count_conflicts(store, wanted),
        limit=limit,
        offset=offset,
    )
    return with_next(request, page)


@conflicts_router.get("/dead-letters", summary="Changes that failed every attempt")
def get_dead_letters(request: Request, limit: Limit = 50, offset: Offset = 0) -> Page[ChangeOut]:
    """Dead letters, newest first: each change with its targets' deliveries and last error
    (retry one with ``crm-hub outbox retry ID``)."""
    store = request.app.state.store
    views = list_changes(store, state=PushState.FAILED, limit=limit, offset=offset)
    page = Page[ChangeOut](
        items=[_out(v) for v in views],
        total=count_changes(store, PushState.FAILED),
        limit=limit,
        offset=offset,
    )
    return with_next(request, page)
