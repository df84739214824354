"""``/campaigns`` (scope ``aftersales``: by default any role that reads customer data) and
``/campaigns/{id}/roi`` (scope ``campaign_roi``: by default finance and admin; both set by
``api.access`` in crm-hub.yaml): marketing campaigns and the revenue attributed to them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from crm_core.access.api_keys import Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import ID_PATTERN, AsOf, Limit, Offset, today, with_next
from crm_core.api.problems import documented
from crm_core.api.service.aftersales_views import CampaignRoiView, CampaignView
from crm_core.api.service.campaign_roi import roi
from crm_core.api.service.campaigns import list_campaigns
from crm_core.api.service.views import Page

listing = APIRouter(
    tags=["campaigns"],
    dependencies=[Depends(require(Scope.AFTERSALES)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 422, 503),
)
returns = APIRouter(
    tags=["campaigns"],
    dependencies=[Depends(require(Scope.CAMPAIGN_ROI)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 404, 422, 503),
)
CampaignId = Annotated[
    str, Path(alias="id", description="The campaign's id.", pattern=ID_PATTERN, max_length=64)
]


@listing.get("/campaigns", summary="Marketing campaigns")
def get_campaigns(request: Request, limit: Limit = 50, offset: Offset = 0) -> Page[CampaignView]:
    """Campaigns, newest first: channel, dates, cost, touches and customers reached."""
    return with_next(request, list_campaigns(request.app.state.store, limit=limit, offset=offset))


@returns.get("/campaigns/{id}/roi", summary="A campaign's return on investment")
def get_roi(request: Request, campaign_id: CampaignId, as_of: AsOf = None) -> CampaignRoiView:
    """Cost, the orders attributed to the campaign by the ``campaigns:`` rule (last or
    first touch within a window before the order), their invoiced revenue, ROI, and the
    same by the customers' value tier as of ``as_of`` and by their segment (the golden
    record's ``kind``: company or person)."""
    store = request.app.state.store
    day = today(as_of)
    return roi(
        store,
        campaign_id,
        request.app.state.config.campaigns,
        population=request.app.state.population.get(store, day),
    )
