"""``crm-hub check`` against a live source: connect, then hold every mapped stream against
the columns and types the source has now (see :mod:`crm_core.pull.mapped_columns`), telling
typos from drift by the run ledger's record of the last run's columns."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from connectors import open_source
from crm_core.ledger import runs
from crm_core.pull.mapped_columns import LastRun, column_problems, stream_label
from mappings.spec import MappingFile
from schemas.errors import HubError
from schemas.settings import HubConfig
from schemas.source import Source


def check_source(
    config: HubConfig, name: str, mapping: MappingFile, ledger: Engine | None
) -> list[str]:
    """Every problem of one source: connecting and touching its streams (the connector's
    ``check``), then each mapped stream's columns, all at once. ``ledger`` reads the run
    ledger (None: no store yet, every missing column is a typo)."""
    cfg = config.source(name)
    source = open_source(name, cfg, config.base_dir)
    try:
        try:
            source.check()
        except HubError as exc:
            return [str(exc)]  # no connection, or a stream that cannot be read at all
        problems: list[str] = []
        for spec in source.streams():
            smap = mapping.streams.get(spec.name)
            if smap is None:
                continue
            try:
                columns = stream_columns(source, spec.name)
            except HubError as exc:
                problems.append(str(exc))
                continue
            if columns is None:
                continue  # the source cannot tell (an API with no records yet)
            last = last_run(ledger, name, spec.name)
            where = stream_label(spec)
            problems += column_problems(cfg.mapping, spec.name, smap, columns, where, last)
        return problems
    finally:
        source.close()


def stream_columns(source: Source, stream: str) -> dict[str, str] | None:
    """The stream's columns with their type names: the connector's ``column_types`` (a
    connector without one: the columns of its first batch, types unknown)."""
    describe = getattr(source, "column_types", None)
    if describe is not None:
        found: dict[str, str] | None = describe(stream)
        return found
    batches = iter(source.read(stream, None, 1))
    try:
        first = next(batches, None)
    finally:
        getattr(batches, "close", lambda: None)()
    return None if first is None else dict.fromkeys(first.columns, "")


def last_run(ledger: Engine | None, source: str, stream: str) -> LastRun | None:
    """The last run of the stream that read rows, with its columns (None: no such run, or
    a store without the ledger yet)."""
    if ledger is None:
        return None
    try:
        return runs.last_columns_run(ledger, source, stream)
    except SQLAlchemyError:
        return None
