"""What every command shares: the config path, --debug, and opening config and store.

The settings (pydantic) and the store (SQLAlchemy, Alembic) load when a command opens
them, not when the command line starts: ``crm-hub --help`` needs neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from schemas.settings import HubConfig

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Config file (default: $CRM_HUB_CONFIG, else ./crm-hub.yaml).",
        show_default=False,
    ),
]


@dataclass
class Options:
    """Global options given before the command."""

    config: Path | None = None
    debug: bool = False


def options(ctx: typer.Context) -> Options:
    """The global options of this invocation."""
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


def resolve_config_path(ctx: typer.Context, override: Path | None) -> Path:
    """The command's --config, else the global one, else the default."""
    from schemas.settings import config_path

    return config_path(override or options(ctx).config)


def open_config(ctx: typer.Context, override: Path | None) -> HubConfig:
    """Load the config file named by the options."""
    from schemas.settings import load_config

    return load_config(resolve_config_path(ctx, override))


def open_config_and_store(ctx: typer.Context, override: Path | None) -> tuple[HubConfig, Engine]:
    """Load the config and open (and migrate) its store."""
    from crm_core.store.db import open_store

    config = open_config(ctx, override)
    return config, open_store(config.store_url(), config.store.timeouts)
