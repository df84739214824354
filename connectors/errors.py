"""Driver errors turned into the hub's: one clear line, transient ones retriable, no secrets.

Every connector wraps its driver calls in ``source_errors`` so that callers only ever see
``RetriableError`` (connection lost, server down, timeout: a later try may work) or
``ConfigError`` (bad table, bad SQL, refused login: a human must fix something).
A connector may pass an ``explain`` function that turns its driver's errors into a clearer
line (the DB2 connector names host and port for SQL30081N, for instance).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
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
TRANSIENT_CODES = (
    "SQL30081N",
    "SQL1224N",
    "SQL30108N",
    "SQL0911N",  # Db2 deadlock or lock timeout
    "SQL0913N",
    "08001",
    "08S01",
    "HYT00",
    "Can't connect to",  # MySQL/MariaDB client libraries: server down or unreachable
)
#: Refused logins: SQLSTATE class 28, Db2's SQL30082N, MySQL/MariaDB's 1044/1045/1698.
AUTH_FAILURE = re.compile(
    r"SQLSTATE[= ]28|\[28[0-9A-Z]{3}\]|SQL30082N|password authentication failed|"
    r"role \S+ does not exist|Access denied for user|\b28P01\b"
)
AUTH_CODES = {1044, 1045, 1698}
#: The install line for each database driver module a connector may miss (its extra).
DRIVER_EXTRAS = {
    "psycopg": "pip install 'crm-hub[postgres]'",
    "adbc_driver_postgresql": "pip install 'crm-hub[postgres]'",
    "psycopg2": "pip install 'crm-hub[postgres]' and write the URL as postgresql+psycopg://",
    "pymysql": "pip install 'crm-hub[mysql]'",
    "MySQLdb": "pip install 'crm-hub[mysql]' and write the URL as mysql+pymysql://",
    "ibm_db": "pip install 'crm-hub[db2]'",
    "ibm_db_dbi": "pip install 'crm-hub[db2]'",
    "ibm_db_sa": "pip install 'crm-hub[db2]'",
    "pyodbc": "pip install 'crm-hub[odbc]'",
}
#: The same by SQLAlchemy backend name, for a dialect that is not installed at all.
BACKEND_EXTRAS = {
    "postgresql": DRIVER_EXTRAS["psycopg"],
    "mysql": DRIVER_EXTRAS["pymysql"],
    "mariadb": DRIVER_EXTRAS["pymysql"],
    "db2": DRIVER_EXTRAS["ibm_db"],
    "ibm_db_sa": DRIVER_EXTRAS["ibm_db"],
    "db2as400": DRIVER_EXTRAS["ibm_db"],
}
#: Turns a driver error into a clearer one-line message, or None to keep the driver's line.
Explain = Callable[[BaseException], "str | None"]


def first_line(exc: BaseException) -> str:
    """The first line of a (driver) error's message, at most 300 characters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:300] if text else type(orig).__name__


def install_hint(exc: BaseException, backend: str = "") -> str:
    """The ``pip install`` line for a missing driver (by the module the import missed, else
    by the URL's backend), or a general one."""
    missing = (getattr(exc, "name", None) or "").split(".")[0]
    line = DRIVER_EXTRAS.get(missing) or BACKEND_EXTRAS.get(backend)
    return line or "pip install the DB-API driver the URL names"


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


def is_auth_failure(exc: BaseException) -> bool:
    """Whether the server refused the login (wrong user or password): not worth a retry."""
    orig = getattr(exc, "orig", None) or exc
    state = str(getattr(orig, "sqlstate", "") or "")
    args = getattr(orig, "args", ())
    code = args[0] if args else None
    return (
        state.startswith("28")
        or (isinstance(code, str) and bool(re.fullmatch(r"28[0-9A-Z]{3}", code)))
        or (isinstance(code, int) and code in AUTH_CODES)
        or bool(AUTH_FAILURE.search(str(orig)))
    )


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: lost or refused connections, timeouts."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", None) or exc
    if type(orig).__module__ == "pyodbc":  # its class says little; the SQLSTATE says it
        return _odbc_transient(orig)
    names = {cls.__name__ for cls in type(exc).__mro__} | {
        cls.__name__ for cls in type(orig).__mro__
    }
    return bool(names & TRANSIENT_NAMES) or any(code in str(orig) for code in TRANSIENT_CODES)


def _odbc_transient(exc: BaseException) -> bool:
    """pyodbc raises InterfaceError for a missing DSN as for a lost link: use the SQLSTATE
    (class 08 connection exceptions, timeouts, serialization failures)."""
    state = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    return (
        state.startswith("08")
        or state in {"HYT00", "HYT01", "40001"}
        or any(code in str(exc) for code in TRANSIENT_CODES)
    )


@contextmanager
def source_errors(
    source: str, url: str, doing: str, explain: Explain | None = None
) -> Iterator[None]:
    """Translate driver errors raised inside the block (see the module docstring)."""
    try:
        yield
    except HubError:
        raise
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        detail = (explain(exc) if explain else None) or first_line(exc)
        message = scrub(f"source {source!r} ({redact_url(url)}): {doing}: {detail}", url)
        if is_auth_failure(exc):
            raise ConfigError(message) from None
        if is_transient(exc):
            raise RetriableError(message) from None
        raise ConfigError(message) from None
