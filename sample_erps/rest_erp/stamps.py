"""Timestamps of the sample REST ERP: stored as fixed-width UTC text, shown with an offset."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

STORED = "%Y-%m-%d %H:%M:%S.%f"
ZONES = {
    "CN": "Asia/Shanghai",
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "US": "America/Chicago",
}
HOME = "Asia/Shanghai"


def zone_for(country: str | None) -> str:
    """The time zone of the site that serves a country (the home site otherwise)."""
    return ZONES.get(country or "", HOME)


def stored(moment: datetime) -> str:
    """An aware moment as the stored UTC text (text order is time order)."""
    return moment.astimezone(UTC).strftime(STORED)


def local(day: date, clock: time, tz: str) -> datetime:
    """An aware moment: wall-clock ``clock`` on ``day`` in ``tz``."""
    return datetime.combine(day, clock, tzinfo=ZoneInfo(tz))


def parse_stored(text: str) -> datetime:
    """The aware UTC moment of a stored text."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def shown(text: str, tz: str) -> str:
    """A stored timestamp as the API shows it: ISO 8601 in ``tz`` with its offset."""
    return parse_stored(text).astimezone(ZoneInfo(tz)).isoformat()


def parse_query(value: str) -> str:
    """An ``updated_since`` query value (ISO 8601; no offset means UTC) as stored text."""
    moment = datetime.fromisoformat(value.strip().replace(" ", "+").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return stored(moment)
