"""What the installed base and the service history say about a customer's value:

- a **renewal opportunity**: an asset in service whose warranty ends within 90 days and
  that has no service contract in force (see :mod:`crm_core.api.service.installed_base`);
- a **service churn risk**: a high-tier customer (tier A or B) with
  :data:`OPEN_TICKETS_RISK` or more open tickets, or whose satisfaction is falling (the
  newest quarter's average half a point or more below the one before). It is shown beside
  the churn flag (``churn.service_risk`` with its reasons); the flag itself stays the
  rule of days without an order.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from crm_core.api.service.aftersales_views import ServiceSummary
from crm_core.api.service.service_history import service_requests_of
from crm_core.api.service.views import Tier

#: open tickets at which a high-tier customer counts as at risk
OPEN_TICKETS_RISK = 3
HIGH_TIERS: tuple[Tier, ...] = ("A", "B")


def service_risk_reasons(value_tier: Tier, summary: ServiceSummary) -> list[str]:
    """Why a customer of ``value_tier`` with this service history is at risk, as codes
    (``open_service_requests``, ``satisfaction_falling``); empty: it is not."""
    if value_tier not in HIGH_TIERS:
        return []
    reasons = []
    if summary.open >= OPEN_TICKETS_RISK:
        reasons.append("open_service_requests")
    if summary.satisfaction_trend == "falling":
        reasons.append("satisfaction_falling")
    return reasons


def service_churn_risk(store: Engine, golden_id: str, value_tier: Tier, as_of: date) -> list[str]:
    """The reasons a customer is at risk by its service history (empty: none)."""
    if value_tier not in HIGH_TIERS:
        return []
    history = service_requests_of(store, golden_id, as_of=as_of)
    return service_risk_reasons(value_tier, history.summary)
