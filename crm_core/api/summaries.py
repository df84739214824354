"""The customer summary for the one asking: the store, the ranking of every customer and
the role's figures setting (``api.summary_figures``) taken from the app, for the API's
routes and the page alike; and the freshness of a customer answer's streams."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from fastapi import Request

from crm_core.access.api_keys import ApiKey
from crm_core.api.service.freshness import customer_freshness
from crm_core.api.service.segments import Population
from crm_core.api.service.summary import summary
from crm_core.api.service.views import FreshnessView, SummaryView


def summary_settings(request: Request, key: ApiKey, day: date) -> tuple[Population, bool]:
    """What a summary as of ``day`` takes from the app: every customer's standing, and
    whether ``key``'s role sees the amounts."""
    state = request.app.state
    return state.population.get(state.store, day), state.config.api.shows_figures(key.role.value)


def summary_of(request: Request, key: ApiKey, golden_id: str, day: date) -> SummaryView:
    """Customer ``golden_id``'s summary as of ``day``, with amounts when ``key``'s role
    is one of ``api.summary_figures``."""
    pop, figures = summary_settings(request, key, day)
    state = request.app.state
    return summary(state.store, golden_id, as_of=day, pop=pop, figures=figures, config=state.config)


def freshness_of(
    request: Request, golden_id: str, entities: Collection[str]
) -> list[FreshnessView]:
    """How fresh the streams loading ``entities`` that feed customer ``golden_id`` are,
    by the app's config (the sources' schedules) and store."""
    state = request.app.state
    return customer_freshness(state.store, state.config, golden_id, entities)
