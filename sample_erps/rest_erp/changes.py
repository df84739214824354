"""One day of activity in the sample REST ERP, stamped later than anything before.

New orders, orders moving on (with their invoices), payments, a stock job (one stamp for
every row it moves, so the cursor has ties), credit decisions and edited customers.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine, Table, func, select, update

from sample_erps.rest_erp import stamps
from sample_erps.rest_erp.data import NEXT_STATUS, TERMS_DAYS, Builder
from sample_erps.rest_erp.schema import (
    CREDIT_ACCOUNTS,
    CUSTOMERS,
    INVOICES,
    ORDER_LINES,
    ORDERS,
    PAYMENTS,
    STOCK,
    TABLES,
)


class _Clock:
    """Change moments on ``as_of``, each later than every stamp in the ERP."""

    def __init__(self, engine: Engine, as_of: date) -> None:
        with engine.connect() as conn:
            latest = max(
                (conn.execute(select(func.max(t.c.updated_at))).scalar() or "" for t in TABLES),
                default="",
            )
        start = stamps.local(as_of, time(8), stamps.HOME)
        self.now = start
        if latest:
            self.now = max(start, stamps.parse_stored(latest) + timedelta(seconds=1))
        self.end = stamps.local(as_of, time(23, 59, 59), stamps.HOME)
        if self.now > self.end:
            raise ValueError(f"the sample REST ERP already has changes after {as_of}")

    def tick(self) -> datetime:
        """The next change moment (5 seconds after the last, never past the day's end)."""
        moment = self.now
        self.now = min(self.now + timedelta(seconds=5), self.end)
        return moment


def _sample(rng: random.Random, rows: list[Any], fraction: float) -> list[Any]:
    return rng.sample(rows, max(1, round(len(rows) * fraction))) if rows else []


def apply_changes(
    engine: Engine, *, seed: int, as_of: date, fraction: float = 0.02
) -> dict[str, int]:
    """One day of activity on ``as_of``: new orders, orders moving on (with invoices),
    payments, a stock job, credit decisions and edited customers (about ``fraction`` each).

    Every changed row gets a stamp later than any stamp already in the ERP.
    """
    rng = random.Random(f"rest_erp-changes:{seed}:{as_of}")
    clock = _Clock(engine, as_of)
    builder = Builder(rng, as_of)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        customers = conn.execute(select(CUSTOMERS).order_by(CUSTOMERS.c.id)).all()
        terms = dict(
            conn.execute(
                select(CREDIT_ACCOUNTS.c.customer_id, CREDIT_ACCOUNTS.c.payment_terms)
            ).all()
        )
        builder.next_order = _next_number(conn, ORDERS.c.id, "SO", 200_000)
        builder.next_invoice = _next_number(conn, INVOICES.c.number, f"INV-{as_of.year}-", 0)
        builder.next_payment = _next_number(conn, PAYMENTS.c.id, "PAY", 700_000)
        picked = _sample(rng, customers, fraction)
        for row in picked:
            builder.order(
                row.id,
                row.currency,
                row.tz,
                as_of,
                terms.get(row.id, "net 30 days"),
                status="draft",
                changed=clock.tick(),
            )
        counts["new orders"] = len(picked)
        counts["orders moved on"] = _advance_orders(conn, rng, builder, clock, terms, fraction)
        counts["payments"] = _payments(conn, rng, builder, clock, fraction)
        _insert(conn, builder, (ORDERS, ORDER_LINES, INVOICES, PAYMENTS))
        counts["stock moves"] = _stock_job(conn, rng, clock, fraction)
        counts["credit changes"] = _credit_changes(conn, rng, clock, fraction)
        counts["customer edits"] = _customer_edits(conn, rng, clock, fraction)
    return counts


def _next_number(conn: Any, column: Any, prefix: str, floor: int) -> int:
    ids = conn.execute(select(column).where(column.like(f"{prefix}%"))).scalars().all()
    return max([floor, *(int(i.removeprefix(prefix)) for i in ids)]) + 1


def _insert(conn: Any, builder: Builder, tables: tuple[Table, ...]) -> None:
    for table in tables:
        if builder.rows[table.name]:
            conn.execute(table.insert(), builder.rows[table.name])
            builder.rows[table.name] = []


def _advance_orders(
    conn: Any,
    rng: random.Random,
    builder: Builder,
    clock: _Clock,
    terms: dict[str, str],
    fraction: float,
) -> int:
    open_orders = conn.execute(
        select(ORDERS).where(ORDERS.c.status.in_(list(NEXT_STATUS))).order_by(ORDERS.c.id)
    ).all()
    picked = _sample(rng, open_orders, fraction * 10)
    for order in picked:
        status, moment = NEXT_STATUS[order.status], clock.tick()
        stamp = stamps.stored(moment)
        conn.execute(
            update(ORDERS).where(ORDERS.c.id == order.id).values(status=status, updated_at=stamp)
        )
        conn.execute(
            update(ORDER_LINES)
            .where(ORDER_LINES.c.order_id == order.id)
            .values(status=status, updated_at=stamp)
        )
        if status == "invoiced":
            due = builder.as_of + timedelta(
                days=TERMS_DAYS[terms.get(order.customer_id, "net 30 days")]
            )
            builder.rows["invoices"].append(
                {
                    "number": f"INV-{builder.as_of.year}-{builder.next_invoice:06d}",
                    "customer_id": order.customer_id,
                    "order_id": order.id,
                    "issued_on": builder.as_of.isoformat(),
                    "due_on": due.isoformat(),
                    "total_cents": order.total_cents,
                    "balance_due_cents": order.total_cents,
                    "currency": order.currency,
                    "state": "open",
                    "updated_at": stamp,
                    "tz": order.tz,
                }
            )
            builder.next_invoice += 1
    return len(picked)


def _payments(
    conn: Any, rng: random.Random, builder: Builder, clock: _Clock, fraction: float
) -> int:
    open_items = conn.execute(
        select(INVOICES).where(INVOICES.c.balance_due_cents > 0).order_by(INVOICES.c.number)
    ).all()
    picked = _sample(rng, open_items, fraction * 5)
    for item in picked:
        moment = clock.tick()
        conn.execute(
            update(INVOICES)
            .where(INVOICES.c.number == item.number)
            .values(balance_due_cents=0, state="paid", updated_at=stamps.stored(moment))
        )
        builder.payment(
            item.customer_id,
            item.currency,
            item.tz,
            item.number,
            builder.as_of,
            item.balance_due_cents,
            changed=moment,
        )
    return len(picked)


def _stock_job(conn: Any, rng: random.Random, clock: _Clock, fraction: float) -> int:
    rows = conn.execute(select(STOCK).order_by(STOCK.c.sku, STOCK.c.location)).all()
    picked = _sample(rng, rows, fraction * 5)
    stamp = stamps.stored(clock.tick())  # one job, one stamp for every row it moves
    for row in picked:
        on_hand = max(0, row.on_hand_milli + rng.randint(-300, 500) * 1000)
        conn.execute(
            update(STOCK)
            .where(STOCK.c.sku == row.sku, STOCK.c.location == row.location)
            .values(
                on_hand_milli=on_hand,
                reserved_milli=min(row.reserved_milli, on_hand),
                updated_at=stamp,
            )
        )
    return len(picked)


def _credit_changes(conn: Any, rng: random.Random, clock: _Clock, fraction: float) -> int:
    rows = conn.execute(select(CREDIT_ACCOUNTS).order_by(CREDIT_ACCOUNTS.c.customer_id)).all()
    picked = _sample(rng, rows, fraction)
    for row in picked:
        if row.on_hold and row.hold_reason != "overdue":
            values: dict[str, Any] = {"on_hold": False, "hold_reason": None}
        elif rng.random() < 0.3:
            values = {"on_hold": True, "hold_reason": "manual hold"}
        else:
            values = {
                "credit_limit_cents": round(
                    row.credit_limit_cents * rng.choice([0.8, 1.25, 1.5]), -5
                )
            }
        conn.execute(
            update(CREDIT_ACCOUNTS)
            .where(CREDIT_ACCOUNTS.c.customer_id == row.customer_id)
            .values(updated_at=stamps.stored(clock.tick()), **values)
        )
    return len(picked)


def _customer_edits(conn: Any, rng: random.Random, clock: _Clock, fraction: float) -> int:
    rows = conn.execute(select(CUSTOMERS).order_by(CUSTOMERS.c.id)).all()
    picked = _sample(rng, rows, fraction / 2)
    for row in picked:
        phone = row.phone or ""
        new_phone = phone[:-4] + f"{rng.randint(0, 9999):04d}" if len(phone) > 4 else phone
        conn.execute(
            update(CUSTOMERS)
            .where(CUSTOMERS.c.id == row.id)
            .values(phone=new_phone, updated_at=stamps.stored(clock.tick()))
        )
    return len(picked)


def latest_stamp(engine: Engine) -> datetime | None:
    """The latest change in the ERP (UTC), or None when it is empty."""
    with engine.connect() as conn:
        values = [conn.execute(select(func.max(t.c.updated_at))).scalar() for t in TABLES]
    present = [v for v in values if v]
    return stamps.parse_stored(max(present)).astimezone(UTC) if present else None
