"""The rows of the sample modern ERP: its catalogue, and a builder that makes partners,
orders with their lines, invoices, payments, credit and stock quants consistently.

Used by :mod:`sample_erps.modern_erp` for the history and by
:mod:`sample_erps.modern_erp_changes` for a day of activity.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sample_erps.legacy_erp import PRODUCT_LINES
from sample_erps.modern_erp_schema import (
    ACCOUNT_MOVE,
    ACCOUNT_PAYMENT,
    PARTNER,
    SALE_ORDER,
    SALE_ORDER_LINE,
    STOCK_QUANT,
)
from sample_erps.universe import TrueCustomer

LOCAL = ZoneInfo("Asia/Shanghai")  # the group's head office keys everything in this zone
LOCATIONS = ("WH/Stock", "SZ/Stock", "HK/Stock")
TERMS = {"Immediate Payment": 0, "15 Days": 15, "30 Days": 30, "45 Days": 45, "60 Days": 60}
TAX_RATE = {"CNY": Decimal("0.13"), "EUR": Decimal("0.19"), "GBP": Decimal("0.20")}
NEXT_STATE = {
    "draft": "sale",
    "sale": "production",
    "production": "delivered",
    "delivered": "invoiced",
}
HISTORY_DAYS = 3 * 365
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Product:
    """One product of the modern ERP's catalogue."""

    code: str
    category: str
    name: str
    price: Decimal


def office_moment(rng: random.Random, day: date) -> datetime:
    """A moment in the head office's working hours on ``day``, in UTC."""
    local = datetime.combine(day, time(8), LOCAL) + timedelta(seconds=rng.randrange(10 * 3600))
    return local.astimezone(UTC)


def day_end(day: date) -> datetime:
    """The last second of ``day`` in the head office's zone, in UTC."""
    return datetime.combine(day, time(23, 59, 59), LOCAL).astimezone(UTC)


def catalogue(rng: random.Random) -> list[Product]:
    """About 120 products over the product lines the group sells."""
    out = []
    for line, (english, chinese) in PRODUCT_LINES.items():
        for n in range(1, 21):
            price = Decimal(rng.randint(500, 80_000)) / 100 + Decimal(rng.choice(["0", "0.0050"]))
            out.append(Product(f"{line}-{n:03d}", english, f"{english} {chinese} #{n}", price))
    return out


