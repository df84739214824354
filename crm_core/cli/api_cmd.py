"""``crm-hub serve`` (the HTTP API under uvicorn) and ``crm-hub apikey create|list|revoke``.

The keys' store module (SQLAlchemy) and the API (FastAPI) load inside the commands.
"""

from __future__ import annotations

import copy
import sys
from typing import Annotated, Any

import typer

from crm_core.access.roles import Role
from crm_core.cli.context import ConfigOption, open_config, open_config_and_store
from crm_core.cli.render import console, print_json, table
from schemas.errors import ConfigError

apikey = typer.Typer(
    help="API keys of the HTTP API: make one for a role, list them, revoke one. Only a "
    "hash of each key is stored; the key itself is shown once.",
    no_args_is_help=True,
)
#: how long a thread running Python may keep the GIL while another waits for it (CPython's
#: default is 5 ms). Every request waits on the store several times and needs the GIL
#: back after each wait; behind a thread busy in Python it waited up to 5 ms each time.
GIL_SWITCH_SECONDS = 0.001
ByOpt = Annotated[str | None, typer.Option("--by", help="Who does this (default: the login name).")]


@apikey.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[
        str,
        typer.Option("--role", "-r", help=f"One of: {', '.join(r.value for r in Role)}."),
    ],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="What the key is for (shown by list).")
    ] = None,
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Make a key; the key is printed on the last line, once: store it now."""
    from crm_core.access import api_keys

    parsed = api_keys.parse_role(role)
    _cfg, store = open_config_and_store(ctx, config)
    info, key = api_keys.create_key(store, parsed, name, by)
    console.print(
        f"API key {info.key_id} ({info.name!r}, role {info.role.value}) made; it is not "
        "stored and not shown again:",
        markup=False,
        highlight=False,
    )
    print(key, flush=True)


@apikey.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Revoked keys as well.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts.")] = False,
    config: ConfigOption = None,
) -> None:
    """List keys (never the keys themselves: their ids, names and roles)."""
    from crm_core.access import api_keys

    _cfg, store = open_config_and_store(ctx, config)
    keys = api_keys.list_keys(store, include_revoked=all_)
    if as_json:
        print_json([k.as_dict() for k in keys])
        return
    if not keys:
        console.print("no API keys" + ("" if all_ else " in force (--all shows revoked ones)"))
        return
    console.print(
        table(
            "API keys",
            ["key id", "name", "role", "created", "by", "revoked"],
            (
                (
                    k.key_id,
                    k.name,
                    k.role.value,
                    k.created_at.strftime("%Y-%m-%d %H:%M"),
                    k.created_by,
                    k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "",
                )
                for k in keys
            ),
        )
    )


@apikey.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(help="The key id (see 'apikey list') or the key.")],
    by: ByOpt = None,
    config: ConfigOption = None,
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    from crm_core.access import api_keys

    _cfg, store = open_config_and_store(ctx, config)
    info = api_keys.revoke_key(store, key_id, by)
    console.print(
        f"API key {info.key_id} ({info.name!r}, role {info.role.value}) revoked",
        markup=False,
        highlight=False,
    )


def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="Port.", min=1, max=65535)] = 8000,
    refresh: Annotated[
        float,
        typer.Option(
            "--search-refresh",
            help="Seconds between updates of the search index (0: only at start).",
            min=0,
        ),
    ] = 30.0,
    log_level: Annotated[
        str, typer.Option("--log-level", help="uvicorn's: critical, error, warning, info, debug.")
    ] = "info",
    config: ConfigOption = None,
) -> None:
    """Serve the HTTP API (customer 360, ops) with uvicorn; OpenAPI at /openapi.json."""
    try:
        import uvicorn

        from crm_core.api.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"the HTTP API needs the api extra ({exc.name} is missing): pip install 'crm-hub[api]'"
        ) from None
    from crm_core.store.db import open_store

    cfg = open_config(ctx, config)
    # a connection is checked out per request: pinged only when it may be dead
    store = open_store(cfg.store_url(), cfg.store.timeouts, ping_each_checkout=False)
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    app = create_app(cfg, store=store, search_refresh_seconds=refresh)
    console.print(
        f"crm-hub API on http://{host}:{port} (OpenAPI: /openapi.json, docs: /docs)",
        markup=False,
        highlight=False,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=_log_config(log_level),
        server_header=False,
    )


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging, with the API's own messages (search index, errors) beside it."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["crm_core"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``apikey`` to the app."""
    app.command("serve")(serve)
    app.add_typer(apikey, name="apikey")
