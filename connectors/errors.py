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
from schemas.secrets import is_secret_name, mask_secrets
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
#: Exception classes that mean a lost link or a timeout, whatever their message (DBAPI's
#: ``OperationalError`` is not one: it is raised for a missing table too).
TRANSIENT_NAMES = {
    "ConnectionError",
    "Timeout",
    "ConnectTimeout",
    "ReadTimeout",
    "TimeoutError",
    "BrokenPipeError",
    "ConnectionResetError",
}
SQLSTATE = re.compile(r"[0-9A-Z]{5}")
SQLSTATE_IN_TEXT = re.compile(r"SQLSTATE[= ]([0-9A-Z]{5})")
#: SQLSTATE classes worth a retry: 08 connection exception, 40 transaction rollback
#: (serialization failure, deadlock), 53 insufficient resources, HY timeouts are below.
TRANSIENT_CLASSES = {"08", "40", "53"}
#: Single SQLSTATEs worth a retry: 57014 query cancelled (a statement timeout), 57P01-57P03
#: server shut down or starting, 55P03 lock not available, HYT00/HYT01 ODBC timeouts,
#: 57033 Db2 deadlock or timeout, 58004 Db2 system error.
TRANSIENT_STATES = {"57014", "57P01", "57P02", "57P03", "55P03", "HYT00", "HYT01", "57033"}
#: SQLSTATEs that say nothing of the cause (general error, internal error): the message does.
GENERIC_STATES = {"HY000", "XX000", "00000"}
#: MySQL/MariaDB error numbers: lost or refused connections, lock wait timeout, deadlock.
MYSQL_TRANSIENT = {2002, 2003, 2006, 2012, 2013, 2055, 1040, 1205, 1213, 3024}
#: ... and a missing table or column, a denied command, bad SQL.
MYSQL_FATAL = {1044, 1045, 1049, 1054, 1064, 1142, 1143, 1146, 1698}
#: Messages that name a missing object or a refused permission (SQLite has no SQLSTATE).
FATAL_TEXT = re.compile(
    r"no such (table|column|function)|does not exist|permission denied|not authorized|"
    r"readonly database|syntax error|unknown column|doesn't exist|SQL0204N|SQL0206N|SQL0551N",
    re.IGNORECASE,
)
#: Messages of a lost, refused or timed-out connection, a busy or unreachable database file,
#: a deadlock.
TRANSIENT_TEXT = re.compile(
    r"server closed the connection|connection (was )?(refused|reset|timed out|lost|closed)|"
    r"could not connect|consuming input failed|terminating connection|SSL SYSCALL|"
    r"lost connection|broken pipe|timed? ?out|timeout expired|database is locked|"
    r"deadlock|could not serialize|no route to host|network is unreachable|"
    r"can't connect|connection to server .* failed|EOF detected|IO error|I/O error|"
    r"unable to open database file",
    re.IGNORECASE,
)
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
    """``message`` with the URL's password and the values of secrets in its query string
    masked wherever they appear, then every secret it shows (``mask_secrets``)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return mask_secrets(message)
    values = [parsed.password] + [
        v
        for k, vs in parsed.query.items()
        if is_secret_name(k)
        for v in ([vs] if isinstance(vs, str) else vs)
    ]
    for value in values:
        if value:
            message = message.replace(str(value), "***")
    return mask_secrets(message)


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


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE a driver error carries, if any (psycopg and ADBC ``sqlstate``, pyodbc's
    first argument, Db2's ``SQLSTATE=`` in the message)."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    if isinstance(state, str) and SQLSTATE.fullmatch(state):
        return state
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], str) and SQLSTATE.fullmatch(args[0]):
        return args[0]
    found = SQLSTATE_IN_TEXT.search(str(orig))
    return found.group(1) if found else None


def is_transient(exc: BaseException) -> bool:
    """Whether a retry may succeed: lost or refused connections, timeouts, deadlocks and
    serialization failures. A missing table or column, a refused permission, bad SQL are
    not (a human must fix them). Decided by the SQLSTATE or the driver's error number
    where there is one, else by the message: a DBAPI class such as ``OperationalError``
    holds both kinds ("no such table" and "server closed the connection")."""
    orig = getattr(exc, "orig", None) or exc
    state = sqlstate(exc)
    if state is not None and state not in GENERIC_STATES:
        return state[:2] in TRANSIENT_CLASSES or state in TRANSIENT_STATES
    code = _error_number(orig)
    if code is not None and code in MYSQL_TRANSIENT | MYSQL_FATAL:
        return code in MYSQL_TRANSIENT
    text = str(orig)
    if FATAL_TEXT.search(text):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if TRANSIENT_TEXT.search(text) or any(code in text for code in TRANSIENT_CODES):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__} | {
        cls.__name__ for cls in type(orig).__mro__
    }
    return bool(names & TRANSIENT_NAMES)


def _error_number(exc: BaseException) -> int | None:
    """A MySQL/MariaDB client's error number (pymysql's first argument)."""
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


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


def is_duplicate_key(exc: BaseException) -> bool:
    """Whether an integrity error is a unique-key violation (another writer inserted the
    same key), as opposed to a constraint refusing the values: SQLSTATE 23505, MySQL's
    1062, SQLite's "UNIQUE constraint failed"."""
    orig = getattr(exc, "orig", None) or exc
    return (
        sqlstate(exc) == "23505"
        or _error_number(orig) == 1062
        or "UNIQUE constraint failed" in str(orig)
        or "duplicate key" in str(orig).lower()
    )
