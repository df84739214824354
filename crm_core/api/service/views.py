"""What the service layer returns: pydantic models the API serves as JSON and documents
in its OpenAPI schema, and the CLI can print.

Money is ``Decimal`` and goes out as a string (``"76956.7500"``), so no client rounds it
through a float; every amount has its currency beside it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, Literal, TypeVar

from pydantic import Field

from crm_core.golden.receivables import Bucket
from schemas.model import OpenReceivable, OrderStatus, SourceRecordRef
from schemas.strict import Strict

T = TypeVar("T")
CreditStatus = Literal["ok", "near_limit", "on_hold", "unknown"]
Tier = Literal["A", "B", "C", "D"]


class View(Strict):
    """Base of the response models."""


class Page(View, Generic[T]):
    """One page of a list: ``next`` is the URL of the next page, null on the last one."""

    items: list[T]
    total: int = Field(description="How many items match in all.")
    limit: int
    offset: int
    next: str | None = None

    @property
    def more(self) -> bool:
        """Whether items follow this page."""
        return self.offset + len(self.items) < self.total


class FreshnessView(View):
    """How fresh one source stream behind an answer is (``crm_core.ledger.freshness``)."""

    source: str
    stream: str
    entity: str = Field(description="The model entity the stream loads.")
    as_of: datetime | None = Field(
        description="When the stream's last successful run finished (null: none yet)."
    )
    stale: bool = Field(
        description="Late for its source's schedule (no successful run started since the "
        "scheduled time before the last one, as `crm-hub status --check` says), or never "
        "pulled."
    )
    schedule: str | None = Field(None, description="The source's schedule (null: not known).")


#: what a customer answer says of its data's age
FRESHNESS_DESCRIPTION = "Per source stream behind this answer: as of when its data is."


class CustomerPage(Page[T], Generic[T]):
    """One page of a customer's list, with the freshness of the streams behind it."""

    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class CustomerSummary(View):
    """A customer in a list of search results."""

    id: str = Field(description="The golden id.")
    name: str
    kind: str | None = None
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    city: str | None = None
    country: str | None = None


class AddressView(View):
    """The golden postal address."""

    street: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None


class SourceRecordView(View):
    """One back-office record linked to the golden customer, as that system has it."""

    source: str
    stream: str
    key: str
    rule: str | None = Field(None, description="The rule that linked it.")
    linked_at: datetime | None = None
    name: str | None = None
    kind: str | None = None
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    currency: str | None = None
    active: bool | None = None
    created_on: date | None = None
    updated_at: datetime | None = None
    run_id: int | None = Field(None, description="The sync run that last wrote it.")
    loaded_at: datetime | None = None
    deleted: bool = Field(False, description="The source deleted the record.")


class LineageView(View):
    """Where one golden field's value came from and which rule chose it."""

    field: str
    value: str | None = None
    rule: str
    source: SourceRecordRef | None = None
    run_id: int | None = Field(None, description="The sync run that loaded the value.")
    reconcile_run_id: int | None = None
    decided_at: datetime | None = None


SummaryStatus = Literal["ok", "near_limit", "hold", "unknown"]
AvailableBand = Literal["none", "low", "medium", "high"]
SummaryPart = Literal["credit", "receivables", "orders", "concessions"]


class MoneyView(View):
    """An amount in one currency."""

    currency: str
    amount: Decimal


class SummaryFreshness(View):
    """How fresh each part of a summary is: when the last successful run of the
    customer's sources' streams of that entity finished (the oldest of those streams;
    null: never pulled), and which parts are stale."""

    credit: datetime | None = None
    receivables: datetime | None = None
    orders: datetime | None = None
    concessions: datetime | None = None
    stale: list[SummaryPart] = Field(
        default_factory=list,
        description="The parts with a stream late for its source's schedule or never pulled.",
    )


