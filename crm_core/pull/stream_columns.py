"""What a stream's source columns say before its rows load: the columns of the last run
against this one's (schema drift, reported), a column the mapping reads that the source
lacks (the stream stops, each named at its line in the mapping file), and streams a
source's mapping lacks (the sync does not start)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import Engine

from crm_core.ledger import runs
from crm_core.pull.mapped_columns import column_problems, stream_label
from mappings.compile import CompiledStream
from schemas.errors import FatalSyncError
from schemas.settings import HubConfig
from schemas.source import StreamSpec
from schemas.yamlfile import located

log = logging.getLogger("crm_hub.sync")


def note_schema(
    source: str,
    stream: str,
    columns: list[str],
    checks: dict[str, Any],
    before: list[str] | None,
) -> None:
    """Record the columns the source sent, and any change since ``before``, the columns
    of the last run that read any: a new or vanished column is schema drift, reported
    (a vanished mapped column fails the mapping itself)."""
    checks["columns"] = list(columns)
    if before is None:
        return
    added = [c for c in columns if c not in before]
    removed = [c for c in before if c not in columns]
    if added or removed:
        checks["schema_drift"] = {"added": added, "removed": removed}
        log.warning(
            "%s.%s: schema drift: the source %s",
            source,
            stream,
            "; ".join(
                part
                for part in (
                    f"has new column(s) {', '.join(added)}" if added else "",
                    f"no longer has {', '.join(removed)}" if removed else "",
                )
                if part
            ),
        )


def require_columns(
    config: HubConfig,
    store: Engine,
    source: str,
    spec: StreamSpec,
    compiled: CompiledStream,
    present: list[str],
) -> None:
    """Stop the stream when a batch lacks a column the mapping reads, naming each at its
    line in the mapping file, as a typo or as drift (:mod:`crm_core.pull.mapped_columns`)."""
    if all(c in present for c in compiled.source_columns):
        return
    problems = column_problems(
        config.source(source).mapping,
        spec.name,
        compiled.spec,
        dict.fromkeys(present, ""),
        stream_label(spec),
        runs.last_columns_run(store, source, spec.name),
        types=False,
    )
    raise FatalSyncError(
        f"schema drift in stream {spec.name!r}: the mapping reads column(s) the source "
        "does not have:",
        problems,
    )


def unmapped_streams(
    config: HubConfig,
    source: str,
    mapped: Collection[str],
    streams: Iterable[str] | None = None,
) -> list[str]:
    """One problem per stream of ``source`` (the given ones, else every enabled one) that
    its mapping lacks, each with the file and line of the stream in the config file."""
    cfg = config.source(source)
    names = (
        list(streams) if streams is not None else [n for n, s in cfg.streams.items() if s.enabled]
    )
    problems = []
    for name in names:
        if name not in cfg.streams or name in mapped:
            continue  # a stream the config lacks is the connector's to name
        reason = (
            f"the mapping {cfg.mapping} has no stream {name!r} "
            f"(it maps: {', '.join(mapped) or 'none'})"
        )
        at = ["sources", source, "streams", name]
        problems.append(located(config.path, at, reason) if config.path else reason)
    return problems
