"""Data for the sample legacy ERP: three years of a B2B manufacturer's back office.

:func:`generate` fills the nine files of :mod:`sample_erps.legacy_erp_schema` with
customers drawn from :mod:`sample_erps.universe` (about 2% entered twice, as another clerk
typed them), about 8 orders per customer with 3.5 lines each, invoices and payments for what
was invoiced, item balances per warehouse and credit per customer. :func:`apply_changes`
is one day of activity after that, stamped later than anything before, so an incremental
sync picks up exactly it. The same seed gives the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, select, update

from mappings.legacy_dates import cyyddd, stamp, yyyymmdd
from sample_erps import legacy_shipments, universe
from sample_erps.legacy_erp_schema import (
    ECH,
    ECL,
    ILI,
    ISN,
    RAR,
    RCM,
    RCN,
    RCR,
    RPY,
    create_schema,
)
from sample_erps.universe import TrueCustomer

__all__ = ["apply_changes", "create_schema", "generate"]

WAREHOUSES = ("SH1", "SZ1", "HAM")
PRODUCT_LINES = {
    "BRG": ("Bearing", "轴承"),
    "MTR": ("Motor", "电机"),
    "VLV": ("Valve", "阀门"),
    "SEN": ("Sensor", "传感器"),
    "CBL": ("Cable", "电缆"),
    "PMP": ("Pump", "泵"),
}
TERMS_DAYS = {"N30": 30, "N45": 45, "N60": 60, "COD": 0}
NEXT_STATUS = {"E": "C", "C": "P", "P": "S", "S": "I"}
DUPLICATE_SHARE = 0.02
HISTORY_DAYS = 3 * 365


@dataclass(frozen=True)
class Item:
    """One stocked item."""

    item_id: str
    line: str
    description: str
    price_4dp: int


def pad(value: str | None, width: int) -> str:
    """A CHAR(width) value as the database holds it: cut to width, padded with blanks."""
    return (value or "")[:width].ljust(width)


def _moment(rng: random.Random, day: date) -> datetime:
    """A time in office hours on ``day``."""
    return datetime.combine(day, time(8)) + timedelta(seconds=rng.randrange(10 * 3600))


def _items(rng: random.Random) -> list[Item]:
    items = []
    for line, (english, chinese) in PRODUCT_LINES.items():
        for n in range(1, 31):
            size = rng.choice([10, 16, 20, 25, 32, 40, 50, 63, 80, 100])
            description = f"{chinese} {english} {line}-{size}/{n:02d}"
            price = rng.randint(5, 800) * 10_000 + rng.choice([0, 2500, 5000, 9900])
            items.append(Item(f"{line}{n:04d}-{size}", line, description, price))
    return items


def _customer_row(key: str, c: TrueCustomer, created: date, changed: datetime) -> dict[str, Any]:
    chgd, chgt = stamp(changed)
    street2 = "" if c.country != "CN" else ("" if len(c.street) < 10 else "B座")
    return {
        "CCUST": pad(key, 10),
        "CTYPE": "C" if c.kind == "company" else "P",
        "CNME": pad(c.name, 50),
        "CTAXID": pad(c.tax_id, 20),
        "CEMAIL": pad(c.email, 60),
        "CPHON": pad(c.phone, 20),
        "CAD1": pad(c.street, 40),
        "CAD2": pad(street2, 40),
        "CCITY": pad(c.city, 30),
        "CSTE": pad(c.region, 30),
        "CZIP": pad(c.postcode, 10),
        "CCTRY": c.country,
        "CCUR": c.currency,
        "CSTAT": "A",
        "CCRDT": cyyddd(created),
        "CCHGD": chgd,
        "CCHGT": chgt,
    }


class _Builder:
    """Accumulates the rows of one generation run."""

    def __init__(self, rng: random.Random, as_of: date) -> None:
        self.rng = rng
        self.as_of = as_of
        self.end = datetime.combine(as_of, time(23, 59, 59))
        self.items = _items(rng)
        self.by_line: dict[str, list[Item]] = {}
        for item in self.items:
            self.by_line.setdefault(item.line, []).append(item)
        self.rows: dict[str, list[dict[str, Any]]] = {
            t.name: [] for t in (RCM, ECH, ECL, ILI, RCR, RAR, RPY, RCN)
        }
        self.open_ar: dict[str, int] = {}
        self.open_orders: dict[str, int] = {}
        self.long_overdue: set[str] = set()
        self.next_order = 100_001
        self.next_invoice = 500_001
        self.next_payment = 900_001

    def changed(self, day: date, within_days: int = 20) -> datetime:
        """A change moment on or after ``day`` and never after the end of ``as_of``."""
        moment = _moment(self.rng, day + timedelta(days=self.rng.randint(0, within_days)))
        return min(moment, self.end)

    def customer(self, key: str, c: TrueCustomer) -> None:
        created = self.as_of - timedelta(days=self.rng.randint(HISTORY_DAYS, HISTORY_DAYS + 2000))
        self.rows["RCM"].append(_customer_row(key, c, created, self.changed(created, 900)))

    def orders(self, key: str, c: TrueCustomer, terms: str) -> None:
        rng = self.rng
        lines = rng.sample(sorted(PRODUCT_LINES), rng.randint(1, 3))
        # about a third of customers stopped buying one product line a year ago ("lapsed")
        lapsed = lines[0] if len(lines) > 1 and rng.random() < 0.35 else None
        for _ in range(max(1, round(rng.gauss(8, 3)))):
            entered = self.as_of - timedelta(days=int(rng.triangular(0, HISTORY_DAYS, 60)))
            self.order(key, c, entered, lines, lapsed, terms)

    def order(
        self,
        key: str,
        c: TrueCustomer,
        entered: date,
        lines: list[str],
        lapsed: str | None,
        terms: str,
        status: str | None = None,
        changed: datetime | None = None,
    ) -> dict[str, Any]:
        rng = self.rng
        age = (self.as_of - entered).days
        if status is None:
            status = _status_for_age(rng, age)
        changed = changed or self.changed(entered, min(age, 25))
        chgd, chgt = stamp(changed)
        order_no = self.next_order
        self.next_order += 1
        usable = [ln for ln in lines if ln != lapsed or age > 365] or lines
        total = 0
        for line_no in range(1, max(1, round(rng.gauss(3.5, 1.5))) + 1):
            item = rng.choice(self.by_line[rng.choice(usable)])
            qty = rng.randint(1, 200) * 1000 + rng.choice([0, 0, 0, 500])
            net = round(qty * item.price_4dp / 1000 / 100)
            total += net
            self.rows["ECL"].append(
                {
                    "LORD": order_no,
                    "LLINE": line_no,
                    "LPROD": pad(item.item_id, 15),
                    "LDESC": pad(item.description, 40),
                    "LQORD": qty,
                    "LPRIC": item.price_4dp,
                    "LNETA": net,
                    "LSTAT": status,
                    "LCHGD": chgd,
                    "LCHGT": chgt,
                }
            )
        requested = entered + timedelta(days=rng.randint(7, 45))
        header = {
            "HORD": order_no,
            "HCUST": pad(key, 10),
            "HEDTE": cyyddd(entered),
            "HRDTE": 0 if rng.random() < 0.03 else yyyymmdd(requested),
            "HSTAT": status,
            # older CN orders leave the currency blank: it means the home currency
            "HCUR": "   " if c.currency == "CNY" and rng.random() < 0.3 else c.currency,
            "HTOTL": total,
            "HCHGD": chgd,
            "HCHGT": chgt,
        }
        self.rows["ECH"].append(header)
        if status in "ECPS":
            self.open_orders[key] = self.open_orders.get(key, 0) + total
        if status == "I":
            self.invoice(key, c, header, entered + timedelta(days=rng.randint(5, 20)), terms)
        return header

    def invoice(
        self, key: str, c: TrueCustomer, order: dict[str, Any], day: date, terms: str
    ) -> None:
        rng = self.rng
        day = min(day, self.as_of)
        due = day + timedelta(days=TERMS_DAYS[terms])
        amount = order["HTOTL"]
        overdue_days = (self.as_of - due).days
        # most invoices are paid around their due date; some late payers stay open
        paid_share = 1.0 if overdue_days > 20 and rng.random() < 0.93 else 0.0
        if 0 < overdue_days <= 20 and rng.random() < 0.5:
            paid_share = 1.0
        if paid_share == 1.0 and rng.random() < 0.06:
            paid_share = 0.5  # partly paid
        paid = round(amount * paid_share)
        changed = self.changed(day, 0)
        if paid:
            pay_day = min(due + timedelta(days=rng.randint(-10, 15)), self.as_of)
            pay_day = max(pay_day, day)
            changed = max(changed, min(_moment(rng, pay_day), self.end))
            self.payment(key, c, self.next_invoice, pay_day, paid)
        chgd, chgt = stamp(changed)
        if amount > paid:
            self.open_ar[key] = self.open_ar.get(key, 0) + amount - paid
            if overdue_days > 90:
                self.long_overdue.add(key)
        self.rows["RAR"].append(
            {
                "RINVN": self.next_invoice,
                "RCUST": pad(key, 10),
                "RORD": order["HORD"],
                "RIDTE": cyyddd(day),
                "RDDTE": cyyddd(due),
                "RAMT": amount,
                "ROPEN": amount - paid,
                "RCUR": c.currency,
                "RSTAT": "P" if paid == amount else "O",
                "RCHGD": chgd,
                "RCHGT": chgt,
            }
        )
        self.next_invoice += 1

    def payment(self, key: str, c: TrueCustomer, invoice: int, day: date, amount: int) -> None:
        chgd, chgt = stamp(min(_moment(self.rng, day), self.end))
        self.rows["RPY"].append(
            {
                "PPAYN": self.next_payment,
                "PCUST": pad(key, 10),
                "PINVN": invoice,
                "PDATE": yyyymmdd(day),
                "PAMT": amount,
                "PCUR": c.currency,
                "PMETH": self.rng.choice(["WT", "WT", "WT", "CK", "CC"]),
                "PREF": f"REF{self.rng.randrange(10**9):09d}",
                "PCHGD": chgd,
                "PCHGT": chgt,
            }
        )
        self.next_payment += 1

    def credit(self, key: str, c: TrueCustomer, terms: str) -> None:
        rng = self.rng
        exposure = self.open_ar.get(key, 0) + self.open_orders.get(key, 0)
        limit = max(50_000_00, round(exposure * rng.uniform(0.8, 2.5), -5))
        overdue = key in self.long_overdue
        reason = "OD" if overdue else "CL" if exposure > limit else ""
        if not reason and rng.random() < 0.01:
            reason = "MN"
        chgd, chgt = stamp(self.changed(self.as_of - timedelta(days=rng.randint(0, 400)), 0))
        self.rows["RCR"].append(
            {
                "CCUST": pad(key, 10),
                "CRLIM": limit,
                "CREXP": exposure,
                "CHOLD": "Y" if reason else "N",
                "CHRSN": pad(reason, 2),
                "CTRMS": terms,
                "CRISK": "D" if overdue else rng.choice("AABBBC"),
                "CCUR": c.currency,
                "CCHGD": chgd,
                "CCHGT": chgt,
            }
        )

    def inventory(self) -> None:
        rng = self.rng
        for item in self.items:
            for wh in WAREHOUSES:
                if wh == "HAM" and rng.random() < 0.5:
                    continue
                on_hand = rng.randint(0, 5000) * 1000
                chgd, chgt = stamp(self.changed(self.as_of - timedelta(days=rng.randint(0, 60)), 0))
                self.rows["ILI"].append(
                    {
                        "LPROD": pad(item.item_id, 15),
                        "LWHS": wh,
                        "LDESC": pad(item.description, 40),
                        "LPLIN": pad(item.line, 4),
                        "LOPB": on_hand,
                        "LIALC": rng.randint(0, on_hand // 1000) * 1000 if on_hand else 0,
                        "LIORD": rng.choice([0, 0, rng.randint(1, 2000) * 1000]),
                        "LCHGD": chgd,
                        "LCHGT": chgt,
                    }
                )


def _status_for_age(rng: random.Random, age: int) -> str:
    if rng.random() < 0.04:
        return "X"
    if age > 60:
        return "I"
    if age > 30:
        return rng.choice("SI")
    if age > 10:
        return rng.choice("CPS")
    return rng.choice("ECP")


def generate(
    engine: Engine,
    *,
    seed: int,
    as_of: date,
    customers: int,
    population: list[TrueCustomer] | None = None,
    truth: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Fill the sample ERP with ``customers`` customers and their history up to ``as_of``.

    ``population`` is the list of true customers to draw from (default: the universe of
    ``seed``); ``truth``, when given, receives (customer number, true id) for every
    customer record, duplicates included. Returns the rows written per table.
    """
    rng = random.Random(f"legacy_erp:{seed}")
    people = population if population is not None else universe.build(seed, customers)
    builder = _Builder(rng, as_of)
    number = 10_001
    for c in people[:customers]:
        copies = [c]
        if rng.random() < DUPLICATE_SHARE:
            copies.append(universe.variant(c, rng))
        for record in copies:
            key = f"C{number:06d}"
            number += 1
            terms = rng.choice(["N30", "N30", "N45", "N60", "COD"])
            builder.customer(key, record)
            builder.orders(key, record, terms)
            builder.credit(key, record, terms)
            if truth is not None:
                truth.append((key, c.true_id))
    builder.inventory()
    _concessions(builder, random.Random(f"legacy_erp:concessions:{seed}"))
    with engine.begin() as conn:
        _insert_rows(conn, builder, (RCM, ECH, ECL, ILI, RCR, RAR, RPY, RCN))
        shipped = legacy_shipments.ship(conn, seed=seed, as_of=as_of)
    counts = {_LABELS[name]: len(rows) for name, rows in builder.rows.items()}
    return {**counts, "serial numbers": shipped}


