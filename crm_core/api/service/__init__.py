"""Customer 360 and ops, as plain functions over the store that the API and the CLI share.

Each takes the store's engine and returns a pydantic model from ``views``; an unknown
customer or run raises :class:`NotFound`. Nothing here imports FastAPI.
"""

from crm_core.api.service.customers import detail, search
from crm_core.api.service.finance import credit, receivables
from crm_core.api.service.insights import insights
from crm_core.api.service.inventory import inventory_for
from crm_core.api.service.ledger import list_quarantine, list_runs, run_detail
from crm_core.api.service.lookup import NotFound
from crm_core.api.service.orders import orders
from crm_core.api.service.search_index import refresh as refresh_search_index
from crm_core.api.service.segments import PopulationCache
from crm_core.api.service.summary import credit_hold, summary

__all__ = [
    "NotFound",
    "PopulationCache",
    "credit",
    "credit_hold",
    "detail",
    "insights",
    "inventory_for",
    "list_quarantine",
    "list_runs",
    "orders",
    "receivables",
    "refresh_search_index",
    "run_detail",
    "search",
    "summary",
]
