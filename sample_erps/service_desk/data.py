"""The service desk's data: tickets and survey answers, in its own SQLite file.

Tickets are filed under the legacy ERP's account numbers (``account_no``) and, mostly, one
of the customer's serial numbers (``asset_serial``); times are ISO 8601 with the desk's
local offset (+08:00), ``updated_at`` in UTC with a ``Z``. Priorities are P1 to P4, each
with a resolution target (the SLA); about one ticket in six misses it. Each customer has
a mood, some of them souring over time, that the 1-to-5 survey answers follow.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, func, select

from sample_erps.legacy_erp_schema import ISN

METADATA = MetaData()
LOCAL = timezone(timedelta(hours=8))
SLA_HOURS = {"P1": 24, "P2": 48, "P3": 120, "P4": 240}
PRIORITIES = ("P1", "P2", "P3", "P3", "P3", "P4", "P4")
CHANNELS = ("phone", "phone", "email", "web", "chat", "field")
CATEGORIES = {
    "MTR": ("过热 overheating", "noise", "安装 installation"),
    "PMP": ("leak 泄漏", "flow too low", "安装 installation"),
    "VLV": ("sticking 卡滞", "leak 泄漏", "spare parts"),
}
COMMENTS = {
    1: ("太慢了", "nobody called back"),
    2: ("technician came twice", "问题没有彻底解决"),
    3: ("ok", "一般"),
    4: ("quick fix, thanks", "服务不错"),
    5: ("excellent 非常满意", "great support"),
}
HISTORY_DAYS = 540

tickets = Table(
    "tickets",
    METADATA,
    Column("id", Text, primary_key=True),
    Column("account_no", Text, nullable=False),
    Column("asset_serial", Text),
    Column("subject", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("opened_at", Text, nullable=False),
    Column("sla_due", Text, nullable=False),
    Column("first_response_at", Text),
    Column("resolved_at", Text),
    Column("closed_at", Text),
    Column("updated_at", Text, nullable=False, index=True),
)

surveys = Table(
    "survey_responses",
    METADATA,
    Column("id", Text, primary_key=True),
    Column("ticket_id", Text, nullable=False),
    Column("rating", Integer, nullable=False),
    Column("comment", Text),
    Column("submitted_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False, index=True),
)


def create_schema(engine: Engine) -> None:
    """Create the service desk's two tables."""
    METADATA.create_all(engine)


def local(moment: datetime) -> str:
    """A moment as the desk writes its event times: ISO 8601 at +08:00."""
    return moment.astimezone(LOCAL).isoformat(timespec="seconds")


def utc(moment: datetime) -> str:
    """A moment as the desk writes ``updated_at``: ISO 8601 in UTC with a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _assets(legacy: Engine) -> dict[str, list[tuple[str, str]]]:
    """In-service serial numbers (serial, item) per legacy customer number."""
    out: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with legacy.connect() as conn:
        rows = conn.execute(
            select(ISN.c.SCUST, ISN.c.SSER, ISN.c.SPROD)
            .where(ISN.c.SSTAT == "A")
            .order_by(ISN.c.SCUST, ISN.c.SSER)
        )
        for row in rows:
            out[row.SCUST.strip()].append((row.SSER.strip(), row.SPROD.strip()))
    return out


class _Desk:
    """Builds tickets and survey answers up to ``now``."""

    def __init__(self, rng: random.Random, now: datetime, next_ticket: int, next_survey: int):
        self.rng = rng
        self.now = now
        self.next_ticket = next_ticket
        self.next_survey = next_survey
        self.tickets: list[dict[str, Any]] = []
        self.surveys: list[dict[str, Any]] = []

    def ticket(
        self, account: str, assets: list[tuple[str, str]], opened: datetime, mood: float
    ) -> None:
        rng = self.rng
        serial, item = rng.choice(assets) if assets and rng.random() < 0.85 else (None, "MTR")
        priority = rng.choice(PRIORITIES)
        sla = timedelta(hours=SLA_HOURS[priority])
        category = rng.choice(CATEGORIES.get(item[:3], CATEGORIES["MTR"]))
        row: dict[str, Any] = {
            "id": f"SR-{self.next_ticket:06d}",
            "account_no": account,
            "asset_serial": serial,
            "subject": f"{category}: {serial or 'general'}",
            "channel": rng.choice(CHANNELS),
            "category": category,
            "priority": priority,
            "state": "new",
            "opened_at": local(opened),
            "sla_due": local(opened + sla),
            "first_response_at": None,
            "resolved_at": None,
            "closed_at": None,
        }
        self.next_ticket += 1
        last = opened
        responded = opened + timedelta(hours=rng.uniform(0.3, 8))
        if responded <= self.now:
            row.update(state="in_progress", first_response_at=local(responded))
            last = responded
        resolved = opened + sla * rng.expovariate(1 / 0.6)
        if resolved <= self.now and responded <= resolved:
            row.update(state="solved", resolved_at=local(resolved))
            last = resolved
            closed = resolved + timedelta(days=3)
            if closed <= self.now:
                row.update(state="closed", closed_at=local(closed))
                last = closed
            answered = resolved + timedelta(hours=rng.uniform(2, 48))
            if answered <= self.now and rng.random() < 0.6:
                self.survey(row["id"], answered, mood)
                last = max(last, answered)
        elif rng.random() < 0.3 and row["state"] == "in_progress":
            row["state"] = "waiting"
        row["updated_at"] = utc(last)
        self.tickets.append(row)

    def survey(self, ticket_id: str, answered: datetime, mood: float) -> None:
        score = max(1, min(5, round(mood + self.rng.gauss(0, 0.7))))
        self.surveys.append(
            {
                "id": f"CSAT-{self.next_survey:06d}",
                "ticket_id": ticket_id,
                "rating": score,
                "comment": self.rng.choice(COMMENTS[score]) if self.rng.random() < 0.7 else None,
                "submitted_at": local(answered),
                "updated_at": utc(answered),
            }
        )
        self.next_survey += 1


def _mood(rng: random.Random, account: str, share_of_history: float) -> float:
    """A customer's mood (1 to 5) at a point of its history; a fifth of them sour."""
    own = random.Random(f"{account}:mood")
    base = own.choice([3.0, 3.5, 4.0, 4.0, 4.5, 4.5])
    souring = 2.2 if own.random() < 0.2 else 0.0
    return base - souring * share_of_history