APPROVERS = ("王建国", "李秀英", "Anna Schmidt", "张伟")
CONCESSION_REASONS = (
    "年度框架协议返利",
    "交货延迟补偿",
    "volume commitment 2026",
    "quality claim on delivery",
)


def _concessions(builder: _Builder, rng: random.Random) -> None:
    """Price concessions finance has on its books for about 3% of the customers (their own
    random stream, so the rest of the data does not depend on them)."""
    for n, customer in enumerate(r for r in builder.rows["RCM"] if rng.random() < 0.03):
        percent = rng.random() < 0.5
        start = builder.as_of - timedelta(days=rng.randint(0, 300))
        chgd, chgt = stamp(min(_moment(rng, start), builder.end))
        builder.rows["RCN"].append(
            {
                "NREF": pad(f"FIN-{n + 1:06d}", 24),
                "NCUST": customer["CCUST"],
                "NORD": pad(None, 10),
                "NTYPE": "P" if percent else "A",
                "NAMT": None if percent else rng.randint(5, 500) * 10_000,
                "NPCT": rng.choice([250, 500, 750, 1000]) if percent else None,
                "NCUR": "   " if percent else customer["CCUR"],
                "NRSN": rng.choice(CONCESSION_REASONS),
                "NAPPR": pad(rng.choice(APPROVERS), 40),
                "NFDT": yyyymmdd(start),
                "NTDT": 0 if rng.random() < 0.5 else yyyymmdd(start + timedelta(days=365)),
                "NSTAT": rng.choice("ABBE"),
                "NCHGD": chgd,
                "NCHGT": chgt,
            }
        )


