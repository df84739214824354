"""What every command shares: the config path, --debug, and opening config and store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from crm_core.store.db import open_store
from schemas.settings import HubConfig, config_path, load_config

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
    return config_path(override or options(ctx).config)


def open_config(ctx: typer.Context, override: Path | None) -> HubConfig:
    """Load the config file named by the options."""
    return load_config(resolve_config_path(ctx, override))


def open_config_and_store(ctx: typer.Context, override: Path | None) -> tuple[HubConfig, Engine]:
    """Load the config and open (and migrate) its store."""
    config = open_config(ctx, override)
    return config, open_store(config.store_url(), config.store.timeouts)
