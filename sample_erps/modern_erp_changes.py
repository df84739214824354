"""One day of activity in the sample modern ERP: new quotations, orders moving on, invoices,
payments, stock moves, credit decisions and edited partners.

Every changed row gets an ``updated_at`` later than any already in the ERP, on ``as_of``
(head office time), so an incremental sync picks up exactly the day's changes.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update

from sample_erps.modern_erp_build import LOCAL, NEXT_STATE, TABLES, TERMS, Builder, day_end
from sample_erps.modern_erp_schema import (
    ACCOUNT_MOVE,
    ACCOUNT_PAYMENT,
    PARTNER,
    SALE_ORDER,
    SALE_ORDER_LINE,
    STOCK_QUANT,
)
from sample_erps.modern_erp_style import full_width

TICK = timedelta(seconds=7)


class Clock:
    """Hands out change moments on ``as_of``, each later than every ``updated_at`` so far."""

    def __init__(self, conn: Connection, as_of: date) -> None:
        latest = max(_latest(conn, t) for t in TABLES)
        start = datetime.combine(as_of, time(8), LOCAL).astimezone(UTC)
        self.now = max(start, latest + timedelta(seconds=1))
        self.end = day_end(as_of)
        if self.now > self.end:
            raise ValueError(f"the sample ERP already has changes after {as_of}")

    def tick(self) -> datetime:
        """The next change moment (7 seconds after the last, never past the day's end)."""
        moment = self.now
        self.now = min(self.now + TICK, self.end)
        return moment


def _latest(conn: Connection, table: Table) -> datetime:
    value = conn.execute(select(func.max(table.c.updated_at))).scalar()
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    if isinstance(value, str):  # SQLite's max() returns the stored text
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _next_ids(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.max(t.c.id))).scalar() or 0) + 1 for t in TABLES}


def _sample(rng: random.Random, rows: list[Any], fraction: float) -> list[Any]:
    return rng.sample(rows, max(1, round(len(rows) * fraction))) if rows else []


def apply_changes(
    engine: Engine, *, seed: int, as_of: date, fraction: float = 0.02
) -> dict[str, int]:
    """One day of activity on ``as_of`` (about ``fraction`` of each kind of record)."""
    rng = random.Random(f"modern_erp-changes:{seed}:{as_of}")
    with engine.begin() as conn:
        clock = Clock(conn, as_of)
        builder = Builder(rng, as_of, _next_ids(conn))
        return {
            "new orders": _new_orders(conn, builder, clock, fraction),
            "orders moved on": _advance_orders(conn, builder, clock, fraction),
            "payments": _payments(conn, builder, clock, fraction),
            "stock moves": _stock_moves(conn, rng, clock, fraction),
            "credit changes": _credit_changes(conn, rng, clock, fraction),
            "customer edits": _customer_edits(conn, rng, clock, fraction),
        }


def _new_orders(conn: Connection, builder: Builder, clock: Clock, fraction: float) -> int:
    partners = conn.execute(select(PARTNER).order_by(PARTNER.c.id)).all()
    picked = _sample(builder.rng, partners, fraction)
    for p in picked:
        builder.order(
            p.id, p.currency, builder.as_of, p.payment_term, state="draft", changed=clock.tick()
        )
    for table in (SALE_ORDER, SALE_ORDER_LINE):
        if builder.rows[table.name]:
            conn.execute(table.insert(), builder.rows[table.name])
    return len(picked)


