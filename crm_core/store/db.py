"""Open the store: an engine on the configured URL, migrated to the current schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError, SQLAlchemyError

from connectors.errors import install_hint
from schemas.errors import ConfigError
from schemas.settings import redact_url

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """Alembic's config pointing at the hub's migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def create_store_engine(url: str) -> Engine:
    """An engine for the store; SQLite gets WAL, a busy timeout and foreign keys on."""
    try:
        engine = create_engine(url, future=True, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        hint = install_hint(exc, make_url(url).get_backend_name())
        raise ConfigError(f"store {redact_url(url)}: {exc}; install it with: {hint}") from None
    except (SQLAlchemyError, ValueError) as exc:
        raise ConfigError(f"store {redact_url(url)}: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


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


def open_store(url: str) -> Engine:
    """An engine on the store at ``url``, migrated."""
    engine = create_store_engine(url)
    migrate(engine)
    return engine
