"""The roles an API key holds (no store, no SQLAlchemy: the CLI names them in its help)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who holds a key."""

    VIEWER = "viewer"
    EDITOR = "editor"
    FINANCE = "finance"
    OPS = "ops"
    ADMIN = "admin"