_LABELS = {
    "RCM": "customers",
    "ECH": "orders",
    "ECL": "order lines",
    "ILI": "item balances",
    "RCR": "credit records",
    "RAR": "invoices",
    "RPY": "payments",
    "RCN": "concessions",
}
_CHANGE_STAMPS = {
    RCM: "C",
    ECH: "H",
    ECL: "L",
    ILI: "L",
    RCR: "C",
    RAR: "R",
    RPY: "P",
    RCN: "N",
    ISN: "S",
}


class _Clock:
    """Hands out change moments on ``as_of``, each later than every stamp in the ERP."""

    def __init__(self, conn: Connection, as_of: date) -> None:
        latest = max(_latest_stamp(conn, t, p) for t, p in _CHANGE_STAMPS.items())
        start = datetime.combine(as_of, time(8))
        self.now = max(start, latest + timedelta(seconds=1))
        self.end = datetime.combine(as_of, time(23, 59, 59))
        if self.now.date() != as_of or self.now > self.end:
            raise ValueError(f"the sample ERP already has changes after {as_of}")

    def tick(self) -> datetime:
        """The next change moment (7 seconds after the last, never past the day's end)."""
        moment = self.now
        self.now = min(self.now + timedelta(seconds=7), self.end)
        return moment


def _latest_stamp(conn: Connection, table: Table, prefix: str) -> datetime:
    day, clock = f"{prefix}CHGD", f"{prefix}CHGT"
    row = conn.execute(
        select(table.c[day], func.max(table.c[clock]))
        .where(table.c[day] == select(func.max(table.c[day])).scalar_subquery())
        .group_by(table.c[day])
    ).first()
    if row is None:
        return datetime.min
    d, t = int(row[0]), int(row[1])
    return datetime(d // 10_000, d // 100 % 100, d % 100, t // 10_000, t // 100 % 100, t % 100)


def apply_changes(
    engine: Engine, *, seed: int, as_of: date, fraction: float = 0.02
) -> dict[str, int]:
    """One day of back-office activity on ``as_of``: new orders, orders moving on, invoices,
    payments, stock moves, credit decisions and edited customers (about ``fraction`` of each).

    Every changed row gets a stamp later than any stamp already in the ERP.
    """
    rng = random.Random(f"legacy_erp-changes:{seed}:{as_of}")
    with engine.begin() as conn:
        clock = _Clock(conn, as_of)
        counts = {
            "new orders": _new_orders(conn, rng, clock, as_of, fraction),
            "orders moved on": _advance_orders(conn, rng, clock, as_of, fraction),
            "payments": _payments(conn, rng, clock, as_of, fraction),
            "stock moves": _stock_moves(conn, rng, clock, fraction),
            "credit changes": _credit_changes(conn, rng, clock, fraction),
            "customer edits": _customer_edits(conn, rng, clock, fraction),
            **legacy_shipments.apply_changes(conn, rng, clock.tick, as_of, fraction),
        }
        today = int(as_of.strftime("%Y%m%d"))  # what changed today stays
        purged, their_orders = _delete_customers(conn, rng, today)
        counts["orders deleted"] = _delete_orders(conn, rng, today) + their_orders
        counts["customers deleted"] = purged
    return counts


#: Orders purged on a day of changes (with their lines), and customers purged.
ORDERS_DELETED = 3
CUSTOMERS_DELETED = 1


def _delete_orders(
    conn: Connection, rng: random.Random, today: int, n: int = ORDERS_DELETED
) -> int:
    """Purge a few orders never invoiced nor changed ``today``, header (``ECH``) and lines
    (``ECL``): records gone from the file, as a legacy system's purge leaves them (no trace
    to read)."""
    invoiced = select(RAR.c.RORD)
    candidates = conn.execute(
        select(ECH.c.HORD)
        .where(ECH.c.HORD.not_in(invoiced), ECH.c["HCHGD"] < today)
        .order_by(ECH.c.HORD)
    ).scalars()
    picked = rng.sample(list(candidates), n) if n else []
    if picked:
        conn.execute(ECL.delete().where(ECL.c.LORD.in_(picked)))
        conn.execute(ECH.delete().where(ECH.c.HORD.in_(picked)))
    return len(picked)


def _delete_customers(
    conn: Connection, rng: random.Random, today: int, n: int = CUSTOMERS_DELETED
) -> tuple[int, int]:
    """Purge a few customers and everything on file for them: master (``RCM``), credit
    (``RCR``), orders and lines, invoices and payments; return the customers and the
    orders purged. Picked among the later customer numbers without concessions and
    without anything changed ``today`` (the demo's CRM side works with the first ones)."""
    keep = {
        *conn.execute(select(RCN.c.NCUST)).scalars(),
        *conn.execute(select(ECH.c.HCUST).where(ECH.c["HCHGD"] >= today)).scalars(),
        *conn.execute(select(RAR.c.RCUST).where(RAR.c["RCHGD"] >= today)).scalars(),
        *conn.execute(select(RPY.c.PCUST).where(RPY.c["PCHGD"] >= today)).scalars(),
        *conn.execute(select(RCM.c.CCUST).where(RCM.c["CCHGD"] >= today)).scalars(),
        *conn.execute(select(RCR.c.CCUST).where(RCR.c["CCHGD"] >= today)).scalars(),
    }
    numbers = [c for c in conn.execute(select(RCM.c.CCUST).order_by(RCM.c.CCUST)).scalars()]
    later = [c for c in numbers[len(numbers) // 2 :] if c not in keep]
    picked = rng.sample(later, min(n, len(later)))
    if not picked:
        return 0, 0
    orders = list(conn.execute(select(ECH.c.HORD).where(ECH.c.HCUST.in_(picked))).scalars())
    conn.execute(ECL.delete().where(ECL.c.LORD.in_(orders)))
    conn.execute(ECH.delete().where(ECH.c.HORD.in_(orders)))
    conn.execute(RPY.delete().where(RPY.c.PCUST.in_(picked)))
    conn.execute(RAR.delete().where(RAR.c.RCUST.in_(picked)))
    conn.execute(RCR.delete().where(RCR.c.CCUST.in_(picked)))
    conn.execute(RCM.delete().where(RCM.c.CCUST.in_(picked)))
    return len(picked), len(orders)


def _sample(rng: random.Random, rows: list[Any], fraction: float) -> list[Any]:
    return rng.sample(rows, max(1, round(len(rows) * fraction))) if rows else []


def _customer_of(row: Any) -> TrueCustomer:
    return TrueCustomer(
        true_id="",
        kind="company" if row.CTYPE == "C" else "person",
        name=row.CNME.strip(),
        tax_id=row.CTAXID.strip() or None,
        email=row.CEMAIL.strip(),
        phone=row.CPHON.strip(),
        street=row.CAD1.strip(),
        city=row.CCITY.strip(),
        region=row.CSTE.strip(),
        postcode=row.CZIP.strip(),
        country=row.CCTRY.strip(),
        currency=row.CCUR.strip(),
    )


def _insert_rows(conn: Connection, builder: _Builder, tables: Iterable[Table]) -> None:
    for t in tables:
        if builder.rows[t.name]:
            conn.execute(t.insert(), builder.rows[t.name])


def _new_orders(
    conn: Connection, rng: random.Random, clock: _Clock, as_of: date, fraction: float
) -> int:
    customers = conn.execute(select(RCM).order_by(RCM.c.CCUST)).all()
    terms = dict(conn.execute(select(RCR.c.CCUST, RCR.c.CTRMS)).all())
    builder = _Builder(rng, as_of)
    builder.next_order = int(conn.execute(select(func.max(ECH.c.HORD))).scalar() or 100_000) + 1
    picked = _sample(rng, customers, fraction)
    for row in picked:
        moment = clock.tick()
        lines = rng.sample(sorted(PRODUCT_LINES), rng.randint(1, 2))
        builder.order(
            row.CCUST.strip(),
            _customer_of(row),
            as_of,
            lines,
            None,
            terms.get(row.CCUST, "N30"),
            status="E",
            changed=moment,
        )
    _insert_rows(conn, builder, (ECH, ECL))
    return len(picked)


def _advance_orders(
    conn: Connection, rng: random.Random, clock: _Clock, as_of: date, fraction: float
) -> int:
    open_orders = conn.execute(
        select(ECH).where(ECH.c.HSTAT.in_(list(NEXT_STATUS))).order_by(ECH.c.HORD)
    ).all()
    picked = _sample(rng, open_orders, fraction * 10)
    next_invoice = int(conn.execute(select(func.max(RAR.c.RINVN))).scalar() or 500_000) + 1
    for order in picked:
        status = NEXT_STATUS[order.HSTAT]
        chgd, chgt = stamp(clock.tick())
        conn.execute(
            update(ECH).where(ECH.c.HORD == order.HORD).values(HSTAT=status, HCHGD=chgd, HCHGT=chgt)
        )
        conn.execute(
            update(ECL).where(ECL.c.LORD == order.HORD).values(LSTAT=status, LCHGD=chgd, LCHGT=chgt)
        )
        if status == "I":
            terms = conn.execute(select(RCR.c.CTRMS).where(RCR.c.CCUST == order.HCUST)).scalar()
            currency = order.HCUR.strip() or "CNY"
            conn.execute(
                RAR.insert().values(
                    RINVN=next_invoice,
                    RCUST=order.HCUST,
                    RORD=order.HORD,
                    RIDTE=cyyddd(as_of),
                    RDDTE=cyyddd(as_of + timedelta(days=TERMS_DAYS.get(terms or "N30", 30))),
                    RAMT=order.HTOTL,
                    ROPEN=order.HTOTL,
                    RCUR=currency,
                    RSTAT="O",
                    RCHGD=chgd,
                    RCHGT=chgt,
                )
            )
            next_invoice += 1
    return len(picked)


def _payments(
    conn: Connection, rng: random.Random, clock: _Clock, as_of: date, fraction: float
) -> int:
    open_items = conn.execute(select(RAR).where(RAR.c.ROPEN > 0).order_by(RAR.c.RINVN)).all()
    picked = _sample(rng, open_items, fraction * 5)
    next_payment = int(conn.execute(select(func.max(RPY.c.PPAYN))).scalar() or 900_000) + 1
    for item in picked:
        chgd, chgt = stamp(clock.tick())
        conn.execute(
            update(RAR)
            .where(RAR.c.RINVN == item.RINVN)
            .values(ROPEN=0, RSTAT="P", RCHGD=chgd, RCHGT=chgt)
        )
        conn.execute(
            RPY.insert().values(
                PPAYN=next_payment,
                PCUST=item.RCUST,
                PINVN=item.RINVN,
                PDATE=yyyymmdd(as_of),
                PAMT=item.ROPEN,
                PCUR=item.RCUR,
                PMETH=rng.choice(["WT", "CK", "CC"]),
                PREF=f"REF{rng.randrange(10**9):09d}",
                PCHGD=chgd,
                PCHGT=chgt,
            )
        )
        next_payment += 1
    return len(picked)


def _stock_moves(conn: Connection, rng: random.Random, clock: _Clock, fraction: float) -> int:
    balances = conn.execute(select(ILI).order_by(ILI.c.LPROD, ILI.c.LWHS)).all()
    picked = _sample(rng, balances, fraction * 5)
    for row in picked:
        chgd, chgt = stamp(clock.tick())
        on_hand = max(0, int(row.LOPB) + rng.randint(-300, 500) * 1000)
        conn.execute(
            update(ILI)
            .where(ILI.c.LPROD == row.LPROD, ILI.c.LWHS == row.LWHS)
            .values(LOPB=on_hand, LIALC=min(int(row.LIALC), on_hand), LCHGD=chgd, LCHGT=chgt)
        )
    return len(picked)


def _credit_changes(conn: Connection, rng: random.Random, clock: _Clock, fraction: float) -> int:
    records = conn.execute(select(RCR).order_by(RCR.c.CCUST)).all()
    picked = _sample(rng, records, fraction)
    for row in picked:
        chgd, chgt = stamp(clock.tick())
        if row.CHOLD == "Y" and row.CHRSN != "OD":
            values = {"CHOLD": "N", "CHRSN": "  "}  # released by credit control
        elif rng.random() < 0.3:
            values = {"CHOLD": "Y", "CHRSN": "MN"}
        else:
            values = {"CRLIM": round(int(row.CRLIM) * rng.choice([0.8, 1.25, 1.5]), -5)}
        conn.execute(
            update(RCR).where(RCR.c.CCUST == row.CCUST).values(CCHGD=chgd, CCHGT=chgt, **values)
        )
    return len(picked)


def _customer_edits(conn: Connection, rng: random.Random, clock: _Clock, fraction: float) -> int:
    records = conn.execute(select(RCM).order_by(RCM.c.CCUST)).all()
    picked = _sample(rng, records, fraction / 2)
    for row in picked:
        chgd, chgt = stamp(clock.tick())
        phone = row.CPHON.strip()
        new_phone = phone[:-4] + f"{rng.randint(0, 9999):04d}" if len(phone) > 4 else phone
        conn.execute(
            update(RCM)
            .where(RCM.c.CCUST == row.CCUST)
            .values(CPHON=pad(new_phone, 20), CCHGD=chgd, CCHGT=chgt)
        )
    return len(picked)
