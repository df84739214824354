"""The customer page's freshness: per panel, per source, as of when its data is and
whether it is stale, from the same list ``GET /customers/{id}`` answers with
(:mod:`crm_core.api.service.freshness`); and its words in English and Chinese."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from crm_core.api.service import freshness as fresh
from crm_core.api.service.views import FreshnessView

#: each panel of the customer page and the entities its data comes from
PANELS: dict[str, tuple[str, ...]] = {
    "golden": ("customers",),
    "sources": ("customers",),
    "concessions": fresh.CONCESSIONS,
    "orders": fresh.ORDERS,
    "credit": fresh.CREDIT,
    "receivables": fresh.RECEIVABLES,
    "inventory": fresh.INVENTORY,
    "insights": fresh.INSIGHTS,
    "assets": fresh.ASSETS,
    "service": fresh.SERVICE,
    "campaigns": fresh.CAMPAIGNS,
}


@dataclass(frozen=True)
class SourceAge:
    """How old one source's data in a panel is: its oldest stream's ``as_of`` (None: a
    stream was never pulled) and whether one of its streams is stale."""

    source: str
    as_of: datetime | None
    stale: bool
    schedule: str | None


@dataclass(frozen=True)
class PanelAge:
    """How old a panel's data is, per source."""

    sources: list[SourceAge] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        """A source's data in the panel is stale."""
        return any(s.stale for s in self.sources)


def source_ages(items: Collection[FreshnessView], entities: Collection[str]) -> list[SourceAge]:
    """Per source, how old its streams loading ``entities`` are (by source name)."""
    out = []
    for source in sorted({f.source for f in items if f.entity in entities}):
        mine = [f for f in items if f.source == source and f.entity in entities]
        never = any(f.as_of is None for f in mine)
        out.append(
            SourceAge(
                source=source,
                as_of=None if never else fresh.oldest(mine),
                stale=any(f.stale for f in mine),
                schedule=next((f.schedule for f in mine if f.schedule), None),
            )
        )
    return out


def panels(items: Collection[FreshnessView]) -> dict[str, PanelAge]:
    """Every panel of :data:`PANELS` with the age of its data per source."""
    return {name: PanelAge(source_ages(items, entities)) for name, entities in PANELS.items()}


MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "fresh.as_of": "{source}: as of {time}",
        "fresh.never": "{source}: never pulled",
        "fresh.stale": "Stale",
        "fresh.stale_why": "No successful pull since its schedule ({schedule}) wanted one",
        "fresh.stale_never": "No successful pull yet",
    },
    "zh-CN": {
        "fresh.as_of": "{source}：数据截至 {time}",
        "fresh.never": "{source}：尚未同步",
        "fresh.stale": "数据过期",
        "fresh.stale_why": "按同步计划（{schedule}）应已同步，但此后没有成功的同步",
        "fresh.stale_never": "尚无成功的同步",
    },
}
