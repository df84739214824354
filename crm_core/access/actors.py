"""Who did something: the name every recorded manual action carries."""

from __future__ import annotations

import getpass


def who(by: str | None = None) -> str:
    """The name recorded for an action: ``by``, else the login name (``unknown`` when the
    system has none)."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
