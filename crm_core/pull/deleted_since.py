"""Deletes the source lists: the records deleted since the stream's deletes position.

For a stream with ``deletes: {deleted_since: ...}`` the connector reads the source's list
of deleted records (``GET /orders/deleted?since=...``: :class:`schemas.source.
DeletedSinceSource`) after the stream's deletes position, a second position the engine
keeps beside the stream's own (:func:`crm_core.pull.state.deletes_name`). Each batch of the
list is one store transaction: its keys, mapped to the model's key by the stream's
mapping, are marked deleted (soft, with the run), and the position moves past the batch.
A crash therefore loses no delete and a list read again from the position marks nothing
twice (the connector drops what is at or before it; a record marked already stays as it
was). These are explicit deletes: no ``max_share`` guard; a key the store does not hold
(never loaded, or of a record made and deleted between two runs) is counted as unknown.

The pass runs before the stream's read, which starts only once the pass is done: the
log of deletes is applied first and the records' current state after it, so a record
deleted and then restored under the same key (Salesforce's undelete) is undeleted again
by the read that follows (an upsert clears the marks), not deleted after it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Engine

from crm_core.ledger import runs
from crm_core.pull import deletes, positions, state
from mappings.compile import CompiledStream
from schemas.errors import ConfigError, FatalSyncError
from schemas.source import DeletedSinceSource, Source, StreamSpec

log = logging.getLogger("crm_hub.sync")

#: What the run's ``checks`` calls this pass.
DELETED_SINCE = "deleted_since"


def read_pass(
    engine: Engine,
    source: Source,
    compiled: CompiledStream,
    spec: StreamSpec,
    run_id: int,
    counts: runs.RunCounts,
    batch_size: int,
    guard: Callable[[], AbstractContextManager[None]],
) -> None:
    """Mark deleted the records the source lists as deleted since the stream's deletes
    position, a batch per transaction with the position after it; ``guard`` bounds each
    transaction (the store's timeout). The outcome goes into ``counts``
    (``rows_deleted``, ``checks["deletes"]``) and the run's ledger row with each batch."""
    if not isinstance(source, DeletedSinceSource):
        raise ConfigError(
            f"source {source.name!r} stream {spec.name!r}: deletes.deleted_since needs a "
            "connector that reads a list of deleted records (the REST connector does); "
            "use detect or flag for this source"
        )
    gone = [c for c in compiled.key_columns if c not in spec.primary_key]
    if gone:
        raise FatalSyncError(
            f"source {source.name!r} stream {spec.name!r}: deletes.deleted_since gives the "
            f"primary key ({', '.join(spec.primary_key)}), but the mapping makes the model's "
            f"key from {', '.join(compiled.key_columns)}"
        )
    started = time.perf_counter()
    name = state.deletes_name(spec.name)
    with engine.connect() as conn:
        since = state.get_position(conn, source.name, name)
    outcome: dict[str, Any] = {
        "pass": DELETED_SINCE,
        "since": positions.describe(since),
        "listed": 0,
        "deleted": 0,
        "already_deleted": 0,
        "unknown": 0,
    }
    counts.checks["deletes"] = outcome
    entity = compiled.entity.name
    for batch in source.read_deleted(spec.name, since, batch_size):
        listed = batch.keys.unique()
        keys = compiled.keys(listed)  # a key that does not map is no key the store holds
        before = (counts.rows_deleted, dict(outcome))
        try:
            with guard(), engine.begin() as conn:
                held: list[int] = []
                marked = deletes.mark_deleted(conn, entity, source.name, keys, run_id, held)
                state.set_position(conn, source.name, name, batch.position, run_id)
                counts.rows_deleted += marked
                outcome["listed"] += batch.keys.height
                outcome["deleted"] += marked
                outcome["already_deleted"] += sum(held) - marked
                outcome["unknown"] += listed.height - sum(held)
                outcome["position"] = positions.describe(batch.position)
                outcome["seconds"] = round(time.perf_counter() - started, 3)
                runs.record_deletes(conn, run_id, counts)
        except BaseException:
            counts.rows_deleted = before[0]  # the batch's marks were rolled back
            outcome.clear()
            outcome.update(before[1])
            raise
    outcome["seconds"] = round(time.perf_counter() - started, 3)
    log.info(
        "%s.%s: %d listed deleted since %s, %d marked (%d unknown)",
        source.name,
        spec.name,
        outcome["listed"],
        outcome["since"],
        outcome["deleted"],
        outcome["unknown"],
    )
