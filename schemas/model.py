"""The unified customer model: what every back-office system's records are mapped into.

Money is ``Decimal`` with a currency code beside it, never float. Timestamps are timezone
aware. Text is Unicode throughout (Chinese as well as Latin script).

The flat record models (``CustomerRecord``, ``Order``, ``OrderLine``, ...) are what one
source says about one thing; they are the rows of the store. ``Customer`` is the golden
record that reconciliation builds from them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints

from schemas.strict import Strict

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Quantity = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]
MoneyAmount = Annotated[Decimal, Field(max_digits=18, decimal_places=4)]


class ModelBase(Strict):
    """Common settings: strict about unknown fields, values checked on assignment."""

    model_config = ConfigDict(validate_assignment=True)


class Money(ModelBase):
    """An amount with its currency."""

    amount: MoneyAmount
    currency: CurrencyCode


class OrderStatus(StrEnum):
    """Life cycle of an order and of its lines."""

    ENTERED = "entered"
    CONFIRMED = "confirmed"
    IN_PRODUCTION = "in_production"
    SHIPPED = "shipped"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class SourceRecordRef(ModelBase):
    """Points at one record of one stream of one source system."""

    system: str
    stream: str
    key: str


class Address(ModelBase):
    """A postal address in the form its country writes it."""

    street: str | None = None
    street2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    kind: Literal["billing", "shipping", "main"] = "main"


class Contact(ModelBase):
    """A person at a customer, or a channel to reach the customer."""

    contact_id: str
    customer_id: str
    name: str | None = None
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    updated_at: AwareDatetime | None = None


class CustomerRecord(ModelBase):
    """One source system's view of a customer (a company or a person)."""

    customer_id: str
    kind: Literal["company", "person"] | None = None
    name: str
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    street: str | None = None
    street2: str | None = None
    city: str | None = None
    region: str | None = None
    postcode: str | None = None
    country: str | None = None
    currency: CurrencyCode | None = None
    active: bool | None = None
    created_on: date | None = None
    updated_at: AwareDatetime | None = None


class Order(ModelBase):
    """An order header."""

    order_id: str
    customer_id: str
    order_date: date
    requested_date: date | None = None
    status: OrderStatus
    currency: CurrencyCode
    total_amount: MoneyAmount
    updated_at: AwareDatetime | None = None


class OrderLine(ModelBase):
    """One line of an order."""

    order_id: str
    line_no: int
    item_id: str
    description: str | None = None
    quantity: Quantity
    unit_price: MoneyAmount
    amount: MoneyAmount
    currency: CurrencyCode | None = None
    status: OrderStatus | None = None
    updated_at: AwareDatetime | None = None


class InventoryItem(ModelBase):
    """Stock of one item in one warehouse."""

    item_id: str
    warehouse: str
    description: str | None = None
    product_line: str | None = None
    on_hand: Quantity
    allocated: Quantity
    available: Quantity | None = None
    on_order: Quantity | None = None
    updated_at: AwareDatetime | None = None


class CreditProfile(ModelBase):
    """A customer's credit standing as finance keeps it."""

    customer_id: str
    credit_limit: MoneyAmount
    exposure: MoneyAmount | None = None
    available: MoneyAmount | None = None
    on_hold: bool = False
    hold_reason: str | None = None
    terms: str | None = None
    risk_class: str | None = None
    currency: CurrencyCode
    updated_at: AwareDatetime | None = None


class Invoice(ModelBase):
    """An accounts-receivable item."""

    invoice_id: str
    customer_id: str
    order_id: str | None = None
    invoice_date: date
    due_date: date | None = None
    amount: MoneyAmount
    open_amount: MoneyAmount
    currency: CurrencyCode
    status: Literal["open", "paid", "void"]
    updated_at: AwareDatetime | None = None


class Payment(ModelBase):
    """A payment received from a customer."""

    payment_id: str
    customer_id: str
    invoice_id: str | None = None
    payment_date: date
    amount: MoneyAmount
    currency: CurrencyCode
    method: str | None = None
    updated_at: AwareDatetime | None = None


class ConcessionStatus(StrEnum):
    """Where an approved concession stands in the system that books it."""

    APPROVED = "approved"
    BOOKED = "booked"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Concession(ModelBase):
    """A price concession a manager approved for a customer, or for one of its orders:
    an amount or a percentage, why, who approved it, and when it applies."""

    concession_id: str
    customer_id: str
    order_id: str | None = None
    kind: Literal["amount", "percent"]
    amount: MoneyAmount | None = None
    percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)] | None = None
    currency: CurrencyCode | None = None
    reason: str
    approver: str
    valid_from: date
    valid_to: date | None = None
    status: ConcessionStatus = ConcessionStatus.APPROVED
    updated_at: AwareDatetime | None = None


