"""The one exact-JSON encoder: values JSON has no type for, as text that keeps them
exactly (ISO 8601 dates and times, decimal text rather than a float).

Use it as ``json.dumps(data, default=to_json)``; the CLI, the REST connector, the
quarantine and push-back all write JSON through it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any


def to_json(value: Any) -> str:
    """``value`` as JSON text: dates and times in ISO 8601, a ``Decimal`` as its digits.

    Raises ``TypeError`` (what ``json.dumps`` expects of ``default``) for anything else.
    """
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"a {type(value).__name__} cannot be written as JSON")
