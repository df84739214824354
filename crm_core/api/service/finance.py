"""What finance knows about a customer: credit standing, open receivables, last payment.

Overdue buckets count days past the due date (an invoice without one is due on its
date): not yet due is ``current``, then 1-30, 31-60, 61-90 and over 90 days. Money is
summed as ``Decimal``, never in SQL (SQLite would sum text as floats).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func

from crm_core.api.service.lookup import resolve
from crm_core.api.service.views import (
    Bucket,
    CreditProfileView,
    CreditStatus,
    CreditView,
    OpenItemView,
    PaymentView,
    ReceivablesView,
)
from crm_core.golden.customer360 import linked
from crm_core.store.tables import RECORD_TABLES
from schemas.model import OpenReceivable, OverdueBuckets

#: A profile whose exposure reaches this share of its limit is ``near_limit``.
NEAR_LIMIT = Decimal("0.9")
ZERO = Decimal(0)
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


def bucket_of(days_past_due: int) -> Bucket:
    """The overdue bucket of an item ``days_past_due`` days late (0 or less: not due)."""
    if days_past_due <= 0:
        return "current"
    if days_past_due <= 30:
        return "days_0_30"
    if days_past_due <= 60:
        return "days_31_60"
    if days_past_due <= 90:
        return "days_61_90"
    return "days_over_90"


def _open_items(rows: Sequence[Any], as_of: date) -> list[OpenItemView]:
    items = []
    for row in rows:
        if row.status == "void" or not row.open_amount:
            continue
        days = (as_of - (row.due_date or row.invoice_date)).days
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
        last_by_currency = _last_payment_dates(conn, standing)
    items = _open_items(open_rows, as_of)
    per: dict[str, dict[str, Any]] = {}
    for item in items:
        entry = per.setdefault(
            item.currency, {"balance": ZERO, "overdue": ZERO, "open_items": 0, "buckets": {}}
        )
        entry["balance"] += item.open_amount
        entry["open_items"] += 1
        entry["buckets"][item.bucket] = entry["buckets"].get(item.bucket, ZERO) + item.open_amount
        if item.days_past_due > 0:
            entry["overdue"] += item.open_amount
    balances = [
        OpenReceivable(
            currency=currency,
            balance=entry["balance"],
            overdue=entry["overdue"],
            buckets=OverdueBuckets(**entry["buckets"]),
            open_items=entry["open_items"],
            last_payment_date=last_by_currency.get(currency),
            as_of=as_of,
        )
        for currency, entry in sorted(per.items())
    ]
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


def _last_payment_dates(conn: Any, golden_id: str) -> dict[str, date]:
    payments = RECORD_TABLES["payments"]
    stmt = linked(
        payments, golden_id, payments.c.currency, func.max(payments.c.payment_date)
    ).group_by(payments.c.currency)
    return {r[0]: r[1] for r in conn.execute(stmt)}
