"""CRM-side changes to a customer's installed base (scope ``asset_changes``: by default
editors and admins; ``api.access`` in crm-hub.yaml): an install-site
correction and a service contract renewal, each queued for the system that keeps the
asset (``push_back.ownership.assets``) and answered 202 with the outbox change; fields
the CRM side may not change are refused with 422, an asset the customer does not own 404.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from pydantic import Field

from crm_core.access.api_keys import ApiKey, Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import LINE
from crm_core.api.problems import documented, refusal_status
from crm_core.api.routers.changes import (
    REPLAYED,
    ChangeOut,
    Delivery,
    GoldenId,
    IdempotencyKey,
)
from crm_core.pushback import ChangeRejected, UnknownChange, submit
from schemas.strict import Strict

asset_changes = APIRouter(
    tags=["changes"],
    dependencies=[Depends(reject_unknown_query)],
    responses=documented(400, 401, 403, 404, 409, 422, 503),
)
AssetId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
AssetEditor = Annotated[ApiKey, Depends(require(Scope.ASSET_CHANGES))]
Line = Annotated[str, Field(min_length=1, max_length=200, json_schema_extra=LINE)]


class InstallSiteCorrection(Strict):
    """Where the unit is really installed."""

    install_site: Line


class ContractRenewal(Strict):
    """A service contract renewed until a new end date (with a new contract id when the
    renewal is a new contract)."""

    service_contract_end: date
    service_contract_id: Annotated[str, Field(min_length=1, max_length=40)] | None = None


def _queue(
    request: Request,
    response: Response,
    caller: AssetEditor,
    golden_id: str,
    asset_id: str,
    values: dict[str, Any],
    idempotency_key: str | None,
) -> ChangeOut:
    try:
        view = submit.change_asset(
            request.app.state.store,
            request.app.state.config,
            golden_id=golden_id,
            asset_id=asset_id,
            values=values,
            who=caller.name,
            idempotency_key=idempotency_key,
        )
    except (ChangeRejected, UnknownChange) as exc:
        raise HTTPException(refusal_status(exc), str(exc)) from None
    response.status_code = 200 if view.replayed else 202
    response.headers["Location"] = f"/changes/{view.change_id}"
    data = {k: v for k, v in view.__dict__.items() if k in ChangeOut.model_fields}
    data["targets"] = [Delivery(**t) for t in view.targets]
    return ChangeOut(**data)


@asset_changes.patch(
    "/customers/{id}/assets/{asset_id}",
    summary="Correct an asset's install site",
    status_code=202,
    responses=REPLAYED,
)
def patch_asset(
    caller: AssetEditor,
    request: Request,
    response: Response,
    id: GoldenId,
    asset_id: AssetId,
    body: InstallSiteCorrection,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Queued for the system that keeps the asset, by the ownership of ``install_site``."""
    values = body.model_dump(exclude_unset=True)
    return _queue(request, response, caller, id, asset_id, values, idempotency_key)


@asset_changes.post(
    "/customers/{id}/assets/{asset_id}/contract-renewals",
    summary="Renew an asset's service contract",
    status_code=202,
    responses=REPLAYED,
)
def post_contract_renewal(
    caller: AssetEditor,
    request: Request,
    response: Response,
    id: GoldenId,
    asset_id: AssetId,
    body: ContractRenewal,
    idempotency_key: IdempotencyKey = None,
) -> ChangeOut:
    """Requested from the system that owns service contracts (the renewal is booked there
    and comes back with the next pull)."""
    values = body.model_dump(exclude_none=True)
    return _queue(request, response, caller, id, asset_id, values, idempotency_key)
