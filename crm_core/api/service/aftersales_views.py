"""What the installed base, service history and campaign services return (the API serves
them as JSON): pydantic models like those of :mod:`crm_core.api.service.views`."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from crm_core.api.service.views import FRESHNESS_DESCRIPTION, FreshnessView, Tier, View

WarrantyState = Literal["in_warranty", "expiring", "expired", "unknown"]
ContractState = Literal["active", "expiring", "expired", "none"]
Trend = Literal["rising", "steady", "falling", "unknown"]


class AssetView(View):
    """One product the customer owns, with its warranty and service contract state."""

    source: str
    asset_id: str
    customer_key: str = Field(description="The customer's id in the source.")
    item_id: str
    description: str | None = None
    serial_number: str | None = None
    quantity: Decimal | None = None
    order_id: str | None = None
    shipped_on: date | None = None
    installed_on: date | None = None
    install_site: str | None = None
    warranty_end: date | None = None
    warranty_state: WarrantyState
    service_contract_id: str | None = None
    service_contract_end: date | None = None
    contract_state: ContractState
    parent_asset_id: str | None = None
    status: str | None = None
    renewal_opportunity: bool = Field(
        description="In service, warranty ending within the window and no service "
        "contract in force: offer one."
    )


class InstalledBaseSummary(View):
    """Counts over the customer's installed base."""

    in_service: int
    warranty_expiring: int
    contracts_expiring: int
    renewal_opportunities: int
    expiring_within_days: int


class AssetsView(View):
    """The customer's installed base, newest shipment first."""

    id: str
    as_of: date
    items: list[AssetView]
    summary: InstalledBaseSummary
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class ServiceRequestView(View):
    """One service request with its SLA and satisfaction."""

    source: str
    request_id: str
    customer_key: str
    asset_id: str | None = None
    subject: str | None = None
    opened_at: datetime
    closed_at: datetime | None = None
    channel: str | None = None
    category: str | None = None
    priority: str | None = None
    status: str
    open: bool
    sla_due_at: datetime | None = None
    sla_breached: bool = Field(
        description="Resolved after the SLA's due time, or still open past it."
    )
    first_response_hours: float | None = None
    resolution_hours: float | None = None
    satisfaction_score: int | None = None
    satisfaction_comment: str | None = None
    answered_at: datetime | None = None


class SatisfactionPoint(View):
    """The average survey score of one quarter."""

    quarter: str = Field(description="e.g. 2026-Q3")
    average: float
    answers: int


class ServiceSummary(View):
    """Open tickets, SLA breaches and the satisfaction trend."""

    open: int
    sla_breaches: int
    sla_breaches_open: int
    average_satisfaction: float | None = None
    satisfaction_trend: Trend
    satisfaction_by_quarter: list[SatisfactionPoint]


class ServiceRequestsView(View):
    """The customer's service history, newest first."""

    id: str
    as_of: date
    items: list[ServiceRequestView]
    summary: ServiceSummary
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class CampaignView(View):
    """A campaign, what it cost and whom it reached."""

    source: str
    campaign_id: str
    name: str
    channel: str | None = None
    starts_on: date
    ends_on: date | None = None
    cost: Decimal | None = None
    currency: str
    touches: int
    customers_reached: int


class TierRoi(View):
    """Attributed orders and revenue of the customers of one value tier."""

    tier: Tier
    customers: int
    attributed_orders: int
    attributed_revenue: Decimal


class SegmentRoi(View):
    """Attributed orders and revenue of the customers of one segment."""

    segment: str = Field(
        description="The golden customer's kind (company, person; unknown when no source "
        "says), which each back office's customer class maps to."
    )
    customers: int
    attributed_orders: int
    attributed_revenue: Decimal


class CampaignRoiView(View):
    """A campaign's cost against the revenue of the orders attributed to it."""

    source: str
    campaign_id: str
    name: str
    currency: str
    cost: Decimal
    attribution: Literal["last_touch", "first_touch"]
    window_days: int
    customers_reached: int
    attributed_orders: int
    attributed_order_value: Decimal = Field(
        description="Order totals of the attributed orders in the campaign's currency."
    )
    attributed_revenue: Decimal = Field(
        description="What was invoiced for the attributed orders, in the campaign's currency."
    )
    other_currencies: dict[str, Decimal] = Field(
        description="Invoiced revenue of attributed orders in other currencies (not in roi)."
    )
    roi: Decimal | None = Field(
        description="(attributed_revenue - cost) / cost; null when the cost is zero."
    )
    by_tier: list[TierRoi]
    by_segment: list[SegmentRoi]


class CustomerCampaignView(View):
    """A campaign that touched the customer, and what it is credited with for them."""

    source: str
    campaign_id: str
    name: str
    channel: str | None = None
    touched_at: datetime
    response: str | None = None
    attributed_orders: int
    attributed_revenue: dict[str, Decimal] = Field(description="Per currency.")
