"""Alembic environment: migrates the store whose engine or URL the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from crm_core.store.tables import metadata

config = context.config


def run() -> None:
    """Run migrations on the connection handed in, else on the configured URL."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///crm-hub.db")
    with engine.begin() as conn:
        _migrate(conn)


def _migrate(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
