"""Entry points for schedulers: one call per unit of work, no scheduler types involved.

Airflow tasks (``dags/``) call these with the config path and nothing else of Airflow's;
each returns a plain dict for the task log and XCom, and raises the hub's typed errors
(``RetriableError`` for transient failures, anything else is fatal) so the caller can
decide between retry and fail.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from crm_core.store.db import open_store
from crm_core.sync import StreamResult, SyncEngine
from schemas.errors import FatalSyncError, RetriableError
from schemas.settings import HubConfig, load_config

log = logging.getLogger("crm_hub.jobs")


def load(config_path: str | os.PathLike[str] | None = None) -> HubConfig:
    """The hub's config (``$CRM_HUB_CONFIG`` or ./crm-hub.yaml when no path is given)."""
    return load_config(Path(config_path) if config_path else None)


def sync_stream(
    source: str,
    stream: str,
    config_path: str | os.PathLike[str] | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """Sync one stream of one source; raise if the run failed, return its counts if not."""
    config = load(config_path)
    store = open_store(config.store_url())
    try:
        [result] = SyncEngine(config, store).sync_source(source, [stream], full_refresh)
    finally:
        store.dispose()
    summary = summarize(result)
    log.info(
        "%s.%s %s: %s rows read, %s loaded, %s quarantined in %.2fs (run %s)",
        source,
        stream,
        result.mode,
        summary["rows_read"],
        summary["rows_loaded"],
        summary["rows_quarantined"],
        result.seconds,
        result.run_id,
    )
    if result.error:
        cls = RetriableError if result.retriable else FatalSyncError
        raise cls(f"{source}.{stream} failed (run {result.run_id}): {result.error}")
    return summary


def summarize(result: StreamResult) -> dict[str, Any]:
    """A run's outcome as plain data."""
    return {
        "source": result.source,
        "stream": result.stream,
        "entity": result.entity,
        "mode": result.mode,
        "status": result.status,
        "run_id": result.run_id,
        "rows_read": result.counts.rows_read,
        "rows_loaded": result.counts.rows_loaded,
        "rows_quarantined": result.counts.rows_quarantined,
        "seconds": round(result.seconds, 3),
        "error": result.error,
    }
