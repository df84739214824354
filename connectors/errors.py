"""Driver errors turned into the hub's: one clear line, transient ones retriable, no secrets.

Every connector wraps its driver calls in ``source_errors`` so that callers only ever see
``RetriableError`` (connection lost, server down, timeout: a later try may work) or
``ConfigError`` (bad table, bad SQL, refused login: a human must fix something).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from schemas.errors import ConfigError, HubError, RetriableError
from schemas.settings import redact_url

DRIVER_MODULES = {
    "adbc_driver_manager",
    "pyodbc",
    "ibm_db",
    "ibm_db_dbi",
    "psycopg",
    "pymysql",
    "sqlite3",
    "requests",
    "urllib3",
}
TRANSIENT_NAMES = {
    "OperationalError",
    "InterfaceError",
    "ConnectionError",
    "Timeout",
    "ConnectTimeout",
    "ReadTimeout",
}
TRANSIENT_CODES = ("SQL30081N", "SQL1224N", "SQL30108N", "08001", "08S01", "HYT00")


def first_line(exc: BaseException) -> str:
    """The first line of a (driver) error's message, at most 300 characters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:300] if text else type(orig).__name__


def scrub(message: str, url: str) -> str:
    """``message`` with the URL's password, if any, masked."""
    try:
        password = make_url(url).password
    except ArgumentError:
        password = None
    return message.replace(str(password), "***") if password else message


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from a database driver or SQLAlchemy."""
    return isinstance(exc, SQLAlchemyError) or any(
        cls.__module__.split(".")[0] in DRIVER_MODULES for cls in type(exc).__mro__
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: lost or refused connections, timeouts."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    names = {cls.__name__ for cls in type(exc).__mro__} | {
        cls.__name__ for cls in type(orig).__mro__
    }
    return bool(names & TRANSIENT_NAMES) or any(code in str(orig) for code in TRANSIENT_CODES)


@contextmanager
def source_errors(source: str, url: str, doing: str) -> Iterator[None]:
    """Translate driver errors raised inside the block (see the module docstring)."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        message = scrub(f"source {source!r} ({redact_url(url)}): {doing}: {first_line(exc)}", url)
        if is_transient(exc):
            raise RetriableError(message) from None
        raise ConfigError(message) from None
