"""The customer summary for the one asking: the store, the ranking of every customer and
the role's figures setting (``api.summary_figures``) taken from the app, for the API's
routes and the page alike."""

from __future__ import annotations

from datetime import date

from fastapi import Request

from crm_core.access.api_keys import ApiKey
from crm_core.api.service.segments import Population
from crm_core.api.service.summary import summary
from crm_core.api.service.views import SummaryView


def summary_settings(request: Request, key: ApiKey, day: date) -> tuple[Population, bool]:
    """What a summary as of ``day`` takes from the app: every customer's standing, and
    whether ``key``'s role sees the amounts."""
    state = request.app.state
    return state.population.get(state.store, day), state.config.api.shows_figures(key.role.value)


def summary_of(request: Request, key: ApiKey, golden_id: str, day: date) -> SummaryView:
    """Customer ``golden_id``'s summary as of ``day``, with amounts when ``key``'s role
    is one of ``api.summary_figures``."""
    pop, figures = summary_settings(request, key, day)
    return summary(request.app.state.store, golden_id, as_of=day, pop=pop, figures=figures)
