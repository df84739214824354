"""Stewardship over HTTP: merge, unmerge, pin, unpin and undo, as `crm-hub merge` and its
siblings do (the same functions of :mod:`crm_core.golden.stewardship`). Editors and
admins only; every action is recorded under the caller's key name, and later automatic
reconcile runs respect it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from crm_core.access.api_keys import ApiKey, Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import FREE_TEXT, LINE, TEXT_PATTERN
from crm_core.api.problems import documented
from crm_core.golden import list_actions, merge, pin, undo, unmerge, unpin
from schemas.errors import HubError, InvalidInput
from schemas.strict import Strict

stewardship = APIRouter(
    tags=["stewardship"],
    dependencies=[Depends(reject_unknown_query)],
    responses=documented(400, 401, 403, 409, 422, 503),
)
Steward = Annotated[ApiKey, Depends(require(Scope.CHANGES))]
GoldenId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
FieldName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class _Body(Strict):
    note: str | None = Field(
        default=None, max_length=500, description="why (kept with it)", json_schema_extra=FREE_TEXT
    )


class MergeRequest(_Body):
    """Merge another golden customer (or the one a source record belongs to) into this one."""

    other: str = Field(
        min_length=1, max_length=300, description="golden id or source:key", json_schema_extra=LINE
    )


class UnmergeRequest(_Body):
    """Take one source record out of this golden customer into one of its own."""

    record: str = Field(
        min_length=1, max_length=300, description="source:stream:key", json_schema_extra=LINE
    )


class PinRequest(_Body):
    """The value this field keeps, whatever the sources say."""

    value: str = Field(min_length=1, max_length=1000, json_schema_extra=LINE)


class StewardAction(BaseModel):
    """One recorded stewardship action."""

    id: int
    action: str
    golden_id: str
    args: dict[str, Any]
    who: str
    at: datetime
    note: str | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None


def _view(row: dict[str, Any]) -> StewardAction:
    known = StewardAction.model_fields
    return StewardAction(**{k: v for k, v in row.items() if k in known})


def _act(
    action: Callable[..., dict[str, Any]], request: Request, *args: Any, **kwargs: Any
) -> StewardAction:
    """Run one stewardship action on the app's store with its survivorship rules; a
    refusal is a 409 problem, a value the field cannot hold (or text with a control
    character) a 422."""
    store, rules = request.app.state.store, request.app.state.config.reconcile.survivorship
    try:
        return _view(action(store, *args, rules, **kwargs))
    except HubError as exc:
        raise HTTPException(422 if isinstance(exc, InvalidInput) else 409, str(exc)) from None


@stewardship.get("/stewardship", summary="Stewardship actions")
def get_actions(
    caller: Steward,
    request: Request,
    golden_id: Annotated[str | None, Query(max_length=64, pattern=TEXT_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[StewardAction]:
    """Merges, unmerges, pins and unpins, newest first, with who, when and why."""
    rows = list_actions(request.app.state.store, golden_id, limit)
    return [_view(r) for r in rows]


@stewardship.post("/customers/{id}/merge", summary="Merge another customer into this one")
def post_merge(
    caller: Steward, request: Request, id: GoldenId, body: MergeRequest
) -> StewardAction:
    """This golden customer keeps its id; the other is recorded as merged into it."""
    return _act(merge, request, id, body.other, by=caller.name, note=body.note)


@stewardship.post("/customers/{id}/unmerge", summary="Take a source record out")
def post_unmerge(
    caller: Steward, request: Request, id: GoldenId, body: UnmergeRequest
) -> StewardAction:
    """The record becomes a golden customer of its own; automatic runs never merge it back."""
    return _act(unmerge, request, id, body.record, by=caller.name, note=body.note)


@stewardship.put("/customers/{id}/pins/{field}", summary="Pin a field's value")
def put_pin(
    caller: Steward, request: Request, id: GoldenId, field: FieldName, body: PinRequest
) -> StewardAction:
    """The golden field keeps this value until it is unpinned."""
    return _act(pin, request, id, field, body.value, by=caller.name, note=body.note)


@stewardship.delete("/customers/{id}/pins/{field}", summary="Unpin a field")
def delete_pin(caller: Steward, request: Request, id: GoldenId, field: FieldName) -> StewardAction:
    """Survivorship chooses the field's value again."""
    return _act(unpin, request, id, field, by=caller.name)


@stewardship.post("/stewardship/{action_id}/undo", summary="Undo an action")
def post_undo(
    caller: Steward, request: Request, action_id: Annotated[int, Path(ge=1, le=2**62)]
) -> StewardAction:
    """The action stays on record, marked undone by the caller."""
    return _act(undo, request, action_id, by=caller.name)
