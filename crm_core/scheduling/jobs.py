"""Entry points for schedulers: one call per unit of work, no scheduler types involved.

Airflow tasks (``dags/``) call these with the config path and nothing else of Airflow's;
each returns a plain dict for the task log and XCom, and raises the hub's typed errors
(``RetriableError`` for transient failures, anything else is fatal) so the caller can
decide between retry and fail.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from crm_core.ledger import health, runs
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK, RECONCILE
from crm_core.pull.sync import StreamResult, SyncEngine
from crm_core.store.db import open_store
from schemas.errors import FatalSyncError, RetriableError
from schemas.secrets import mask_secrets
from schemas.settings import HubConfig, load_config

log = logging.getLogger("crm_hub.jobs")
#: How far the scheduler's clock may be ahead of the workers' when matching ledger rows.
CLOCK_SKEW = timedelta(seconds=30)


def load(config_path: str | os.PathLike[str] | None = None) -> HubConfig:
    """The hub's config (``$CRM_HUB_CONFIG`` or ./crm-hub.yaml when no path is given)."""
    return load_config(Path(config_path) if config_path else None)


def sync_stream(
    source: str,
    stream: str,
    config_path: str | os.PathLike[str] | None = None,
    full_refresh: bool = False,
    attempt: int | None = None,
    max_attempts: int | None = None,
) -> dict[str, Any]:
    """Sync one stream of one source; raise if the run failed, return its counts if not.
    ``attempt`` of ``max_attempts`` is the scheduler's try, recorded with the run (see
    :func:`crm_core.ledger.runs.set_attempt`)."""
    config = load(config_path)
    store = open_store(config.store_url(), config.store.timeouts)
    began = datetime.now(UTC)
    try:
        [result] = SyncEngine(config, store).sync_source(source, [stream], full_refresh)
    finally:
        _note_attempt(store, source, stream, began, attempt, max_attempts)
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
        "rows_deleted": result.counts.rows_deleted,
        "seconds": round(result.seconds, 3),
        "error": result.error,
    }


def _note_attempt(
    store: Engine,
    source: str,
    stream: str,
    began: datetime,
    attempt: int | None,
    max_attempts: int | None,
) -> None:
    """Record the scheduler's try with the run this task made (never raises: the run's
    own outcome matters more)."""
    if attempt is None or max_attempts is None:
        return
    try:
        runs.note_attempt(store, source, stream, began - CLOCK_SKEW, attempt, max_attempts)
    except Exception as exc:  # noqa: BLE001 - report, never hide the run's outcome
        log.warning("crm-hub: could not record try %s of %s: %s", attempt, max_attempts, exc)


def reconcile(
    config_path: str | os.PathLike[str] | None = None,
    full: bool = False,
    attempt: int | None = None,
    max_attempts: int | None = None,
) -> dict[str, Any]:
    """Reconcile: match new and changed customer records, keep golden ids stable, rebuild
    the golden records they touch (see :mod:`crm_core.golden.reconcile`), as a ledger run.

    Returns the rows changed per source and stream since the previous reconcile
    (``run_id``, ``since``, ``until``, ``runs``, ``rows_changed``, ``rows_quarantined``,
    ``streams``, see :mod:`crm_core.golden.stocktake`) and what this run did (``mode``,
    ``records_matched``, ``golden_created``, ``golden_updated``, ``golden_merged``, ...).
    """
    from crm_core.golden import reconcile as run_reconcile

    config = load(config_path)
    store = open_store(config.store_url(), config.store.timeouts)
    began = datetime.now(UTC)
    try:
        result = run_reconcile(store, config.reconcile, full=full)
    finally:
        _note_attempt(store, HUB_SOURCE, RECONCILE, began, attempt, max_attempts)
        store.dispose()
    log.info(
        "reconcile (%s): %s rows changed by %s runs since %s; %s records matched, "
        "%s golden created, %s updated, %s merged, %s in all (run %s)",
        result["mode"],
        result["rows_changed"],
        result["runs"],
        result["since"] or "the first run",
        result["records_matched"],
        result["golden_created"],
        result["golden_updated"],
        result["golden_merged"],
        result["golden_total"],
        result["run_id"],
    )
    return result


def push_back(
    config_path: str | os.PathLike[str] | None = None,
    attempt: int | None = None,
    max_attempts: int | None = None,
) -> dict[str, Any]:
    """Write the due CRM-side changes to the systems that own their fields (see
    :mod:`crm_core.pushback.deliver`); returns the run's counts. Dead letters fail the
    task (they need a person: ``crm-hub outbox list --failed``); changes waiting for a
    retry do not."""
    from crm_core.pushback.deliver import dead_letters_error
    from crm_core.pushback.deliver import push_back as run_push_back

    config = load(config_path)
    store = open_store(config.store_url(), config.store.timeouts)
    began = datetime.now(UTC)
    try:
        result = run_push_back(config, store)
    finally:
        _note_attempt(store, HUB_SOURCE, PUSH_BACK, began, attempt, max_attempts)
        store.dispose()
    log.info(
        "push-back (run %s): %s due, %s delivered (%s written, %s already there), "
        "%s conflicts, %s to retry, %s dead letters, %s waiting",
        result.run_id,
        result.changes,
        result.delivered,
        result.written,
        result.already_applied,
        result.conflicts,
        result.retrying,
        result.failed,
        result.waiting,
    )
    if result.failed:  # the run is failed in the ledger with the same reason
        raise FatalSyncError(
            f"push-back failed (run {result.run_id}): {dead_letters_error(result)}"
        )
    return result.as_dict()


def loaded_since(
    source: str, since: datetime, config_path: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Rows a source's runs started at ``since`` or later loaded into the store."""
    config = load(config_path)
    store = open_store(config.store_url(), config.store.timeouts)
    try:
        return {"source": source, **health.rows_loaded_since(store, source, since)}
    finally:
        store.dispose()


def record_failure(
    source: str,
    stream: str,
    error: str,
    started_at: datetime | None = None,
    config_path: str | os.PathLike[str] | None = None,
    attempt: int | None = None,
    max_attempts: int | None = None,
) -> str:
    """Log one line for a failed scheduler task and make sure the ledger shows it.

    ``started_at`` is when the failed attempt began. Returns the line logged. Never raises:
    a failure callback that fails would hide the failure it reports.
    """
    error = mask_secrets(error)
    first = (error.strip().splitlines() or ["unknown error"])[0]
    line = f"crm-hub: {source}.{stream} failed: {first}"
    log.error(line)
    try:
        config = load(config_path)
        store = open_store(config.store_url(), config.store.timeouts)
        try:
            since = started_at - CLOCK_SKEW if started_at else None
            run_id = runs.record_failed_attempt(store, source, stream, error, since)
            if attempt is not None and max_attempts is not None:
                runs.set_attempt(store, run_id, attempt, max_attempts)
        finally:
            store.dispose()
    except Exception as exc:  # noqa: BLE001 - report, never mask the original failure
        log.error(
            "crm-hub: could not record the failure in the run ledger: %s", mask_secrets(str(exc))
        )
        return line
    return f"{line} (run {run_id})"