def generate(engine: Engine, legacy: Engine, *, seed: int, as_of: date) -> dict[str, int]:
    """Tickets of the last ~18 months for about half the customers that own assets, and
    the survey answers to them, up to the end of ``as_of``; rows written per table."""
    rng = random.Random(f"service_desk:{seed}")
    now = datetime.combine(as_of, time(23, 59, 59), LOCAL)
    desk = _Desk(rng, now, 100_001, 1)
    for account, assets in sorted(_assets(legacy).items()):
        if rng.random() >= 0.5:
            continue
        for _ in range(rng.randint(1, 5)):
            age = rng.triangular(0, HISTORY_DAYS, 30)
            opened = now - timedelta(days=age, hours=rng.uniform(0, 10))
            desk.ticket(account, assets, opened, _mood(rng, account, 1 - age / HISTORY_DAYS))
    with engine.begin() as conn:
        _insert(conn, desk)
    return {"tickets": len(desk.tickets), "survey answers": len(desk.surveys)}


def _insert(conn: Connection, desk: _Desk) -> None:
    if desk.tickets:
        conn.execute(tickets.insert(), desk.tickets)
    if desk.surveys:
        conn.execute(surveys.insert(), desk.surveys)


def apply_changes(
    engine: Engine, legacy: Engine, *, seed: int, as_of: date, fraction: float = 0.02
) -> dict[str, int]:
    """One day on ``as_of``: new tickets, tickets answered, solved and closed, survey
    answers to solved tickets, each stamped later than anything before."""
    rng = random.Random(f"service_desk-changes:{seed}:{as_of}")
    start = datetime.combine(as_of, time(8), LOCAL)
    with engine.begin() as conn:
        latest = conn.execute(select(func.max(tickets.c.updated_at))).scalar()
        clock = max(start, _parsed(latest) + timedelta(seconds=1) if latest else start)
        n_ticket = conn.execute(select(func.count()).select_from(tickets)).scalar() or 0
        n_survey = conn.execute(select(func.count()).select_from(surveys)).scalar() or 0
        desk = _Desk(rng, clock, 100_001 + n_ticket, 1 + n_survey)
        owners = sorted(_assets(legacy).items())
        new = rng.sample(owners, min(len(owners), max(3, round(len(owners) * fraction))))
        for account, assets in new:
            desk.now = clock = clock + timedelta(seconds=rng.randint(30, 600))
            desk.ticket(account, assets, clock, _mood(rng, account, 1.0))
        moved = 0
        open_ = conn.execute(
            select(tickets).where(tickets.c.state.in_(["new", "in_progress", "waiting"]))
        ).all()
        for row in rng.sample(open_, min(len(open_), max(1, round(len(open_) * 0.3)))):
            clock += timedelta(seconds=rng.randint(30, 600))
            values: dict[str, Any] = {"updated_at": utc(clock)}
            if row.first_response_at is None:
                values.update(state="in_progress", first_response_at=local(clock))
            else:
                values.update(state="solved", resolved_at=local(clock))
            conn.execute(tickets.update().where(tickets.c.id == row.id).values(**values))
            moved += 1
        answered = {t for t in conn.execute(select(surveys.c.ticket_id)).scalars()}
        solved = [
            t
            for t in conn.execute(
                select(tickets.c.id, tickets.c.account_no)
                .where(tickets.c.state.in_(["solved", "closed"]))
                .order_by(tickets.c.id)
            )
            if t.id not in answered
        ]
        for t in rng.sample(solved, min(len(solved), max(2, round(len(solved) * fraction)))):
            clock += timedelta(seconds=rng.randint(30, 600))
            desk.survey(t.id, clock, _mood(rng, t.account_no, 1.0))
        _insert(conn, desk)
    return {
        "new tickets": len(desk.tickets),
        "tickets moved on": moved,
        "survey answers": len(desk.surveys),
    }


def _parsed(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
