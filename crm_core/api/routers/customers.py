"""``/customers``: search, the golden record, orders, inventory and insights (any role
that reads customer data), credit and receivables (finance and admin only)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Query, Request

from crm_core.access.api_keys import Scope
from crm_core.api import service
from crm_core.api.auth import reject_unknown_query, require
from crm_core.api.params import (
    TEXT_PATTERN,
    AsOf,
    CustomerId,
    Limit,
    Offset,
    today,
    with_next,
)
from crm_core.api.problems import documented
from crm_core.api.service import freshness as fresh
from crm_core.api.service.views import (
    CreditView,
    CustomerDetail,
    CustomerPage,
    CustomerSummary,
    InsightsView,
    InventoryItemView,
    OrderView,
    Page,
    ReceivablesView,
)
from crm_core.api.summaries import freshness_of, summary_of
from schemas.model import OrderStatus

T = TypeVar("T")

customers = APIRouter(
    tags=["customers"],
    dependencies=[Depends(require(Scope.CUSTOMERS)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 404, 422, 503),
)
finance = APIRouter(
    tags=["finance"],
    dependencies=[Depends(require(Scope.FINANCE)), Depends(reject_unknown_query)],
    responses=documented(401, 403, 404, 422, 503),
)


@customers.get("/customers", summary="Search customers")
def search_customers(
    request: Request,
    q: Annotated[
        str,
        Query(
            max_length=200,
            pattern=TEXT_PATTERN,
            description="Words a customer's name (Chinese characters, pinyin, pinyin "
            "initials or Latin), e-mail, phone, tax id or source key must all contain; "
            "empty lists every customer.",
        ),
    ] = "",
    include_retired: Annotated[
        bool,
        Query(description="Also customers retired because their every source record was deleted."),
    ] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[CustomerSummary]:
    """Golden customers matching ``q``, names starting with its first word first (retired
    ones only with ``include_retired=true``)."""
    page = service.search(
        request.app.state.store, q, limit=limit, offset=offset, include_retired=include_retired
    )
    return with_next(request, page)


@customers.get("/customers/{id}", summary="One customer")
def get_customer(request: Request, customer_id: CustomerId, as_of: AsOf = None) -> CustomerDetail:
    """The golden record, its source records, each field's lineage, and the summary:
    credit status and hold, overdue, open orders and concessions, tier and churn as of
    ``as_of`` (amounts for the roles of ``api.summary_figures``, bands for the others);
    ``freshness``: per source stream that feeds the customer, as of when its data is and
    whether it is stale."""
    found = service.detail(request.app.state.store, customer_id)
    found.summary = summary_of(request, request.state.api_key, found.id, today(as_of))
    found.freshness = freshness_of(request, found.id, fresh.EVERYTHING)
    return found


@customers.get("/customers/{id}/orders", summary="The customer's orders")
def get_orders(
    request: Request,
    customer_id: CustomerId,
    status: Annotated[
        list[OrderStatus] | None, Query(description="Only these statuses.", max_length=6)
    ] = None,
    since: Annotated[date | None, Query(description="Ordered on or after.")] = None,
    until: Annotated[date | None, Query(description="Ordered on or before.")] = None,
    include_deleted: Annotated[
        bool,
        Query(description="Also the orders and lines the source deleted, marked deleted."),
    ] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CustomerPage[OrderView]:
    """Orders from every source of the customer, newest first, with their lines; orders
    the source deleted are left out unless ``include_deleted=true``."""
    page = service.orders(
        request.app.state.store,
        customer_id,
        status=status or (),
        since=since,
        until=until,
        limit=limit,
        offset=offset,
        include_deleted=include_deleted,
    )
    return with_next(request, _with_freshness(request, customer_id, page, fresh.ORDERS))


@customers.get("/customers/{id}/inventory", summary="Stock of what the customer buys")
def get_inventory(
    request: Request,
    customer_id: CustomerId,
    as_of: AsOf = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CustomerPage[InventoryItemView]:
    """Items the customer ordered, most recent first, available per warehouse."""
    page = service.inventory_for(
        request.app.state.store, customer_id, as_of=today(as_of), limit=limit, offset=offset
    )
    return with_next(request, _with_freshness(request, customer_id, page, fresh.INVENTORY))


@customers.get("/customers/{id}/insights", summary="Purchase history and value")
def get_insights(request: Request, customer_id: CustomerId, as_of: AsOf = None) -> InsightsView:
    """Purchases by product line and year, lapsed products, revenue, RFM scores, value
    tier, days since the last order and the churn flag."""
    day = today(as_of)
    store = request.app.state.store
    found = service.insights(
        store, customer_id, as_of=day, pop=request.app.state.population.get(store, day)
    )
    found.freshness = freshness_of(request, found.id, fresh.INSIGHTS)
    return found


@finance.get("/customers/{id}/credit", summary="Credit standing")
def get_credit(request: Request, customer_id: CustomerId) -> CreditView:
    """Limit, exposure, available, hold and reason in each source; the worst status."""
    found = service.credit(request.app.state.store, customer_id)
    found.freshness = freshness_of(request, found.id, fresh.CREDIT)
    return found


@finance.get("/customers/{id}/receivables", summary="Open receivables")
def get_receivables(
    request: Request,
    customer_id: CustomerId,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many open items.")] = 100,
    offset: Offset = 0,
) -> ReceivablesView:
    """Open balance per currency with overdue buckets, open items, the last payment."""
    found = service.receivables(
        request.app.state.store, customer_id, as_of=today(as_of), limit=limit, offset=offset
    )
    found.freshness = freshness_of(request, found.id, fresh.RECEIVABLES)
    return found


def _with_freshness(
    request: Request, customer_id: str, page: Page[T], entities: tuple[str, ...]
) -> CustomerPage[T]:
    """``page`` with the freshness of the streams loading ``entities`` for the customer."""
    return CustomerPage[T](
        items=page.items,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        freshness=freshness_of(request, customer_id, entities),
    )
