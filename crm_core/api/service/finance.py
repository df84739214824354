"""What finance knows about a customer: credit standing, open receivables, last payment.

Which invoices are open and their overdue buckets follow ``crm_core.golden.receivables``.
Money is summed as ``Decimal``, never in SQL (SQLite would sum text as floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from crm_core.api.service.lookup import resolve
from crm_core.api.service.views import (
    CreditProfileView,
    CreditStatus,
    CreditView,
    OpenItemView,
    PaymentView,
    ReceivablesView,
)
from crm_core.golden.customer360 import last_payment_dates, linked
from crm_core.golden.receivables import bucket_of, days_past_due, is_open, open_receivables
from crm_core.store.tables import RECORD_TABLES

#: A profile whose exposure reaches this share of its limit is ``near_limit``.
NEAR_LIMIT = Decimal("0.9")
_WORST: tuple[CreditStatus, ...] = ("on_hold", "near_limit", "ok", "unknown")


def credit_status(
    limit: Decimal, exposure: Decimal | None, on_hold: bool
) -> tuple[CreditStatus, Decimal | None]:
    """The status of one profile and its utilisation (exposure over limit)."""
    if on_hold:
        status: CreditStatus = "on_hold"
    elif exposure is None:
        status = "unknown"
    else:
        status = "ok"
    utilisation = None
    if exposure is not None and limit > 0:
        utilisation = (exposure / limit).quantize(Decimal("0.0001"))
    elif exposure is not None and exposure > 0:
        utilisation = Decimal(1)  # no limit at all, yet owing money
    if status == "ok" and utilisation is not None and utilisation >= NEAR_LIMIT:
        status = "near_limit"
    return status, utilisation


def credit(store: Engine, golden_id: str) -> CreditView:
    """The customer's credit profile in each source and the worst status of them."""
    table = RECORD_TABLES["credit"]
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        rows = conn.execute(linked(table, standing).order_by(table.c.source)).all()
    profiles = []
    for row in rows:
        status, utilisation = credit_status(row.credit_limit, row.exposure, bool(row.on_hold))
        available = row.available
        if available is None and row.exposure is not None:
            available = row.credit_limit - row.exposure
        profiles.append(
            CreditProfileView(
                source=row.source,
                customer_key=row.customer_id,
                credit_limit=row.credit_limit,
                exposure=row.exposure,
                available=available,
                utilisation=utilisation,
                on_hold=bool(row.on_hold),
                hold_reason=row.hold_reason,
                terms=row.terms,
                risk_class=row.risk_class,
                currency=row.currency,
                updated_at=row.updated_at,
                status=status,
            )
        )
    worst = min((p.status for p in profiles), key=_WORST.index, default="unknown")
    return CreditView(id=standing, status=worst, near_limit_at=NEAR_LIMIT, profiles=profiles)


def _open_items(rows: Sequence[Any], as_of: date) -> list[OpenItemView]:
    items = []
    for row in rows:
        if not is_open(row._mapping):
            continue
        days = days_past_due(row._mapping, as_of)
        items.append(
            OpenItemView(
                source=row.source,
                invoice_id=row.invoice_id,
                order_id=row.order_id,
                invoice_date=row.invoice_date,
                due_date=row.due_date,
                amount=row.amount,
                open_amount=row.open_amount,
                currency=row.currency,
                days_past_due=max(days, 0),
                bucket=bucket_of(days),
            )
        )
    items.sort(key=lambda i: (i.due_date or i.invoice_date, i.source, i.invoice_id))
    return items


def receivables(
    store: Engine, golden_id: str, *, as_of: date, limit: int = 100, offset: int = 0
) -> ReceivablesView:
    """Open balance per currency with overdue buckets as of ``as_of``, a page of the open
    items (oldest due first) and the newest payment."""
    invoices, payments = RECORD_TABLES["invoices"], RECORD_TABLES["payments"]
    with store.connect() as conn:
        standing = resolve(conn, golden_id)["golden_id"]
        open_rows = conn.execute(
            linked(invoices, standing).where(invoices.c.status == "open")
        ).all()
        last = conn.execute(
            linked(payments, standing)
            .order_by(payments.c.payment_date.desc(), payments.c.payment_id.desc())
            .limit(1)
        ).first()
        last_by_currency = last_payment_dates(conn, standing)
    items = _open_items(open_rows, as_of)
    balances = open_receivables((dict(r._mapping) for r in open_rows), last_by_currency, as_of)
    return ReceivablesView(
        id=standing,
        as_of=as_of,
        balances=balances,
        open_items=items[offset : offset + limit],
        open_items_total=len(items),
        last_payment=(
            PaymentView(**{k: last._mapping[k] for k in PaymentView.model_fields}) if last else None
        ),
    )
