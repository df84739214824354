"""The legacy ERP's serial-number file (``ISN``): what was shipped to whom, and since.

Motors, pumps and valves are serial-numbered: every shipped or invoiced order line of those
product lines gets one serial record (the line's quantity as one lot), shipped a few days
after the order, installed at one of the customer's sites some weeks later (or not known),
with a warranty of one or two years and, for about a third, a service contract. A motor
shipped on the same order as a pump is recorded as part of it. :func:`ship` fills the file
from the orders already there; :func:`apply_changes` is one day of shipments,
installations and contract renewals, stamped by the ERP's change clock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from mappings.legacy_dates import cyyddd, stamp, yyyymmdd
from sample_erps.legacy_erp_schema import ECH, ECL, ISN, RCM

SERIALISED = ("MTR", "PMP", "VLV")
#: share of the serialised lines the file holds (older shipments were not recorded)
RECORDED_SHARE = 0.4
SITES = ("一号厂区", "二号车间", "Plant 2", "Warehouse", "总部", "Line 3")


def _pad(value: str | None, width: int) -> str:
    return (value or "")[:width].ljust(width)


def _from_cyyddd(value: int) -> date:
    year = 1900 + value // 1000
    return date(year, 1, 1) + timedelta(days=value % 1000 - 1)


def _shipped_lines(conn: Connection, statuses: tuple[str, ...]) -> list[Any]:
    stmt = (
        select(ECL.c.LORD, ECL.c.LLINE, ECL.c.LPROD, ECL.c.LDESC, ECL.c.LQORD, ECH.c.HCUST)
        .add_columns(ECH.c.HEDTE, RCM.c.CCITY)
        .select_from(ECH)
        .join(ECL, ECL.c.LORD == ECH.c.HORD)
        .join(RCM, RCM.c.CCUST == ECH.c.HCUST)
        .where(ECL.c.LSTAT.in_(statuses))
        .order_by(ECL.c.LORD, ECL.c.LLINE)
    )
    return [r for r in conn.execute(stmt) if r.LPROD[:3] in SERIALISED]


def _asset(
    rng: random.Random, line: Any, shipped: date, as_of: date, changed: datetime
) -> dict[str, Any]:
    installed = shipped + timedelta(days=rng.randint(5, 40))
    known = installed <= as_of and rng.random() < 0.8
    warranty_end = shipped + timedelta(days=365 * rng.choice([1, 2, 2]))
    contract = rng.random() < 0.35
    contract_end = shipped + timedelta(days=rng.randint(300, 4 * 365))
    age = (as_of - shipped).days
    roll = rng.random()
    status = "S" if age > 700 and roll < 0.04 else "R" if roll < 0.02 else "A"
    chgd, chgt = stamp(changed)
    order, line_no = int(line.LORD), int(line.LLINE)
    return {
        "SSER": _pad(f"{line.LPROD[:3]}{shipped:%y}{order:07d}{line_no:02d}", 20),
        "SCUST": line.HCUST,
        "SPROD": line.LPROD,
        "SDESC": line.LDESC,
        "SORD": order,
        "SQTY": int(line.LQORD),
        "SSHDT": cyyddd(shipped),
        "SINDT": yyyymmdd(installed) if known else 0,
        "SSITE": _pad(f"{line.CCITY.strip()} {rng.choice(SITES)}" if known else "", 40),
        "SWEND": yyyymmdd(warranty_end),
        "SCTR": _pad(f"SC{order:07d}" if contract else "", 12),
        "SCEND": yyyymmdd(contract_end) if contract else 0,
        "SPAR": _pad("", 20),
        "SSTAT": status,
        "SCHGD": chgd,
        "SCHGT": chgt,
    }


def _parents(rows: list[dict[str, Any]]) -> None:
    """A motor shipped on an order with a pump is part of that pump."""
    pumps: dict[int, str] = {}
    for row in rows:
        if row["SSER"].startswith("PMP"):
            pumps.setdefault(row["SORD"], row["SSER"])
    for row in rows:
        if row["SSER"].startswith("MTR") and row["SORD"] in pumps:
            row["SPAR"] = pumps[row["SORD"]]


def ship(conn: Connection, *, seed: int, as_of: date) -> int:
    """Fill the serial-number file from the shipped and invoiced orders; rows written."""
    rng = random.Random(f"legacy_erp:shipments:{seed}")
    end = datetime.combine(as_of, time(23, 59, 59))
    rows = []
    for line in _shipped_lines(conn, ("S", "I")):
        if rng.random() >= RECORDED_SHARE:
            continue
        entered = _from_cyyddd(int(line.HEDTE))
        shipped = min(entered + timedelta(days=rng.randint(3, 20)), as_of)
        changed = datetime.combine(shipped, time(9)) + timedelta(seconds=rng.randrange(30_000))
        rows.append(_asset(rng, line, shipped, as_of, min(changed, end)))
    _parents(rows)
    if rows:
        conn.execute(ISN.insert(), rows)
    return len(rows)


def apply_changes(
    conn: Connection,
    rng: random.Random,
    tick: Callable[[], datetime],
    as_of: date,
    fraction: float,
) -> dict[str, int]:
    """One day: shipments of shipped orders not in the file yet, installations reported,
    service contracts renewed (about ``fraction`` of each); each row stamped by ``tick``."""
    recorded = {int(o) for o in conn.execute(select(ISN.c.SORD).distinct()).scalars()}
    waiting = [r for r in _shipped_lines(conn, ("S",)) if int(r.LORD) not in recorded]
    shipped = rng.sample(waiting, min(len(waiting), max(1, round(len(waiting) * fraction * 5))))
    rows = [_asset(rng, line, as_of, as_of, tick()) for line in shipped]
    _parents(rows)
    if rows:
        conn.execute(ISN.insert(), rows)
    not_installed = conn.execute(
        select(ISN.c.SSER, RCM.c.CCITY)
        .join(RCM, RCM.c.CCUST == ISN.c.SCUST)
        .where(ISN.c.SINDT == 0, ISN.c.SSTAT == "A")
        .order_by(ISN.c.SSER)
    ).all()
    installs = _sample(rng, not_installed, fraction * 5)
    for row in installs:
        chgd, chgt = stamp(tick())
        site = _pad(f"{row.CCITY.strip()} {rng.choice(SITES)}", 40)
        conn.execute(
            update(ISN)
            .where(ISN.c.SSER == row.SSER)
            .values(SINDT=yyyymmdd(as_of), SSITE=site, SCHGD=chgd, SCHGT=chgt)
        )
    contracts = conn.execute(
        select(ISN.c.SSER, ISN.c.SCEND)
        .where(ISN.c.SCTR.is_not(None), ISN.c.SCEND > 0)
        .order_by(ISN.c.SSER)
    ).all()
    renewals = _sample(rng, contracts, fraction)
    for row in renewals:
        chgd, chgt = stamp(tick())
        conn.execute(
            update(ISN)
            .where(ISN.c.SSER == row.SSER)
            .values(SCEND=_a_year_later(int(row.SCEND)), SCHGD=chgd, SCHGT=chgt)
        )
    return {
        "shipments": len(rows),
        "installations": len(installs),
        "contract renewals": len(renewals),
    }


def _a_year_later(value: int) -> int:
    """A YYYYMMDD date one year on (29 February becomes 28 February)."""
    year, month, day = value // 10_000, value // 100 % 100, value % 100
    return yyyymmdd(date(year + 1, month, min(day, 28) if month == 2 else day))


def _sample(rng: random.Random, rows: list[Any], fraction: float) -> list[Any]:
    return rng.sample(rows, max(1, round(len(rows) * fraction))) if rows else []
