"""``/customers/{id}/assets`` (the installed base), ``/customers/{id}/service-requests``
(service history) and ``/customers/{id}/campaigns``: scope ``aftersales`` (by default
every role that reads customer data; ``api.access`` in crm-hub.yaml)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from crm_core.access.api_keys import Scope
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import AsOf, CustomerId, today
from crm_core.api.problems import documented
from crm_core.api.service import freshness as fresh
from crm_core.api.service.aftersales_views import (
    AssetsView,
    CustomerCampaignView,
    ServiceRequestsView,
)
from crm_core.api.service.campaigns import campaigns_of
from crm_core.api.service.installed_base import assets_of
from crm_core.api.service.service_history import service_requests_of
from crm_core.api.service.views import FRESHNESS_DESCRIPTION, FreshnessView, View
from crm_core.api.summaries import freshness_of

aftersales = APIRouter(
    tags=["installed base and service"],
    dependencies=[Depends(require(Scope.AFTERSALES)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 404, 422, 503),
)


class CustomerCampaigns(View):
    """The campaigns that touched a customer."""

    id: str
    items: list[CustomerCampaignView]
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


@aftersales.get("/customers/{id}/assets", summary="The customer's installed base")
def get_assets(request: Request, customer_id: CustomerId, as_of: AsOf = None) -> AssetsView:
    """What the customer owns (serial-numbered products of every source), newest shipment
    first: install site, warranty and service contract with their state as of ``as_of``
    (expiring: within 90 days), renewal opportunities."""
    found = assets_of(request.app.state.store, customer_id, as_of=today(as_of))
    found.freshness = freshness_of(request, found.id, fresh.ASSETS)
    return found


@aftersales.get("/customers/{id}/service-requests", summary="The customer's service history")
def get_service_requests(
    request: Request, customer_id: CustomerId, as_of: AsOf = None
) -> ServiceRequestsView:
    """Tickets of every service desk naming the customer, newest first, each with its SLA
    state and satisfaction; open tickets, SLA breaches and the satisfaction trend."""
    found = service_requests_of(request.app.state.store, customer_id, as_of=today(as_of))
    found.freshness = freshness_of(request, found.id, fresh.SERVICE)
    return found


@aftersales.get("/customers/{id}/campaigns", summary="Campaigns that touched the customer")
def get_customer_campaigns(request: Request, customer_id: CustomerId) -> CustomerCampaigns:
    """Each campaign that reached the customer, its latest touch and response, and the
    orders and revenue attributed to it by the ``campaigns:`` rule."""
    store = request.app.state.store
    items = campaigns_of(store, customer_id, request.app.state.config.campaigns)
    return CustomerCampaigns(
        id=customer_id, items=items, freshness=freshness_of(request, customer_id, fresh.CAMPAIGNS)
    )