class SummaryView(View):
    """What the person on the phone must see first: credit standing, what is overdue,
    open orders and concessions, value and churn. Every role that may open a customer
    gets it; roles without figures (``api.summary_figures``) get bands instead of
    amounts, but always the hold."""

    credit_status: SummaryStatus = Field(
        description="hold: a source has the customer on credit hold; near_limit: exposure "
        "reaches 90% of a limit; unknown: no credit profile."
    )
    on_hold: bool
    hold_reason: str | None = None
    figures: bool = Field(description="Whether the amounts are given (else null, bands only).")
    available_credit: list[MoneyView] | None = Field(
        None, description="Credit still available per currency (figures only)."
    )
    available_band: AvailableBand | None = Field(
        None,
        description="The tightest profile's available credit over its limit: none (0 or "
        "less), low (under 20%), medium (under 50%), high; null without a profile.",
    )
    overdue: list[MoneyView] | None = Field(
        None, description="Open amounts past their due date per currency (figures only)."
    )
    overdue_band: Bucket = Field(
        description="The overdue bucket of the oldest overdue open item (current: nothing overdue)."
    )
    oldest_overdue_days: int | None = Field(None, description="Days the oldest item is late.")
    open_orders: int = Field(description="Orders neither invoiced nor cancelled.")
    open_orders_value: list[MoneyView]
    last_order_date: date | None = None
    open_concessions: int = Field(description="Approved concessions not expired.")
    tier: Tier
    churn: bool
    freshness: SummaryFreshness


class CustomerDetail(View):
    """The golden record with its source records and each field's lineage."""

    id: str
    requested_id: str | None = Field(
        None, description="The id asked for, when it was merged into this customer."
    )
    kind: str | None = None
    name: str
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    address: AddressView
    created_at: datetime | None = None
    updated_at: datetime | None = None
    status: Literal["active", "retired"] = Field(
        "active",
        description="retired: every source record of the customer was deleted in its "
        "source (the id is kept, never reused).",
    )
    retired_at: datetime | None = None
    sources: list[SourceRecordView]
    lineage: list[LineageView]
    summary: SummaryView | None = Field(
        None, description="Credit, overdue, orders, concessions, value: what to see first."
    )
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class OrderLineView(View):
    """One line of an order."""

    line_no: int
    item_id: str
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    currency: str | None = None
    status: OrderStatus | None = None
    deleted: bool = Field(
        default=False, description="The source deleted the line (shown with include_deleted)."
    )


class OrderView(View):
    """An order with its lines."""

    source: str
    order_id: str
    customer_key: str = Field(description="The customer's id in that source.")
    order_date: date
    requested_date: date | None = None
    status: OrderStatus
    currency: str
    total_amount: Decimal
    updated_at: datetime | None = None
    lines: list[OrderLineView]
    deleted: bool = Field(
        default=False, description="The source deleted the order (shown with include_deleted)."
    )


class CreditProfileView(View):
    """A credit profile as one source's finance keeps it."""

    source: str
    customer_key: str
    credit_limit: Decimal
    exposure: Decimal | None = None
    available: Decimal | None = Field(
        None, description="As the source says, else limit minus exposure."
    )
    utilisation: Decimal | None = Field(None, description="Exposure over limit (0.95 = 95%).")
    on_hold: bool
    hold_reason: str | None = None
    terms: str | None = None
    risk_class: str | None = None
    currency: str
    updated_at: datetime | None = None
    status: CreditStatus


class CreditView(View):
    """Credit across the customer's sources; ``status`` is the worst of them."""

    id: str
    status: CreditStatus
    near_limit_at: Decimal = Field(description="Utilisation from which a profile is near_limit.")
    profiles: list[CreditProfileView]
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class OpenItemView(View):
    """An open invoice, with how late it is."""

    source: str
    invoice_id: str
    order_id: str | None = None
    invoice_date: date
    due_date: date | None = None
    amount: Decimal
    open_amount: Decimal
    currency: str
    days_past_due: int
    bucket: Bucket


class PaymentView(View):
    """A payment received."""

    source: str
    payment_id: str
    invoice_id: str | None = None
    payment_date: date
    amount: Decimal
    currency: str
    method: str | None = None


