"""Per-stream state: the position after which the next incremental read starts.

The engine writes it in the same transaction as the batch it describes, so the store
never claims to have loaded rows it has not. A stream whose source lists its deleted
records (``deletes: {deleted_since: ...}``) has a second position, where the next read of
that list starts, kept in the same table under :func:`deletes_name`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from crm_core.pull import positions
from crm_core.store.tables import stream_state

#: What a stream's deletes position is kept under: ``<stream>/deleted`` (a stream's name
#: has no ``/``, so none is taken for a stream).
DELETES_SUFFIX = "/deleted"


def deletes_name(stream: str) -> str:
    """The name a stream's deletes position is kept under."""
    return f"{stream}{DELETES_SUFFIX}"


def get_position(conn: Connection, source: str, stream: str) -> tuple[Any, ...] | None:
    """The saved position of a stream, or None when it was never loaded."""
    row = conn.execute(
        select(stream_state.c.position).where(
            stream_state.c.source == source, stream_state.c.stream == stream
        )
    ).first()
    return positions.decode(row.position) if row else None


def set_position(
    conn: Connection, source: str, stream: str, position: Sequence[Any], run_id: int | None
) -> None:
    """Save a stream's position (insert or replace)."""
    values = {
        "position": positions.encode(position),
        "run_id": run_id,
        "updated_at": datetime.now(UTC),
    }
    where = (stream_state.c.source == source, stream_state.c.stream == stream)
    updated = conn.execute(stream_state.update().where(*where).values(**values)).rowcount
    if not updated:
        conn.execute(stream_state.insert().values(source=source, stream=stream, **values))


def reset(conn: Connection, source: str, stream: str | None = None) -> None:
    """Forget positions (a stream's deletes position with it), so the next run reads from
    the beginning."""
    stmt = delete(stream_state).where(stream_state.c.source == source)
    if stream is not None:
        stmt = stmt.where(stream_state.c.stream.in_([stream, deletes_name(stream)]))
    conn.execute(stmt)
