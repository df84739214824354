"""One runner per stream: a lease in the store, held while a run goes on.

Whatever starts a run (``crm-hub sync`` by hand, an Airflow task, a second Airflow, a retry
racing a zombie), the run first takes the lease of its source and stream; a second runner
finds it taken and stops at once with :class:`AlreadyRunning`, its own ledger row recorded
as :data:`~crm_core.ledger.runs.REFUSED` (not a failure of the stream). Pulls, reconcile
and push-back all take it (:func:`start_leased_run`).

The lease is one the database or the operating system gives back when its holder dies, so a
killed runner never leaves a stream locked:

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock`` on a hash of source
  and stream) on a connection of its own, out of the pool, held for the run; the server
  releases it when the connection ends;
- MySQL and MariaDB: ``GET_LOCK`` the same way;
- SQLite: ``flock`` on ``<store file>.locks/<source>.<stream>.lock``, released by the
  kernel when the process ends (an in-memory store: a lock within the process).

The run a dead holder left ``running`` reads as interrupted, and the next holder closes it
(:func:`crm_core.ledger.runs.start_run`).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select, text

from crm_core.ledger import runs
from crm_core.store.tables import runs as runs_table
from schemas.errors import HubError

try:  # not on Windows: there the SQLite store's lease is the process lock
    import fcntl
except ImportError:  # pragma: no cover - POSIX everywhere the hub is tested
    fcntl = None  # type: ignore[assignment]

#: How long a refused runner waits for the holder's run to show in the ledger (the holder
#: takes the lease a moment before it opens its run).
HOLDER_WAIT_SECONDS = 2.0

_process_locks: set[tuple[str, str, str]] = set()
_process_guard = threading.Lock()


class AlreadyRunning(HubError):
    """Another runner holds the lease of this stream; this run did not start."""

    def __init__(self, message: str, run_id: int | None = None) -> None:
        super().__init__(message)
        #: the refused run's own ledger row
        self.run_id = run_id


class Lease:
    """A held lease; :meth:`release` gives it back (again is a no-op)."""

    def __init__(self, source: str, stream: str, release: Callable[[], None]) -> None:
        self.source, self.stream = source, stream
        self._release: Callable[[], None] | None = release

    @property
    def held(self) -> bool:
        """Whether the lease is still held."""
        return self._release is not None

    def release(self) -> None:
        """Give the lease back."""
        release, self._release = self._release, None
        if release is not None:
            release()


def lock_key(source: str, stream: str) -> int:
    """The signed 64-bit advisory lock key of a stream (the same in every process)."""
    digest = hashlib.sha256(f"crm-hub lease {source}/{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def acquire(engine: Engine, source: str, stream: str) -> Lease | None:
    """Take the lease of ``source.stream`` without waiting; None when another holds it."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        return _session_lock(
            engine,
            source,
            stream,
            "SELECT pg_try_advisory_lock(:key)",
            "SELECT pg_advisory_unlock(:key)",
            lock_key(source, stream),
        )
    if dialect in ("mysql", "mariadb"):
        name = "crm-hub:" + hashlib.sha256(f"{source}/{stream}".encode()).hexdigest()[:48]
        return _session_lock(
            engine, source, stream, "SELECT GET_LOCK(:key, 0)", "SELECT RELEASE_LOCK(:key)", name
        )
    if dialect == "sqlite":
        folder = lock_folder(engine)
        if folder is not None and fcntl is not None:
            return _file_lock(folder, source, stream)
    return _process_lock(str(engine.url), source, stream)


def _session_lock(
    engine: Engine, source: str, stream: str, take: str, give: str, key: Any
) -> Lease | None:
    """A lock of the database session, on a connection of its own that leaves the pool:
    closing it (or the process dying) ends the session and so the lock."""
    conn = engine.connect()
    try:
        conn.detach()  # closed for real on release: never handed to another user
        got = conn.execute(text(take), {"key": key}).scalar()
        conn.commit()
    except BaseException:
        conn.close()
        raise
    if not got:
        conn.close()
        return None

    def release() -> None:
        try:
            conn.execute(text(give), {"key": key})
            conn.commit()
        except Exception:  # noqa: BLE001 - closing the session releases it anyway
            pass
        finally:
            conn.close()

    return Lease(source, stream, release)


def lock_folder(engine: Engine) -> Path | None:
    """The folder of a SQLite store's lock files, beside its file (None in memory)."""
    db = engine.url.database
    if not db or db == ":memory:" or "mode=memory" in db:
        return None
    if db.startswith("file:"):
        db = db[len("file:") :].split("?", 1)[0]
    return Path(f"{db}.locks")


def _file_lock(folder: Path, source: str, stream: str) -> Lease | None:
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{source}.{stream}")
    handle: IO[str] = open(folder / f"{name}.lock", "a+")  # noqa: SIM115 - held for the run
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    handle.truncate(0)
    handle.write(f"{runs.HOST} pid {os.getpid()}\n")
    handle.flush()

    def release() -> None:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    return Lease(source, stream, release)


def _process_lock(store: str, source: str, stream: str) -> Lease | None:
    key = (store, source, stream)
    with _process_guard:
        if key in _process_locks:
            return None
        _process_locks.add(key)

    def release() -> None:
        with _process_guard:
            _process_locks.discard(key)

    return Lease(source, stream, release)


def holder(engine: Engine, source: str, stream: str) -> dict[str, Any] | None:
    """The ``running`` run of a stream whose process is alive (None if there is none)."""
    stmt = (
        select(runs_table)
        .where(
            runs_table.c.source == source,
            runs_table.c.stream == stream,
            runs_table.c.status == runs.RUNNING,
        )
        .order_by(runs_table.c.id.desc())
        .limit(5)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(stmt)]
    return next((r for r in rows if not runs.process_gone(r)), None)


def describe(row: dict[str, Any] | None) -> str:
    """``already running (run N, since <time>, on HOST pid P)``."""
    if row is None:
        return "already running (its run is being opened)"
    since = row["started_at"]
    return (
        f"already running (run {row['id']}, since {since:%Y-%m-%d %H:%M:%S} UTC, "
        f"on {row.get('host') or '?'} pid {row.get('pid') or '?'})"
    )


def refuse(engine: Engine, source: str, stream: str, entity: str, mode: str) -> AlreadyRunning:
    """Record a refused run in the ledger, naming the holder; return the error to raise."""
    deadline = time.monotonic() + HOLDER_WAIT_SECONDS
    row = holder(engine, source, stream)
    while row is None and time.monotonic() < deadline:
        time.sleep(0.1)
        row = holder(engine, source, stream)
    reason = describe(row)
    run_id = runs.record_refused(engine, source, stream, entity, mode, reason)
    return AlreadyRunning(f"{source}.{stream}: {reason}; run {run_id} did not start", run_id)


def start_leased_run(
    engine: Engine, source: str, stream: str, entity: str, mode: str, heartbeat: bool = False
) -> tuple[int, Lease]:
    """Take the stream's lease, then open its run (:func:`crm_core.ledger.runs.start_run`);
    raise :class:`AlreadyRunning` (its refused run recorded) when another runner holds it.
    The caller releases the lease when the run is closed."""
    lease = acquire(engine, source, stream)
    if lease is None:
        raise refuse(engine, source, stream, entity, mode)
    try:
        run_id = runs.start_run(engine, source, stream, entity, mode, heartbeat=heartbeat)
    except BaseException:
        lease.release()
        raise
    return run_id, lease
