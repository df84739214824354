"""Quarantine: rows that could not be mapped or validated, kept with the reason.

Nothing is dropped without a record: each rejected row is stored whole (as JSON), with
its source, stream, key and the reason, until it is replayed or discarded.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import polars as pl
from sqlalchemy import Connection

from crm_core.store.tables import quarantine
from mappings.compile import REASON
from schemas.exact_json import to_json


def json_safe(value: Any) -> Any:
    """A raw value in a form JSON keeps exactly (Decimal and dates as text)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, Decimal | datetime | date | time):
        return to_json(value)
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode("ascii")}
    return str(value)


def quarantine_rows(
    conn: Connection,
    source: str,
    stream: str,
    rejects: pl.DataFrame,
    key_columns: Sequence[str],
    run_id: int | None,
) -> int:
    """Store rejected raw rows (with a ``_reason`` column) in the quarantine table."""
    if rejects.height == 0:
        return 0
    now = datetime.now(UTC)
    rows = []
    for record in rejects.to_dicts():
        reason = record.pop(REASON)
        key = "|".join("" if record.get(k) is None else str(record[k]).strip() for k in key_columns)
        rows.append(
            {
                "run_id": run_id,
                "source": source,
                "stream": stream,
                "record_key": key,
                "raw": {k: json_safe(v) for k, v in record.items()},
                "reason": reason,
                "status": "open",
                "created_at": now,
            }
        )
    conn.execute(quarantine.insert(), rows)
    return len(rows)