class AssetStatus(StrEnum):
    """Where a shipped, serial-numbered product stands."""

    IN_SERVICE = "in_service"
    RETURNED = "returned"
    SCRAPPED = "scrapped"


class Asset(ModelBase):
    """A serial-numbered product a customer owns (the installed base): what was shipped,
    where it is installed, its warranty and its service contract. A component points at
    the asset it is part of (``parent_asset_id``)."""

    asset_id: str
    customer_id: str
    item_id: str
    description: str | None = None
    serial_number: str | None = None
    quantity: Quantity = Decimal(1)
    order_id: str | None = None
    shipped_on: date | None = None
    installed_on: date | None = None
    install_site: str | None = None
    warranty_end: date | None = None
    service_contract_id: str | None = None
    service_contract_end: date | None = None
    parent_asset_id: str | None = None
    status: AssetStatus = AssetStatus.IN_SERVICE
    updated_at: AwareDatetime | None = None


class ServiceRequestStatus(StrEnum):
    """Life cycle of a service request (a ticket)."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ServiceRequest(ModelBase):
    """A customer's service request (a ticket) as the service desk keeps it.

    ``customer_source`` names the system whose customer id ``customer_id`` is when that
    is not the record's own source (a service desk that files tickets under the ERP's
    account numbers); the customer is found through that system's record. The SLA is a
    due time; first response and resolution are moments (their durations follow).
    """

    request_id: str
    customer_id: str
    customer_source: str | None = None
    asset_id: str | None = None
    subject: str | None = None
    opened_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    channel: Literal["phone", "email", "web", "chat", "field"] | None = None
    category: str | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    status: ServiceRequestStatus
    sla_due_at: AwareDatetime | None = None
    first_response_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    satisfaction_score: Annotated[int, Field(ge=1, le=5)] | None = None
    satisfaction_comment: str | None = None
    updated_at: AwareDatetime | None = None


class ServiceSurvey(ModelBase):
    """One answer to the satisfaction survey sent after a service request: a score from
    1 (very unhappy) to 5 (very happy) and what the customer wrote."""

    survey_id: str
    request_id: str
    answered_at: AwareDatetime
    score: Annotated[int, Field(ge=1, le=5)]
    comment: str | None = None
    updated_at: AwareDatetime | None = None


class Campaign(ModelBase):
    """A marketing campaign: its channel, when it ran and what it cost."""

    campaign_id: str
    name: str
    channel: str | None = None
    starts_on: date
    ends_on: date | None = None
    cost: MoneyAmount = Decimal(0)
    currency: CurrencyCode
    updated_at: AwareDatetime | None = None


class TouchResponse(StrEnum):
    """What a customer or lead did with a campaign's message."""

    SENT = "sent"
    OPENED = "opened"
    CLICKED = "clicked"
    RESPONDED = "responded"
    ATTENDED = "attended"


class CampaignTouch(ModelBase):
    """A campaign reaching a customer (``customer_id`` of the system ``customer_source``,
    default the record's own source) or a lead not yet a customer (``lead_id``)."""

    touch_id: str
    campaign_id: str
    customer_id: str | None = None
    customer_source: str | None = None
    lead_id: str | None = None
    touched_at: AwareDatetime
    response: TouchResponse = TouchResponse.SENT
    updated_at: AwareDatetime | None = None


class OverdueBuckets(ModelBase):
    """Open amounts by days past due."""

    current: MoneyAmount = Decimal(0)
    days_0_30: MoneyAmount = Decimal(0)
    days_31_60: MoneyAmount = Decimal(0)
    days_61_90: MoneyAmount = Decimal(0)
    days_over_90: MoneyAmount = Decimal(0)


class OpenReceivable(ModelBase):
    """A customer's open balance in one currency, derived from invoices and payments."""

    currency: CurrencyCode
    balance: MoneyAmount
    overdue: MoneyAmount
    buckets: OverdueBuckets
    open_items: int
    last_payment_date: date | None = None
    as_of: date


class FieldLineage(ModelBase):
    """Where one golden field's value came from."""

    field: str
    source: SourceRecordRef
    run_id: int | None = None
    rule: str | None = None


class Customer(ModelBase):
    """The golden record of one customer, built from its source records."""

    golden_id: str
    kind: Literal["company", "person"] | None = None
    name: str
    tax_id: str | None = None
    email: str | None = None
    phone: str | None = None
    addresses: list[Address] = []
    contacts: list[Contact] = []
    sources: list[SourceRecordRef] = []
    lineage: list[FieldLineage] = []
    updated_at: AwareDatetime | None = None
