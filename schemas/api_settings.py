"""The ``api:`` section of ``crm-hub.yaml``: what ``crm-hub serve`` shows to whom.

    api:
      summary_figures: [finance, admin]   # the default

The customer summary (``GET /customers/{id}``, the top of the customer page) gives every
role that may open a customer the credit status, hold and reason, overdue and available
credit; the roles in ``summary_figures`` see the amounts, the others bands (``over 90
days`` overdue, ``low`` available credit). A hold is never hidden.
"""

from __future__ import annotations

from typing import Literal

from schemas.strict import FrozenStrict

RoleName = Literal["viewer", "editor", "finance", "ops", "admin"]


class ApiConfig(FrozenStrict):
    """Settings of the HTTP API and the customer page."""

    #: roles that see credit and receivables amounts in the customer summary; the
    #: others get the status and bands
    summary_figures: list[RoleName] = ["finance", "admin"]

    def shows_figures(self, role: str) -> bool:
        """Whether ``role`` sees the summary's amounts, not only bands."""
        return role in self.summary_figures
