"""The sample marketing system: campaigns and who they reached, as two SQL tables.

A marketing tool keeps no customer master of its own here: a campaign member is an ERP
account (``account_system`` and ``account_no``: the legacy ERP's customer number or the
modern ERP's partner id) or a lead not yet a customer (``lead_ref``). Campaigns run a few
weeks each over the last two years, in CNY or EUR, and cost what was spent on them;
``modified`` is a local time (Asia/Shanghai) stamped on every change.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from sample_erps.legacy_erp_schema import RCM
from sample_erps.modern_erp_schema import PARTNER

METADATA = MetaData()
CHANNELS = ("email", "trade fair", "webinar", "direct mail", "wechat")
TOPICS = (
    "春季促销 Spring promotion",
    "Pump efficiency webinar",
    "汉诺威工业博览会 Hannover Messe",
    "Motor upgrade programme",
    "阀门以旧换新 Valve trade-in",
    "Service contract renewal drive",
    "年终客户答谢 Year-end customer day",
    "Sensor retrofit mailing",
)
RESPONSES = ("sent", "sent", "sent", "opened", "opened", "clicked", "responded", "attended")

campaigns = Table(
    "campaigns",
    METADATA,
    Column("campaign_code", String(16), primary_key=True),
    Column("title", Text, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("start_date", String(10), nullable=False),
    Column("end_date", String(10)),
    Column("spent", Numeric(14, 2, asdecimal=False), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("modified", String(19), nullable=False, index=True),
)

members = Table(
    "campaign_members",
    METADATA,
    Column("member_id", Integer, primary_key=True, autoincrement=False),
    Column("campaign_code", String(16), nullable=False),
    Column("account_system", String(20)),
    Column("account_no", String(20)),
    Column("lead_ref", String(20)),
    Column("touched", String(19), nullable=False),
    Column("status", String(12), nullable=False),
    Column("modified", String(19), nullable=False, index=True),
)


def create_schema(engine: Engine) -> None:
    """Create the marketing system's two tables."""
    METADATA.create_all(engine)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _accounts(legacy: Engine, modern: Engine | None) -> list[tuple[str, str]]:
    with legacy.connect() as conn:
        out = [("legacy_erp", k.strip()) for k in conn.execute(select(RCM.c.CCUST)).scalars()]
    if modern is not None:
        with modern.connect() as conn:
            out += [("modern_erp", str(k)) for k in conn.execute(select(PARTNER.c.id)).scalars()]
    return sorted(out)


def _members(
    rng: random.Random,
    accounts: list[tuple[str, str]],
    code: str,
    first: date,
    last: date,
    next_id: int,
    share: float,
) -> list[dict[str, Any]]:
    rows = []
    span = max(0, (last - first).days)
    reached = rng.sample(accounts, max(1, round(len(accounts) * share)))
    leads = [("", f"L-{rng.randrange(10**6):06d}") for _ in range(max(1, len(reached) // 5))]
    for system, key in reached + leads:
        moment = datetime.combine(first + timedelta(days=rng.randint(0, span)), time(9))
        moment += timedelta(seconds=rng.randrange(9 * 3600))
        rows.append(
            {
                "member_id": next_id,
                "campaign_code": code,
                "account_system": system or None,
                "account_no": key if system else None,
                "lead_ref": None if system else key,
                "touched": _stamp(moment),
                "status": rng.choice(RESPONSES),
                "modified": _stamp(moment + timedelta(hours=rng.randint(0, 72))),
            }
        )
        next_id += 1
    return rows


def generate(
    engine: Engine, legacy: Engine, modern: Engine | None, *, seed: int, as_of: date
) -> dict[str, int]:
    """Twelve campaigns of the last two years and their members up to ``as_of``."""
    rng = random.Random(f"marketing:{seed}")
    accounts = _accounts(legacy, modern)
    end = datetime.combine(as_of, time(23, 59, 59))
    rows: list[dict[str, Any]] = []
    touched: list[dict[str, Any]] = []
    for n in range(12):
        start = as_of - timedelta(days=730 - n * 60 + rng.randint(0, 20))
        stop = min(start + timedelta(days=rng.randint(14, 45)), as_of)
        currency = "EUR" if rng.random() < 0.2 else "CNY"
        spent = Decimal(rng.randint(20, 400) * 1000) / (8 if currency == "EUR" else 1)
        code = f"CMP-{start:%y}{n + 1:03d}"
        rows.append(
            {
                "campaign_code": code,
                "title": rng.choice(TOPICS),
                "channel": rng.choice(CHANNELS),
                "start_date": start.isoformat(),
                "end_date": stop.isoformat() if stop < as_of else None,
                "spent": float(round(spent, 2)),
                "currency": currency,
                "modified": _stamp(min(datetime.combine(stop, time(18)), end)),
            }
        )
        touched += _members(rng, accounts, code, start, stop, len(touched) + 1, 0.08)
    for row in touched:
        row["modified"] = min(row["modified"], _stamp(end))
    with engine.begin() as conn:
        conn.execute(campaigns.insert(), rows)
        conn.execute(members.insert(), touched)
    return {"campaigns": len(rows), "campaign members": len(touched)}


def apply_changes(
    engine: Engine, legacy: Engine, modern: Engine | None, *, seed: int, as_of: date
) -> dict[str, int]:
    """One day: the running campaign reaches more accounts and spends more; members of
    earlier days respond."""
    rng = random.Random(f"marketing-changes:{seed}:{as_of}")
    accounts = _accounts(legacy, modern)
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(members.c.modified))).scalar() or ""
        clock = max(datetime.combine(as_of, time(8)), _parsed(latest) + timedelta(seconds=1))
        running = conn.execute(
            select(campaigns).order_by(campaigns.c.start_date.desc()).limit(1)
        ).one()
        next_id = int(conn.execute(select(func.max(members.c.member_id))).scalar() or 0) + 1
        new = _members(rng, accounts, running.campaign_code, as_of, as_of, next_id, 0.01)
        for row in new:
            clock += timedelta(seconds=rng.randint(5, 60))
            row["touched"] = row["modified"] = _stamp(clock)
        conn.execute(members.insert(), new)
        earlier = conn.execute(
            select(members.c.member_id)
            .where(members.c.status.in_(["sent", "opened"]))
            .order_by(members.c.member_id)
        ).scalars()
        earlier_ids = list(earlier)
        responded = rng.sample(earlier_ids, min(len(earlier_ids), 10))
        for member_id in responded:
            clock += timedelta(seconds=rng.randint(5, 60))
            conn.execute(
                update(members)
                .where(members.c.member_id == member_id)
                .values(status=rng.choice(["clicked", "responded"]), modified=_stamp(clock))
            )
        clock += timedelta(seconds=30)
        conn.execute(
            update(campaigns)
            .where(campaigns.c.campaign_code == running.campaign_code)
            .values(spent=float(running.spent) + rng.randint(1, 20) * 500, modified=_stamp(clock))
        )
    return {"campaign touches": len(new), "responses": len(responded), "campaign costs": 1}


def _parsed(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S") if text else datetime.min
