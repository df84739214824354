"""The one base of models read from files and requests: unknown keys are errors, so a
typo is caught when the file is loaded or the request arrives, not silently ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class FrozenStrict(Strict):
    """A ``Strict`` model that cannot be changed once built (safe to share and cache)."""

    model_config = ConfigDict(frozen=True)
