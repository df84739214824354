"""Open receivables: which invoices are open, how late each is, and a customer's open
balance per currency with overdue buckets. The one owner of these rules; the customer 360
view and the finance API both use it.

An invoice is open while its status is ``open`` and something is still owed. Days past
due count from the due date (an invoice without one is due on its date): not yet due is
``current``, then 1-30, 31-60, 61-90 and over 90 days. Money is summed as ``Decimal``,
never in SQL (SQLite would sum text as floats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from schemas.model import OpenReceivable, OverdueBuckets

Bucket = Literal["current", "days_0_30", "days_31_60", "days_61_90", "days_over_90"]
ZERO = Decimal(0)


def is_open(invoice: Mapping[str, Any]) -> bool:
    """Whether ``invoice`` (a store row's mapping) still counts as receivable."""
    return invoice["status"] == "open" and bool(invoice["open_amount"])


def days_past_due(invoice: Mapping[str, Any], as_of: date) -> int:
    """Days ``invoice`` is late on ``as_of``: 0 or less when it is not yet due."""
    return (as_of - (invoice["due_date"] or invoice["invoice_date"])).days


def bucket_of(days: int) -> Bucket:
    """The overdue bucket of an item ``days`` days past due (0 or less: not due)."""
    if days <= 0:
        return "current"
    if days <= 30:
        return "days_0_30"
    if days <= 60:
        return "days_31_60"
    if days <= 90:
        return "days_61_90"
    return "days_over_90"


def open_receivables(
    invoices: Iterable[Mapping[str, Any]], last_payment: Mapping[str, date], as_of: date
) -> list[OpenReceivable]:
    """The open balance per currency of ``invoices`` (open ones only count), with amounts
    by overdue bucket as of ``as_of`` and each currency's ``last_payment`` date."""
    per: dict[str, dict[str, Any]] = {}
    for invoice in invoices:
        if not is_open(invoice):
            continue
        entry = per.setdefault(
            invoice["currency"], {"balance": ZERO, "overdue": ZERO, "items": 0, "buckets": {}}
        )
        amount = invoice["open_amount"]
        days = days_past_due(invoice, as_of)
        bucket = bucket_of(days)
        entry["balance"] += amount
        entry["items"] += 1
        entry["buckets"][bucket] = entry["buckets"].get(bucket, ZERO) + amount
        if days > 0:
            entry["overdue"] += amount
    return [
        OpenReceivable(
            currency=currency,
            balance=entry["balance"],
            overdue=entry["overdue"],
            buckets=OverdueBuckets(**entry["buckets"]),
            open_items=entry["items"],
            last_payment_date=last_payment.get(currency),
            as_of=as_of,
        )
        for currency, entry in sorted(per.items())
    ]