def _advance_orders(conn: Connection, builder: Builder, clock: Clock, fraction: float) -> int:
    open_orders = conn.execute(
        select(SALE_ORDER).where(SALE_ORDER.c.state.in_(list(NEXT_STATE))).order_by(SALE_ORDER.c.id)
    ).all()
    picked = _sample(builder.rng, open_orders, fraction * 10)
    terms = dict(conn.execute(select(PARTNER.c.id, PARTNER.c.payment_term)).all())
    for order in picked:
        state, moment = NEXT_STATE[order.state], clock.tick()
        conn.execute(
            update(SALE_ORDER)
            .where(SALE_ORDER.c.id == order.id)
            .values(state=state, updated_at=moment)
        )
        if state == "invoiced":
            mid = builder.new_id("account_move")
            due = builder.as_of + timedelta(days=TERMS.get(terms.get(order.partner_id, ""), 30))
            conn.execute(
                ACCOUNT_MOVE.insert().values(
                    id=mid,
                    name=f"INV/{builder.as_of.year}/{mid:05d}",
                    partner_id=order.partner_id,
                    sale_order_id=order.id,
                    invoice_date=builder.as_of,
                    invoice_date_due=due,
                    amount_total=order.amount_total,
                    amount_residual=order.amount_total,
                    currency=order.currency,
                    payment_state="not_paid",
                    updated_at=moment,
                )
            )
    return len(picked)


def _payments(conn: Connection, builder: Builder, clock: Clock, fraction: float) -> int:
    open_items = conn.execute(
        select(ACCOUNT_MOVE).where(ACCOUNT_MOVE.c.amount_residual > 0).order_by(ACCOUNT_MOVE.c.id)
    ).all()
    picked = _sample(builder.rng, open_items, fraction * 5)
    for move in picked:
        moment = clock.tick()
        conn.execute(
            update(ACCOUNT_MOVE)
            .where(ACCOUNT_MOVE.c.id == move.id)
            .values(amount_residual=Decimal(0), payment_state="paid", updated_at=moment)
        )
        amount = Decimal(move.amount_residual)
        builder.payment(move.partner_id, move.id, builder.as_of, amount, move.currency)
        builder.rows["account_payment"][-1]["updated_at"] = moment
    if builder.rows["account_payment"]:
        conn.execute(ACCOUNT_PAYMENT.insert(), builder.rows["account_payment"])
    return len(picked)


def _stock_moves(conn: Connection, rng: random.Random, clock: Clock, fraction: float) -> int:
    quants = conn.execute(select(STOCK_QUANT).order_by(STOCK_QUANT.c.id)).all()
    picked = _sample(rng, quants, fraction * 5)
    for q in picked:
        quantity = max(Decimal(0), Decimal(q.quantity) + rng.randint(-300, 500))
        conn.execute(
            update(STOCK_QUANT)
            .where(STOCK_QUANT.c.id == q.id)
            .values(
                quantity=quantity,
                reserved_quantity=min(Decimal(q.reserved_quantity), quantity),
                updated_at=clock.tick(),
            )
        )
    return len(picked)


def _credit_changes(conn: Connection, rng: random.Random, clock: Clock, fraction: float) -> int:
    partners = conn.execute(select(PARTNER).order_by(PARTNER.c.id)).all()
    picked = _sample(rng, partners, fraction)
    for p in picked:
        if p.credit_hold:
            values: dict[str, Any] = {"credit_hold": False}  # released by credit control
        elif rng.random() < 0.3:
            values = {"credit_hold": True}
        else:
            factor = Decimal(rng.choice(["0.8", "1.25", "1.5"]))
            values = {"credit_limit": (Decimal(p.credit_limit) * factor).quantize(Decimal(1000))}
        conn.execute(
            update(PARTNER).where(PARTNER.c.id == p.id).values(updated_at=clock.tick(), **values)
        )
    return len(picked)


def _customer_edits(conn: Connection, rng: random.Random, clock: Clock, fraction: float) -> int:
    partners = conn.execute(select(PARTNER).order_by(PARTNER.c.id)).all()
    picked = _sample(rng, partners, fraction / 2)
    for p in picked:
        phone = p.phone or ""
        digits = f"{rng.randint(0, 9999):04d}"
        if any("０" <= ch <= "９" for ch in phone):
            digits = full_width(digits)
        conn.execute(
            update(PARTNER)
            .where(PARTNER.c.id == p.id)
            .values(phone=phone[:-4] + digits, updated_at=clock.tick())
        )
    return len(picked)
