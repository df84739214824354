"""Source codes without a crosswalk entry: counted while pulling, listed for people.

The mapping keeps such a code in the record as the source wrote it and reports it with
the batch (``MappedBatch.unmapped``); the pull adds its rows here in the batch's own
transaction. The list leaves out codes that the mapping translates by now (a crosswalk
entry added since), so it is empty once the crosswalks cover every code the sources use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from crm_core.store.tables import unmapped_codes
from mappings.compile import CompiledMapping, UnmappedCode

MAX_VALUE = 200


def note_unmapped(conn: Connection, source: str, stream: str, codes: Sequence[UnmappedCode]) -> int:
    """Add one batch's unmapped codes to their counts; return the rows they came in."""
    if not codes:
        return 0
    now = datetime.now(UTC)
    table = unmapped_codes
    for code in codes:
        value = code.value[:MAX_VALUE]
        where = (
            (table.c.source == source)
            & (table.c.stream == stream)
            & (table.c.field == code.field)
            & (table.c.value == value)
        )
        updated = conn.execute(
            table.update().where(where).values(rows=table.c.rows + code.rows, last_seen=now)
        )
        if not updated.rowcount:
            conn.execute(
                table.insert().values(
                    source=source,
                    stream=stream,
                    field=code.field,
                    value=value,
                    rows=code.rows,
                    first_seen=now,
                    last_seen=now,
                )
            )
    return sum(code.rows for code in codes)


def still_unmapped(mapping: CompiledMapping, stream: str, field: str, value: str) -> bool:
    """Whether the mapping (as it is now) still has no canonical code for ``value``."""
    compiled = mapping.streams.get(stream)
    fmap = compiled.spec.fields.get(field) if compiled else None
    if compiled is None or fmap is None:
        return False  # the stream or field is no longer mapped: nothing to translate
    ctx = compiled.context
    for ref in fmap.transforms:
        if isinstance(ref, dict) and "crosswalk" in ref:
            name = ref["crosswalk"]
            known = (ctx.crosswalks or {}).get(name, {})
            return value not in known and value not in (ctx.canonical or {}).get(name, ())
    return False


def list_unmapped(
    store: Engine,
    mapping_for: Callable[[str], CompiledMapping | None] | None = None,
    source: str | None = None,
) -> list[dict[str, Any]]:
    """The unmapped codes, most rows first: value, source, stream, field, rows, first and
    last seen. With ``mapping_for`` (source -> its compiled mapping, None when the source is
    no longer configured), codes the mapping translates by now are left out."""
    query = select(unmapped_codes)
    if source is not None:
        query = query.where(unmapped_codes.c.source == source)
    with store.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        if mapping_for is not None:
            mapping = mapping_for(row["source"])
            if mapping is None or not still_unmapped(
                mapping, row["stream"], row["field"], row["value"]
            ):
                continue
        out.append(
            {
                "value": row["value"],
                "source": row["source"],
                "stream": row["stream"],
                "field": row["field"],
                "rows": int(row["rows"]),
                "first_seen": row["first_seen"].isoformat(),
                "last_seen": row["last_seen"].isoformat(),
            }
        )
    out.sort(key=lambda r: (-r["rows"], r["source"], r["stream"], r["field"], r["value"]))
    return out
