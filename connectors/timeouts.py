"""Bounded waits on every database connection the hub opens: each driver's way of saying it.

A connection's ``timeouts`` (:class:`schemas.settings.Timeouts`: ``connect``, ``read``,
``statement``, in seconds) become:

- PostgreSQL (psycopg, and the libpq URI of the columnar reads): ``connect_timeout``, TCP
  keepalives and ``tcp_user_timeout`` (a peer that stopped acknowledging), and the server's
  ``statement_timeout`` when ``statement`` is given (none by default: a full read is one
  statement, as long as the table is large);
- MySQL/MariaDB (pymysql): ``connect_timeout``, ``read_timeout``, ``write_timeout``;
- SQLite: the busy timeout (how long to wait for another writer's lock);
- Db2 (ibm_db): receive (idle read) and query timeouts; not the login timeout, with which
  the CLI driver reports a refused connection as timed out (SQL30081N code 110, not 111);
- ODBC (pyodbc): the login timeout and the connection's query ``timeout``.

A connection that goes silent without closing (a proxy or firewall that stops forwarding
but keeps the socket open, so TCP itself sees nothing wrong) is not caught by any of
these on PostgreSQL: libpq has no read timeout. :class:`ConnectionWatch` covers that: when
work given a deadline overruns it, it cuts (shuts down the sockets of) the engine's
PostgreSQL connections, which turns the endless wait into the driver's "connection lost"
error, and remembers it did, so that the error can say why.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from schemas.settings import Timeouts

#: SQLite's wait for another writer's lock unless ``statement`` says otherwise.
SQLITE_BUSY_SECONDS = 30.0
#: How often the watch looks at the connections it keeps.
WATCH_INTERVAL = 0.5


def millis(seconds: float) -> int:
    """Seconds as whole milliseconds (at least 1)."""
    return max(1, int(seconds * 1000))


def libpq_params(timeouts: Timeouts) -> dict[str, str]:
    """libpq connection parameters for ``timeouts`` (psycopg keywords, or a URI's query)."""
    idle = max(1, int(min(timeouts.read, 60)))
    params = {
        "connect_timeout": str(max(1, round(timeouts.connect))),
        "keepalives": "1",
        "keepalives_idle": str(idle),
        "keepalives_interval": str(max(1, idle // 3)),
        "keepalives_count": "3",
        "tcp_user_timeout": str(millis(timeouts.read)),
    }
    if timeouts.statement is not None:
        params["options"] = f"-c statement_timeout={millis(timeouts.statement)}"
    return params


def connect_args(backend: str, driver: str, timeouts: Timeouts) -> dict[str, Any]:
    """``connect_args`` for ``create_engine`` that bound the driver's waits."""
    if backend == "postgresql" and driver in ("psycopg", "psycopg2", ""):
        return dict(libpq_params(timeouts))
    if backend in ("mysql", "mariadb") and driver == "pymysql":
        return {
            "connect_timeout": max(1, round(timeouts.connect)),
            "read_timeout": max(1, round(timeouts.read)),
            "write_timeout": max(1, round(timeouts.read)),
        }
    if backend == "sqlite":
        return {"timeout": timeouts.statement or SQLITE_BUSY_SECONDS}
    if backend in ("db2", "ibm_db_sa") or driver in ("ibm_db", "ibm_db_sa"):
        return {"conn_options": _db2_options(timeouts)}
    return {}


def _db2_options(timeouts: Timeouts) -> dict[int, int]:
    """ibm_db connection attributes: receive (idle read) and query timeouts."""
    try:
        import ibm_db
    except ImportError:
        return {}
    options = {
        ibm_db.SQL_ATTR_RECEIVE_TIMEOUT: max(1, round(timeouts.read)),
    }
    if timeouts.statement is not None:
        options[ibm_db.SQL_ATTR_QUERY_TIMEOUT] = max(1, round(timeouts.statement))
    return options


def odbc_query_timeout(conn: Any, timeouts: Timeouts) -> None:
    """Bound every statement of a pyodbc connection when ``statement`` is given (seconds;
    the driver cancels it)."""
    if timeouts.statement is not None:
        conn.timeout = max(1, round(timeouts.statement))


def cut(dbapi_conn: Any) -> bool:
    """Shut down the socket of a psycopg connection, so that a call waiting on it returns
    with "connection lost"; False if the connection has no socket the hub can reach."""
    pgconn = getattr(dbapi_conn, "pgconn", None)
    try:
        fd = int(pgconn.socket) if pgconn is not None else -1
    except Exception:  # noqa: BLE001 - a closed connection has no socket
        return False
    if fd < 0:
        return False
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()
    return True


class ConnectionWatch:
    """Cuts an engine's PostgreSQL connections when work given a deadline overruns it
    (see the module docstring): ``with watch.deadline(seconds):`` around each piece of
    work whose every wait should be short (a batch's transaction, a ledger update).

    Every connection the engine hands out while the watch runs is known to it; when a
    deadline passes, all of them are cut (any of them may be the one waiting, a pool's
    ping included), and ``fired`` keeps the seconds of the deadline that did it.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.fired: float | None = None
        self._known: dict[int, Any] = {}
        self._deadlines: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _note(self, dbapi_conn: Any, *_: Any) -> None:
        with self._lock:
            self._known[id(dbapi_conn)] = dbapi_conn

    def _forget(self, dbapi_conn: Any, *_: Any) -> None:
        with self._lock:
            self._known.pop(id(dbapi_conn), None)

    def start(self) -> ConnectionWatch:
        """Watch from now on (a no-op on databases other than PostgreSQL)."""
        if self.engine.dialect.name != "postgresql" or self._thread is not None:
            return self
        event.listen(self.engine, "connect", self._note)
        event.listen(self.engine, "checkout", self._note)
        event.listen(self.engine, "close", self._forget)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="crm-hub-watch", daemon=True)
        self._thread.start()
        return self

    @contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """Cut the engine's connections if the block is still running after ``seconds``."""
        token = object()
        with self._lock:
            self._deadlines[id(token)] = (time.monotonic() + seconds, seconds)
        try:
            yield
        finally:
            with self._lock:
                self._deadlines.pop(id(token), None)

    def _run(self) -> None:
        while not self._stop.wait(WATCH_INTERVAL):
            now = time.monotonic()
            with self._lock:
                overrun = [(k, s) for k, (due, s) in self._deadlines.items() if now > due]
                for key, _ in overrun:
                    self._deadlines.pop(key, None)
                known = list(self._known.values()) if overrun else []
            if overrun:
                self.fired = overrun[0][1]
                for conn in known:
                    cut(conn)

    def stop(self) -> None:
        """Stop watching."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        event.remove(self.engine, "connect", self._note)
        event.remove(self.engine, "checkout", self._note)
        event.remove(self.engine, "close", self._forget)
        with self._lock:
            self._known.clear()

    def __enter__(self) -> ConnectionWatch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
