"""Data for the sample REST ERP: two years of a trading subsidiary's back office.

:func:`generate` draws about half of its customers from the customers the legacy ERP has
(the first ``customers`` of the universe) and the rest from further down the universe, so
the systems share part of their customers. It spells them its own way (:mod:`.names`),
and has about 1.5% of them twice. Orders (about 6 per customer, 3 lines each), invoices and
payments for what was invoiced, stock per location and credit per customer follow.
:mod:`.changes` adds a day of activity after that.
The nightly stock job stamps every row it touches with one moment, and all lines of an
order share the order's stamp, so the cursor has many ties. The same seed gives the same rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

from sample_erps import universe
from sample_erps.legacy_erp import PRODUCT_LINES
from sample_erps.rest_erp import names, stamps
from sample_erps.rest_erp.schema import (
    TABLES,
    create_schema,
)
from sample_erps.universe import TrueCustomer

__all__ = ["create_schema", "generate"]

LOCATIONS = {"WH-SH": "Asia/Shanghai", "WH-SZ": "Asia/Shanghai", "WH-HAM": "Europe/Berlin"}
TERMS_DAYS = {"net 30 days": 30, "net 45 days": 45, "net 60 days": 60, "prepaid": 0}
NEXT_STATUS = {
    "draft": "confirmed",
    "confirmed": "manufacturing",
    "manufacturing": "shipped",
    "shipped": "invoiced",
}
OPEN_STATUSES = ("draft", "confirmed", "manufacturing", "shipped")
SHARED_SHARE = 0.5
DUPLICATE_SHARE = 0.015
HISTORY_DAYS = 2 * 365


@dataclass(frozen=True)
class Item:
    """One stocked item."""

    sku: str
    category: str
    description: str
    price_e4: int


def _items(rng: random.Random) -> list[Item]:
    items = []
    for line, (english, chinese) in PRODUCT_LINES.items():
        for n in range(1, 16):
            size = rng.choice([10, 16, 20, 25, 32, 40, 50, 63])
            price = rng.randint(5, 900) * 10_000 + rng.choice([0, 5000, 9900])
            items.append(
                Item(f"{line}-{size}-{n:02d}", english, f"{english} {chinese} {size}", price)
            )
    return items


def pick_customers(
    people: list[TrueCustomer], customers: int, rng: random.Random
) -> list[TrueCustomer]:
    """``customers`` true customers: each slot is the legacy ERP's customer of the same
    rank with probability :data:`SHARED_SHARE`, else one from further down the universe."""
    out = []
    for i in range(customers):
        other = customers + i
        shared = rng.random() < SHARED_SHARE or other >= len(people)
        out.append(people[i] if shared else people[other])
    return out


class Builder:
    """Accumulates the rows of one generation run."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.items = _items(rng)
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
        self.open_cents: dict[str, int] = {}
        self.overdue: set[str] = set()
        self.next_order = 200_001
        self.next_invoice = 1
        self.next_payment = 700_001

    def moment(self, day: date, tz: str, within_days: int = 0) -> datetime:
        """A moment in office hours on or after ``day``, never after ``as_of``."""
        day = min(day + timedelta(days=self.rng.randint(0, within_days)), self.as_of)
        clock = time(8) if day == self.as_of else time(8 + self.rng.randrange(10))
        return stamps.local(day, clock, tz) + timedelta(seconds=self.rng.randrange(3600))

    def customer(self, key: str, c: TrueCustomer) -> str:
        rng, tz = self.rng, stamps.zone_for(c.country)
        created = self.as_of - timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 900))
        company = c.kind == "company"
        self.rows["customers"].append(
            {
                "id": key,
                "kind": "company" if company else "individual",
                "name": names.spelled(c, rng),
                "vat_number": c.tax_id if company and rng.random() > 0.35 else None,
                "email": c.email.lower(),
                "phone": names.phone(c.phone, rng),
                "address_line1": names.street(c, rng),
                "address_line2": None,
                "city": c.city,
                "state": c.region,
                "postal_code": c.postcode,
                "country": c.country,
                "currency": c.currency,
                "status": "active" if rng.random() > 0.03 else "archived",
                "created_at": stamps.stored(self.moment(created, tz)),
                "updated_at": stamps.stored(self.moment(created, tz, 600)),
                "tz": tz,
            }
        )
        return tz

    def order(
        self,
        key: str,
        currency: str,
        tz: str,
        entered: date,
        terms: str,
        status: str | None = None,
        changed: datetime | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        age = (self.as_of - entered).days
        status = status or _status_for_age(rng, age)
        stamp = stamps.stored(changed or self.moment(entered, tz, min(age, 20)))
        order_id = f"SO{self.next_order}"
        self.next_order += 1
        total = 0
        line = rng.choice(sorted(PRODUCT_LINES))
        for line_no in range(1, max(1, round(rng.gauss(3, 1.2))) + 1):
            item = rng.choice([i for i in self.items if i.sku.startswith(line)])
            qty = rng.randint(1, 150) * 1000 + rng.choice([0, 0, 250, 500])
            amount = round(qty * item.price_e4 / 1000 / 100)
            total += amount
            self.rows["order_lines"].append(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "sku": item.sku,
                    "name": item.description,
                    "quantity_milli": qty,
                    "unit_price_e4": item.price_e4,
                    "amount_cents": amount,
                    "status": status,
                    "updated_at": stamp,
                    "tz": tz,
                }
            )
        header = {
            "id": order_id,
            "customer_id": key,
            "order_date": entered.isoformat(),
            "requested_date": (entered + timedelta(days=rng.randint(5, 40))).isoformat()
            if rng.random() > 0.05
            else None,
            "status": status,
            "currency": currency,
            "total_cents": total,
            "updated_at": stamp,
            "tz": tz,
        }
        self.rows["orders"].append(header)
        if status in OPEN_STATUSES:
            self.open_cents[key] = self.open_cents.get(key, 0) + total
        if status == "invoiced":
            self.invoice(header, entered + timedelta(days=rng.randint(3, 15)), terms)
        return header

    def invoice(self, order: dict[str, Any], day: date, terms: str) -> None:
        rng, key, tz = self.rng, order["customer_id"], order["tz"]
        day = min(day, self.as_of)
        due = day + timedelta(days=TERMS_DAYS[terms])
        total = order["total_cents"]
        late = (self.as_of - due).days
        paid = total if late > 15 and rng.random() < 0.92 else 0
        if 0 < late <= 15 and rng.random() < 0.5:
            paid = total
        changed = self.moment(day, tz)
        number = f"INV-{day.year}-{self.next_invoice:06d}"
        self.next_invoice += 1
        if paid:
            pay_day = max(day, min(due + timedelta(days=rng.randint(-10, 12)), self.as_of))
            changed = max(changed, self.moment(pay_day, tz))
            self.payment(key, order["currency"], tz, number, pay_day, paid)
        if total > paid:
            self.open_cents[key] = self.open_cents.get(key, 0) + total - paid
            if late > 90:
                self.overdue.add(key)
        self.rows["invoices"].append(
            {
                "number": number,
                "customer_id": key,
                "order_id": order["id"],
                "issued_on": day.isoformat(),
                "due_on": due.isoformat(),
                "total_cents": total,
                "balance_due_cents": total - paid,
                "currency": order["currency"],
                "state": "paid" if paid == total else "open",
                "updated_at": stamps.stored(changed),
                "tz": tz,
            }
        )

    def payment(
        self,
        key: str,
        currency: str,
        tz: str,
        invoice: str,
        day: date,
        cents: int,
        changed: datetime | None = None,
    ) -> None:
        self.rows["payments"].append(
            {
                "id": f"PAY{self.next_payment}",
                "customer_id": key,
                "invoice_number": invoice,
                "received_on": day.isoformat(),
                "amount_cents": cents,
                "currency": currency,
                "method": self.rng.choice(["bank_transfer"] * 3 + ["cheque", "card"]),
                "reference": f"R{self.rng.randrange(10**8):08d}",
                "updated_at": stamps.stored(changed or self.moment(day, tz)),
                "tz": tz,
            }
        )
        self.next_payment += 1

    def credit(self, key: str, currency: str, tz: str, terms: str) -> None:
        rng = self.rng
        exposure = self.open_cents.get(key, 0)
        limit = max(30_000_00, round(exposure * rng.uniform(0.9, 2.5), -5))
        reason = (
            "overdue"
            if key in self.overdue
            else "over credit limit"
            if exposure > limit
            else "manual hold"
            if rng.random() < 0.01
            else None
        )
        changed = self.moment(self.as_of - timedelta(days=rng.randint(0, 300)), tz)
        self.rows["credit_accounts"].append(
            {
                "customer_id": key,
                "credit_limit_cents": limit,
                "balance_cents": exposure,
                "on_hold": reason is not None,
                "hold_reason": reason,
                "payment_terms": terms,
                "risk_rating": "D" if key in self.overdue else rng.choice("AABBC"),
                "currency": currency,
                "updated_at": stamps.stored(changed),
                "tz": tz,
            }
        )

    def stock(self) -> None:
        rng = self.rng
        # the nightly stock job wrote every row of a location at one moment: many ties
        for location, tz in LOCATIONS.items():
            night = stamps.stored(stamps.local(self.as_of, time(2), tz))
            for item in self.items:
                if location == "WH-HAM" and rng.random() < 0.6:
                    continue
                on_hand = rng.randint(0, 4000) * 1000
                self.rows["stock"].append(
                    {
                        "sku": item.sku,
                        "location": location,
                        "description": item.description,
                        "category": item.category,
                        "on_hand_milli": on_hand,
                        "reserved_milli": rng.randint(0, on_hand // 1000) * 1000,
                        "incoming_milli": rng.choice([0, 0, rng.randint(1, 1500) * 1000]),
                        "updated_at": night,
                        "tz": tz,
                    }
                )


def _status_for_age(rng: random.Random, age: int) -> str:
    if rng.random() < 0.04:
        return "cancelled"
    if age > 45:
        return "invoiced"
    if age > 20:
        return rng.choice(["shipped", "invoiced"])
    if age > 7:
        return rng.choice(["confirmed", "manufacturing", "shipped"])
    return rng.choice(["draft", "confirmed"])


def generate(
    engine: Engine,
    *,
    seed: int,
    as_of: date,
    customers: int,
    population: list[TrueCustomer] | None = None,
    truth: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Fill the ERP with ``customers`` customers and their history up to ``as_of``.

    ``population`` is the list of true customers to draw from (default: the universe of
    ``seed``, twice as many as needed); ``truth``, when given, receives (customer id, true
    id) for every customer record, duplicates included. Returns the rows written per table.
    """
    rng = random.Random(f"rest_erp:{seed}")
    people = population if population is not None else universe.build(seed, 2 * customers)
    builder = Builder(rng, as_of)
    number = 1
    for c in pick_customers(people, customers, rng):
        copies = [c]
        if rng.random() < DUPLICATE_SHARE:
            copies.append(universe.variant(c, rng))
        for record in copies:
            key = f"CU-{number:05d}"
            number += 1
            terms = rng.choice(sorted(TERMS_DAYS))
            tz = builder.customer(key, record)
            for _ in range(max(1, round(rng.gauss(6, 2.5)))):
                entered = as_of - timedelta(days=int(rng.triangular(0, HISTORY_DAYS, 45)))
                builder.order(key, record.currency, tz, entered, terms)
            builder.credit(key, record.currency, tz, terms)
            if truth is not None:
                truth.append((key, c.true_id))
    builder.stock()
    with engine.begin() as conn:
        for table in TABLES:
            if builder.rows[table.name]:
                conn.execute(table.insert(), builder.rows[table.name])
    return {t.name: len(builder.rows[t.name]) for t in TABLES}
