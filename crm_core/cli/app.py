"""``crm-hub``: the command line of the hub.

Errors end the command with one clear line on stderr and a non-zero exit (2 for a
configuration problem, 1 for a failed sync); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys
from typing import Annotated, cast

import typer
import typer.core
import typer.main

from crm_core import __version__
from crm_core.cli import (
    airflow_cmd,
    api_cmd,
    asset_change_cmd,  # noqa: F401 - adds 'change asset' to the change commands
    codes_cmd,
    commands,
    demo_cmd,
    golden_cmd,
    ops_cmd,
    pushback_cmd,
    quarantine_cmd,
    resolve_cmd,
)
from crm_core.cli.context import ConfigOption, Options, options
from crm_core.cli.render import err_console
from schemas.errors import ConfigError, HubError, InvalidInput, MappingError
from schemas.secrets import mask_secrets

app = typer.Typer(
    name="crm-hub",
    help="Keep a company's CRM and its back office (DB2, ODBC, REST ERPs) in sync.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"crm-hub {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOption = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Keep a company's CRM and its back office in sync."""
    opts = options(ctx)
    opts.config = config
    opts.debug = debug


commands.register(app)
demo_cmd.register(app)
ops_cmd.register(app)
airflow_cmd.register(app)
resolve_cmd.register(app)
quarantine_cmd.register(app)
golden_cmd.register(app)
api_cmd.register(app)
pushback_cmd.register(app)
codes_cmd.register(app)


def command() -> typer.core.TyperGroup:
    """The app as a (typer) click command, its flags shown without a value type: typer's
    help puts ``<bool>`` beside ``--quiet`` as if it took a value."""
    # an app with subcommands is a group
    root_command = cast(typer.core.TyperGroup, typer.main.get_command(app))
    _hide_flag_types(
        root_command,
        typer.Context(root_command, info_name="crm-hub", **root_command.context_settings),
    )
    return root_command


def _hide_flag_types(
    cmd: typer.core.TyperCommand | typer.core.TyperGroup, ctx: typer.Context
) -> None:
    for param in cmd.get_params(ctx):  # the help option included
        if isinstance(param, typer.core.TyperOption) and param.is_flag:
            param.metavar = ""
    for name, sub in getattr(cmd, "commands", {}).items():
        _hide_flag_types(
            sub, typer.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
        )


def main() -> None:
    """Entry point of the console script: run the app, turn hub errors into one line."""
    debug = "--debug" in sys.argv
    try:
        code = command().main(prog_name="crm-hub", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted", style="red")
        sys.exit(130)
    except HubError as exc:
        if debug:
            raise
        kind = "configuration error" if isinstance(exc, ConfigError | MappingError) else "error"
        if isinstance(exc, InvalidInput):
            kind = "invalid input"
        # soft_wrap: a problem's ``file:line: ...`` stays on one line, whatever its length
        err_console.print(
            f"crm-hub: {kind}: {mask_secrets(str(exc))}",
            style="red",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2 if isinstance(exc, ConfigError | MappingError | InvalidInput) else 1)
    except Exception as exc:
        if debug:
            raise
        # a usage error (typer's own copy of click's ClickException: not click's class)
        if callable(getattr(exc, "show", None)) and isinstance(
            getattr(exc, "exit_code", None), int
        ):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        err_console.print(
            f"crm-hub: unexpected error: {type(exc).__name__}: {mask_secrets(str(exc))} "
            "(run with --debug for the traceback)",
            style="red",
            markup=False,
            highlight=False,
        )
        sys.exit(1)


__all__ = ["Options", "app", "command", "main"]
