"""The ``campaigns:`` section of ``crm-hub.yaml``: how orders are attributed to campaigns.

    campaigns:
      attribution: last_touch     # or first_touch
      window_days: 30

An order of a golden customer is attributed to one campaign: of the campaign touches that
reached the customer (any of its source records) in the ``window_days`` days before the
order date (the order's day included), the latest (``last_touch``, the default) or the
earliest (``first_touch``). A touch of a lead (no customer) attributes nothing until the
lead is a customer. Cancelled orders are not attributed; an attributed order's revenue is
what its source invoiced for it (void invoices left out).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.strict import FrozenStrict


class CampaignSettings(FrozenStrict):
    """The attribution rule of orders to campaigns."""

    attribution: Literal["last_touch", "first_touch"] = "last_touch"
    window_days: int = Field(default=30, ge=1, le=3650)