class ReceivablesView(View):
    """Open balance per currency with overdue buckets, the open items, the last payment."""

    id: str
    as_of: date
    balances: list[OpenReceivable]
    open_items: list[OpenItemView] = Field(description="Oldest due date first.")
    open_items_total: int
    last_payment: PaymentView | None = None
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class WarehouseStock(View):
    """Stock of one item in one warehouse."""

    warehouse: str
    on_hand: Decimal
    allocated: Decimal
    available: Decimal = Field(description="As the source says, else on hand minus allocated.")
    on_order: Decimal | None = None
    updated_at: datetime | None = None


class InventoryItemView(View):
    """An item the customer buys, with its stock in every warehouse of that source."""

    source: str
    item_id: str
    description: str | None = None
    product_line: str | None = None
    last_ordered: date
    quantity_12m: Decimal = Field(description="Quantity ordered in the 12 months to today.")
    available_total: Decimal
    warehouses: list[WarehouseStock]


class RevenueView(View):
    """Revenue of orders not cancelled, in one currency."""

    currency: str
    last_12_months: Decimal
    lifetime: Decimal
    orders_12_months: int
    orders_lifetime: int


class ProductLineYear(View):
    """What the customer bought of one product line in one year."""

    product_line: str | None
    year: int
    currency: str
    amount: Decimal
    quantity: Decimal
    orders: int


class LapsedProduct(View):
    """An item bought last year and not this year."""

    source: str
    item_id: str
    description: str | None = None
    product_line: str | None = None
    currency: str
    last_year_amount: Decimal
    last_year_quantity: Decimal
    last_ordered: date


class RfmView(View):
    """Recency, frequency and monetary scores, 1 (low) to 5 (high), as quintiles of all
    customers with orders (monetary among customers in the same currency)."""

    recency: int = Field(ge=1, le=5)
    frequency: int = Field(ge=1, le=5)
    monetary: int = Field(ge=1, le=5)
    score: str = Field(description="The three scores as one code, e.g. 545.")


class ChurnView(View):
    """Whether the customer looks lost, by the rule of its tier."""

    flag: bool
    threshold_days: int | None
    rule: str
    service_risk: bool = Field(
        False,
        description="A high-tier customer (A or B) with several open service requests or "
        "falling satisfaction.",
    )
    service_reasons: list[str] = Field(default_factory=list)


class InsightsView(View):
    """Purchase history, lapsed products, value, RFM, tier and churn of one customer."""

    id: str
    as_of: date
    currency: str | None = Field(description="The currency the scores and tier are in.")
    revenue: list[RevenueView]
    purchase_history: list[ProductLineYear]
    lapsed_products: list[LapsedProduct]
    lapsed_product_lines: list[str]
    last_order_date: date | None = None
    days_since_last_order: int | None = None
    rfm: RfmView
    tier: Tier = Field(
        description="A: the customers making the first 80% of 12-month revenue, B: the "
        "next 15%, C: the rest with revenue, D: no revenue in 12 months."
    )
    churn: ChurnView
    freshness: list[FreshnessView] = Field(default_factory=list, description=FRESHNESS_DESCRIPTION)


class RunView(View):
    """A run of one stream (or of the hub's reconcile) from the run ledger."""

    run_id: int
    source: str
    stream: str
    entity: str | None = None
    mode: str
    status: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    rows_deleted: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    duration_seconds: float | None = None
    watermark: str | None = None
    error: str | None = None


class RunDetail(RunView):
    """A run with its batches and contract outcome."""

    batches: int
    checks: dict[str, Any] | None = None


class QuarantineRow(View):
    """A row held back by a mapping or a contract, kept whole with the reason."""

    id: int
    run_id: int | None = None
    source: str
    stream: str
    record_key: str | None = None
    reason: str
    status: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    raw: dict[str, Any]


class Health(View):
    """The API is up and its store answers."""

    status: Literal["ok"]
    version: str
