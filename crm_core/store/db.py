"""Open the store: an engine on the configured URL, migrated to the current schema."""

from __future__ import annotations

import weakref
from pathlib import Path
from urllib.parse import quote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from connectors.errors import first_line, install_hint, is_transient
from connectors.timeouts import connect_args
from crm_core.store.liveness import check_on_checkout
from crm_core.store.sqlfuncs import register_sqlite_functions
from schemas.errors import ConfigError, FatalSyncError, HubError, RetriableError
from schemas.settings import Timeouts, redact_url

MIGRATIONS = Path(__file__).parent / "migrations"
#: the timeouts each store engine was made with, for connections made beside it (ADBC)
_TIMEOUTS: weakref.WeakKeyDictionary[Engine, Timeouts] = weakref.WeakKeyDictionary()


def alembic_config() -> Config:
    """Alembic's config pointing at the hub's migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def create_store_engine(
    url: str, timeouts: Timeouts | None = None, *, ping_each_checkout: bool = True
) -> Engine:
    """An engine for the store, its waits bounded by ``timeouts`` (the store's, default
    :class:`Timeouts`, see :mod:`connectors.timeouts`); SQLite gets WAL and a busy
    timeout. A pooled connection is pinged before each use (``pool_pre_ping``), or, with
    ``ping_each_checkout`` False (the API server, which checks one out per request), only
    when it may be dead (:mod:`crm_core.store.liveness`)."""
    try:
        parsed = make_url(url)
        args = connect_args(
            parsed.get_backend_name(), parsed.get_driver_name(), timeouts or Timeouts()
        )
        engine = create_engine(
            url, future=True, pool_pre_ping=ping_each_checkout, connect_args=args
        )
    except (NoSuchModuleError, ImportError) as exc:
        hint = install_hint(exc, make_url(url).get_backend_name())
        raise ConfigError(f"store {redact_url(url)}: {exc}; install it with: {hint}") from None
    except (SQLAlchemyError, ValueError) as exc:
        raise ConfigError(f"store {redact_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if not ping_each_checkout:
        check_on_checkout(engine)
    _TIMEOUTS[engine] = timeouts or Timeouts()
    return engine


def read_connection(store: Engine) -> Connection:
    """A connection for reads only, each statement seeing what was committed when it
    began (as in PostgreSQL's default READ COMMITTED transactions): on PostgreSQL it runs
    in autocommit, which spares the round trips of ``BEGIN`` and of the pool's
    ``ROLLBACK`` on return; elsewhere an ordinary connection. Never write on it: nothing
    would roll a half-done change back."""
    conn = store.connect()
    if store.dialect.name == "postgresql":
        conn.execution_options(isolation_level="AUTOCOMMIT")
    return conn


def store_timeouts(engine: Engine) -> Timeouts:
    """The timeouts ``engine`` was made with (default :class:`Timeouts` for an engine not
    made by :func:`create_store_engine`): a connection opened beside the engine, such as
    a columnar read's, is bounded the same way."""
    return _TIMEOUTS.get(engine) or Timeouts()


def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: object) -> None:
    register_sqlite_functions(dbapi_conn)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def store_error(exc: BaseException, doing: str) -> HubError:
    """A store driver error as the hub's, naming what the hub was doing: RetriableError
    when a retry may work (a lost connection, a timeout, a deadlock), else FatalSyncError
    (see :func:`connectors.errors.is_transient`)."""
    cls = RetriableError if is_transient(exc) else FatalSyncError
    orig = getattr(exc, "orig", None) or exc
    return cls(f"store: {doing}: {type(orig).__name__}: {first_line(exc)}")


def migrate(engine: Engine) -> None:
    """Bring the store's schema to the newest migration (a no-op when it is current)."""
    cfg = alembic_config()
    head = ScriptDirectory.from_config(cfg).get_current_head()
    try:
        with engine.begin() as conn:
            if MigrationContext.configure(conn).get_current_revision() == head:
                return
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except SQLAlchemyError as exc:
        raise ConfigError(
            f"store {redact_url(str(engine.url))}: cannot migrate: "
            f"{exc.__class__.__name__}: {str(exc.orig if hasattr(exc, 'orig') else exc)[:300]}"
        ) from None


def probe_store(url: str) -> str:
    """Connect to the store and say what state its schema is in, creating and changing
    nothing (``crm-hub check``): a SQLite file that does not exist stays so, an existing one
    is read only (no journal files made), no migration runs."""
    engine = read_only_store(url)
    if engine is None:
        return "not created yet: the first sync or serve creates it"
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""]
        raise ConfigError(
            f"store {redact_url(url)}: cannot connect: {type(exc).__name__}: {detail[0][:300]}"
        ) from None
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current is None:
        return "empty: the first sync or serve creates its tables"
    if current != head:
        return f"schema {current}: the next sync or serve migrates it to {head}"
    return "schema current"


def read_only_store(url: str) -> Engine | None:
    """An engine that reads the store without creating or changing anything (None for a
    SQLite file that does not exist yet): an existing SQLite file is opened read only, with
    no journal files made; the caller disposes of it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"store {redact_url(url)}: not a database URL") from None
    db = parsed.database
    if parsed.get_backend_name() == "sqlite" and db and db != ":memory:":
        file = Path(db)
        if not file.exists():
            if not file.parent.is_dir():
                raise ConfigError(f"store {redact_url(url)}: folder {file.parent} does not exist")
            return None
        # a WAL file holds commits not yet in the database file: read it (it and its index
        # exist then, nothing new is made); without one, immutable touches no other file
        mode = "mode=ro" if Path(f"{file}-wal").exists() else "immutable=1"
        url = f"sqlite:///file:{quote(str(file.resolve()))}?{mode}&uri=true"
    try:
        return create_engine(url)
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigError(f"store {redact_url(url)}: {exc}") from None


def open_store(
    url: str, timeouts: Timeouts | None = None, *, ping_each_checkout: bool = True
) -> Engine:
    """An engine on the store at ``url``, migrated (``ping_each_checkout``: see
    :func:`create_store_engine`)."""
    engine = create_store_engine(url, timeouts, ping_each_checkout=ping_each_checkout)
    migrate(engine)
    return engine