class Builder:
    """Accumulates the rows of one generation run (also used for a day of changes)."""

    def __init__(self, rng: random.Random, as_of: date, ids: dict[str, int] | None = None) -> None:
        self.rng = rng
        self.as_of = as_of
        self.end = day_end(as_of)
        self.products = catalogue(random.Random("modern_erp-products"))
        self.rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
        self.next_id = dict(ids or {t.name: 1 for t in TABLES})
        self.open_orders: dict[int, Decimal] = {}
        self.open_ar: dict[int, Decimal] = {}
        self.overdue: set[int] = set()

    def new_id(self, table: str) -> int:
        """The next id of ``table``."""
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def changed(self, day: date, within_days: int = 20) -> datetime:
        """A change moment on or after ``day``, never after the end of ``as_of``."""
        moment = office_moment(self.rng, day + timedelta(days=self.rng.randint(0, within_days)))
        return min(moment, self.end)

    def partner(self, c: TrueCustomer, terms: str) -> int:
        rng = self.rng
        pid = self.new_id("res_partner")
        created = self.as_of - timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 900))
        self.rows["res_partner"].append(
            {
                "id": pid,
                "ref": f"C-{pid + 20_000}" if c.kind == "company" else None,
                "name": c.name,
                "is_company": c.kind == "company",
                "vat": c.tax_id,
                "email": c.email,
                "phone": c.phone,
                "street": c.street,
                "street2": None,
                "city": c.city,
                "state": c.region,
                "zip": c.postcode,
                "country_code": c.country,
                "currency": c.currency,
                "credit_limit": Decimal(0),  # set by credit() once orders are known
                "credit_hold": False,
                "payment_term": terms,
                "active": True,
                "create_date": office_moment(rng, created),
                "updated_at": self.changed(created, 900),
            }
        )
        return pid

    def order(
        self,
        pid: int,
        currency: str,
        entered: date,
        terms: str,
        state: str | None = None,
        changed: datetime | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        age = (self.as_of - entered).days
        state = state or state_for_age(rng, age)
        changed = changed or self.changed(entered, min(age, 25))
        oid = self.new_id("sale_order")
        untaxed = Decimal(0)
        for seq in range(1, max(1, round(rng.gauss(3, 1.2))) + 1):
            product = rng.choice(self.products)
            qty = Decimal(rng.randint(1, 120)) + Decimal(rng.choice(["0", "0", "0.5", "0.250"]))
            discount = Decimal(rng.choice([0, 0, 0, 5, 10]))
            subtotal = (qty * product.price * (100 - discount) / 100).quantize(CENT)
            untaxed += subtotal
            self.rows["sale_order_line"].append(
                {
                    "id": self.new_id("sale_order_line"),
                    "order_id": oid,
                    "sequence": seq * 10,
                    "product_code": product.code,
                    "name": product.name,
                    "product_uom_qty": qty,
                    "price_unit": product.price,
                    "discount": discount,
                    "price_subtotal": subtotal,
                    "updated_at": changed,
                }
            )
        tax = (untaxed * TAX_RATE.get(currency, Decimal(0))).quantize(CENT)
        header = {
            "id": oid,
            "name": f"S{oid:05d}",
            "partner_id": pid,
            "date_order": entered,
            "commitment_date": None if rng.random() < 0.2 else entered + timedelta(days=21),
            "state": state,
            "currency": currency,
            "amount_untaxed": untaxed,
            "amount_tax": tax,
            "amount_total": untaxed + tax,
            "updated_at": changed,
        }
        self.rows["sale_order"].append(header)
        if state in NEXT_STATE:
            self.open_orders[pid] = self.open_orders.get(pid, Decimal(0)) + header["amount_total"]
        if state == "invoiced":
            day = min(entered + timedelta(days=rng.randint(5, 20)), self.as_of)
            self.invoice(pid, header, day, terms)
        return header

    def invoice(self, pid: int, order: dict[str, Any], day: date, terms: str) -> None:
        rng = self.rng
        due = day + timedelta(days=TERMS[terms])
        total = order["amount_total"]
        late = (self.as_of - due).days
        # old invoices are nearly all paid; recent ones partly; not yet due ones not at all
        share = 0.985 if late > 120 else 0.9 if late > 20 else 0.5 if late > 0 else 0.0
        paid = total if rng.random() < share else Decimal(0)
        if paid and 20 < late <= 120 and rng.random() < 0.05:
            paid = (total / 2).quantize(CENT)  # partly paid
        mid = self.new_id("account_move")
        changed = self.changed(day, 0)
        if paid:
            pay_day = max(min(due + timedelta(days=rng.randint(-10, 12)), self.as_of), day)
            changed = max(changed, min(office_moment(rng, pay_day), self.end))
            self.payment(pid, mid, pay_day, paid, order["currency"])
        residual = total - paid
        if residual:
            self.open_ar[pid] = self.open_ar.get(pid, Decimal(0)) + residual
            if late > 60:
                self.overdue.add(pid)
        self.rows["account_move"].append(
            {
                "id": mid,
                "name": f"INV/{day.year}/{mid:05d}",
                "partner_id": pid,
                "sale_order_id": order["id"],
                "invoice_date": day,
                "invoice_date_due": due,
                "amount_total": total,
                "amount_residual": residual,
                "currency": order["currency"],
                "payment_state": "paid" if not residual else "partial" if paid else "not_paid",
                "updated_at": changed,
            }
        )

    def payment(self, pid: int, mid: int, day: date, amount: Decimal, currency: str) -> None:
        payment_id = self.new_id("account_payment")
        self.rows["account_payment"].append(
            {
                "id": payment_id,
                "name": f"PBNK1/{day.year}/{payment_id:05d}",
                "partner_id": pid,
                "move_id": mid,
                "date": day,
                "amount": amount,
                "currency": currency,
                "journal": self.rng.choice(["bank", "bank", "bank", "cash", "card"]),
                "updated_at": min(office_moment(self.rng, day), self.end),
            }
        )

    def credit(self, partner: dict[str, Any]) -> None:
        pid = partner["id"]
        exposure = self.open_ar.get(pid, Decimal(0)) + self.open_orders.get(pid, Decimal(0))
        factor = Decimal(str(round(self.rng.uniform(1.0, 2.5), 2)))
        partner["credit_limit"] = max(Decimal(50_000), (exposure * factor).quantize(Decimal(1000)))
        partner["credit_hold"] = pid in self.overdue or exposure > partner["credit_limit"]

    def quants(self) -> None:
        rng = self.rng
        for product in self.products:
            for location in LOCATIONS:
                if location == "HK/Stock" and rng.random() < 0.6:
                    continue
                on_hand = Decimal(rng.randint(0, 4000))
                self.rows["stock_quant"].append(
                    {
                        "id": self.new_id("stock_quant"),
                        "product_code": product.code,
                        "product_name": product.name,
                        "product_category": product.category,
                        "location": location,
                        "quantity": on_hand,
                        "reserved_quantity": Decimal(rng.randint(0, int(on_hand))),
                        "incoming_quantity": Decimal(rng.choice([0, 0, rng.randint(1, 900)])),
                        "updated_at": self.changed(self.as_of - timedelta(days=60), 60),
                    }
                )


TABLES = (PARTNER, SALE_ORDER, SALE_ORDER_LINE, STOCK_QUANT, ACCOUNT_MOVE, ACCOUNT_PAYMENT)
LABELS = {
    "res_partner": "customers",
    "sale_order": "orders",
    "sale_order_line": "order lines",
    "stock_quant": "stock quants",
    "account_move": "invoices",
    "account_payment": "payments",
}


def state_for_age(rng: random.Random, age: int) -> str:
    """A plausible state for an order entered ``age`` days ago."""
    if rng.random() < 0.05:
        return "cancel"
    if age > 60:
        return "invoiced"
    if age > 30:
        return rng.choice(["delivered", "invoiced"])
    if age > 10:
        return rng.choice(["sale", "production", "delivered"])
    return rng.choice(["draft", "sale", "production"])
