"""Pooled store connections checked before use only when they may be dead.

A ping before every checkout (SQLAlchemy's ``pool_pre_ping``) costs a round trip per
request, and the API checks a connection out for every one. Here a connection is pinged
only when it may have died while in the pool: it was idle for :data:`PING_AFTER_IDLE`
seconds or more, or its socket has something to read (an idle connection has nothing
to read unless its peer closed or reset it, or the server said it is terminating it).
A connection that fails the ping is replaced, and every connection pooled before it is
replaced on its next checkout, as with ``pool_pre_ping``. A connection dropped silently
(a black hole) in the last few seconds, or cut so that the news has not reached its socket
yet when it is checked out, is found by the statement that uses it (bounded by the
store's read timeout, :mod:`connectors.timeouts`): that one request fails as retriable,
the pool is renewed, the next ones work. So only the API server uses this
(:func:`crm_core.store.db.create_store_engine`); runs keep a ping per checkout.
"""

from __future__ import annotations

import select
import time
from typing import Any

from sqlalchemy import Engine, event, exc

#: a connection idle in the pool this many seconds or more is pinged before use
PING_AFTER_IDLE = 5.0
#: where a pool record keeps when its connection was last checked in or made
_IDLE_SINCE = "crm_hub_idle_since"


def check_on_checkout(engine: Engine, idle_seconds: float = PING_AFTER_IDLE) -> None:
    """Ping ``engine``'s pooled connections on checkout only when they may be dead (see
    the module's doc); for an engine made without ``pool_pre_ping``."""
    dialect = engine.dialect

    def made(_dbapi_conn: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    def checked_in(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    def checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        idle = time.monotonic() - since if since is not None else idle_seconds
        if idle < idle_seconds and not may_be_closed(dbapi_conn):
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_conn, None):
                raise exc.InvalidatePoolError(f"store connection lost: {err}") from err
            raise

    event.listen(engine, "connect", made)
    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)


def may_be_closed(dbapi_conn: Any) -> bool:
    """Whether an idle DB-API connection may be closed: closed by its driver, no socket
    to look at, or a socket with something to read or an error or hang-up pending."""
    if getattr(dbapi_conn, "closed", False):
        return True
    try:
        fd = dbapi_conn.fileno()
    except Exception:  # noqa: BLE001 - any failure to find the socket: ping to be sure
        return True
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    readable, _, broken = select.select([fd], [], [fd], 0)
    return bool(readable or broken)
