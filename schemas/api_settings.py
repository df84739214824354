"""The ``api:`` section of ``crm-hub.yaml``: what ``crm-hub serve`` shows to whom.

    api:
      summary_figures: [finance, admin]   # the default
      key_cache_seconds: 5                # the default; 0: every request asks the store
      access:                             # only the scopes whose roles differ
        campaign_roi: [finance, admin]    # the default: campaign cost and ROI
        aftersales: [editor, finance, admin]   # e.g. no installed base for viewers

``access`` names, per scope of the API, the roles whose keys may use it (the routes of each
scope are listed in the README); a scope not named keeps its default roles
(:data:`DEFAULT_ACCESS`). It holds for the HTTP API and the customer page alike.

The customer summary (``GET /customers/{id}``, the top of the customer page) gives every
role that may open a customer the credit status, hold and reason, overdue and available
credit; the roles in ``summary_figures`` see the amounts, the others bands (``over 90
days`` overdue, ``low`` available credit). A hold is never hidden.

A key found valid is remembered by the serving process for ``key_cache_seconds``
(:mod:`crm_core.access.key_cache`), so that a request costs no store query for its key:
a key revoked by that process is refused at once, one revoked by another (``crm-hub
apikey revoke`` beside a running ``crm-hub serve``) within that many seconds.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.strict import FrozenStrict

RoleName = Literal["viewer", "editor", "finance", "ops", "admin"]
ScopeName = Literal[
    "customers", "finance", "ops", "changes", "aftersales", "campaign_roi", "asset_changes"
]

#: who may use each scope unless ``api.access`` says otherwise
DEFAULT_ACCESS: dict[str, tuple[RoleName, ...]] = {
    # golden records, orders, inventory, insights, search, phone lookup
    "customers": ("viewer", "editor", "finance", "admin"),
    # credit and receivables
    "finance": ("finance", "admin"),
    # runs, quarantine, conflicts, metrics
    "ops": ("ops", "admin"),
    # CRM-side changes of customers (push-back) and stewardship
    "changes": ("editor", "admin"),
    # installed base, service history, the campaigns list and a customer's campaigns
    "aftersales": ("viewer", "editor", "finance", "admin"),
    # a campaign's cost, attributed revenue and ROI
    "campaign_roi": ("finance", "admin"),
    # CRM-side changes of assets: install site, service contract renewal
    "asset_changes": ("editor", "admin"),
}


class ApiConfig(FrozenStrict):
    """Settings of the HTTP API and the customer page."""

    #: roles that see credit and receivables amounts in the customer summary; the
    #: others get the status and bands
    summary_figures: list[RoleName] = ["finance", "admin"]
    #: per scope, the roles that may use it (scopes not named: :data:`DEFAULT_ACCESS`)
    access: dict[ScopeName, list[RoleName]] = {}
    #: seconds a key found valid is taken as valid without asking the store again (a key
    #: revoked by another process is refused within them; 0: every request asks)
    key_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    def shows_figures(self, role: str) -> bool:
        """Whether ``role`` sees the summary's amounts, not only bands."""
        return role in self.summary_figures

    def roles_of(self, scope: str) -> frozenset[str]:
        """The roles that may use ``scope`` under this configuration."""
        for name, roles in self.access.items():
            if name == scope:
                return frozenset(roles)
        return frozenset(DEFAULT_ACCESS.get(scope, ()))
