"""``crm-hub airflow``: run Airflow locally with the hub's DAGs, pools and config.

The scheduling modules (and the settings they read) load inside the commands.
"""

from __future__ import annotations

import json
import os
import shlex
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from crm_core.cli.context import open_config, resolve_config_path
from crm_core.cli.render import console

HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="AIRFLOW_HOME: Airflow's database and logs (default: $AIRFLOW_HOME, "
        "else ./airflow-home beside airflow.cfg).",
        show_default=False,
    ),
]
ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        help="Folder with airflow.cfg and dags/ (default: ./, else the crm-hub checkout).",
        show_default=False,
    ),
]


class Executor(StrEnum):
    """How ``crm-hub airflow`` runs the tasks."""

    local = "local"
    celery = "celery"


app = typer.Typer(
    help="Run Airflow on this machine with the hub's DAGs. Without a command: migrate its "
    "database, set the pools, run `airflow standalone`, or with --executor celery a "
    "scheduler, a DAG processor, an API server, a triggerer and Celery workers (Ctrl-C "
    "stops it).",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _env(
    ctx: typer.Context,
    home: Path | None,
    project: Path | None,
    with_secrets: bool = True,
    port: int | None = None,
) -> dict[str, str]:
    from crm_core.scheduling import local_airflow

    folder = local_airflow.project_dir(project)
    home = home or Path(os.environ.get("AIRFLOW_HOME") or folder / local_airflow.HOME_NAME)
    return local_airflow.airflow_env(
        folder, home, resolve_config_path(ctx, None), with_secrets=with_secrets, port=port
    )


def _set_pools(ctx: typer.Context, env: dict[str, str]) -> None:
    from crm_core.scheduling import local_airflow
    from crm_core.scheduling.dag_plan import plan

    cfg = open_config(ctx, None)
    for pool in local_airflow.set_pools(plan(cfg), env):
        console.print(f"pool {pool.name}: {pool.slots} slot(s)")


@app.callback()
def start(
    ctx: typer.Context,
    home: HomeOption = None,
    project: ProjectOption = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            help="The web UI's (API server's) port, if not 8080 (or $AIRFLOW__API__PORT).",
            min=1,
            max=65535,
        ),
    ] = None,
    executor: Annotated[
        Executor,
        typer.Option(
            "--executor",
            help="local: `airflow standalone`; celery: a scheduler, a DAG processor, an API "
            "server, a triggerer and --workers Celery workers (needs --broker, --metadata-db).",
        ),
    ] = Executor.local,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            help="Celery's broker, e.g. redis://127.0.0.1:6379/0 "
            "(or $AIRFLOW__CELERY__BROKER_URL).",
            show_default=False,
        ),
    ] = None,
    metadata_db: Annotated[
        str | None,
        typer.Option(
            "--metadata-db",
            help="Airflow's metadata database, e.g. postgresql://airflow@127.0.0.1:5432/airflow "
            "(or $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN; Celery needs PostgreSQL).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", help="Celery workers to start.", min=1, max=32)
    ] = 1,
    concurrency: Annotated[
        int,
        typer.Option("--concurrency", help="Task processes per Celery worker.", min=1, max=64),
    ] = 2,
) -> None:
    """Migrate Airflow's database, set the pools, then run Airflow (Ctrl-C stops it).

    ``--executor local`` (the default) runs ``airflow standalone``; ``--executor celery``
    runs each Airflow process itself, with ``--workers`` Celery workers. The UI is at
    http://localhost:8080 (--port changes it); the admin password is printed at start and
    kept in AIRFLOW_HOME. DAGs start paused: unpause them in the UI.
    """
    from crm_core.scheduling import local_airflow, local_celery

    if ctx.invoked_subcommand is not None:
        ctx.meta["crm_hub_airflow"] = (home, project)
        return
    open_config(ctx, None)  # a broken config is reported here, not as a DAG import error
    env = _env(ctx, home, project, port=port)
    if executor is Executor.celery:
        env = local_celery.celery_env(
            env, broker, metadata_db, workers=workers, concurrency=concurrency
        )
    elif metadata_db:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata_db
    console.print(f"AIRFLOW_HOME={env['AIRFLOW_HOME']}  CRM_HUB_CONFIG={env['CRM_HUB_CONFIG']}")
    console.print("migrating Airflow's database ...")
    local_airflow.migrate(env)
    _set_pools(ctx, env)
    web = f"web UI: http://localhost:{env.get('AIRFLOW__API__PORT', '8080')}"
    if executor is Executor.celery:
        raise typer.Exit(_run_celery(env, workers, concurrency, port, web))
    console.print(web)
    console.print("starting airflow standalone (Ctrl-C stops it)")
    code = local_airflow.run_standalone(env)
    if code:
        raise typer.Exit(code)


def _run_celery(
    env: dict[str, str], workers: int, concurrency: int, port: int | None, web: str
) -> int:
    """Start the Celery deployment's processes, say what runs where, wait for Ctrl-C."""
    from crm_core.scheduling import local_celery
    from schemas.settings import redact_url

    console.print(
        f"executor CeleryExecutor: broker {redact_url(env['AIRFLOW__CELERY__BROKER_URL'])}, "
        f"metadata {redact_url(env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'])}, {workers} "
        f"worker(s) x {concurrency} task processes, parallelism "
        f"{env['AIRFLOW__CORE__PARALLELISM']}"
    )
    console.print(web)
    console.print("admin password: in AIRFLOW_HOME/simple_auth_manager_passwords.json.generated")
    logs = Path(env["AIRFLOW_HOME"]) / "logs" / "crm-hub"
    services = local_celery.celery_services(workers, port)
    return local_celery.supervise(services, env, logs, console.print)


def _options(
    ctx: typer.Context, home: Path | None, project: Path | None
) -> tuple[Path | None, Path | None]:
    parent_home, parent_project = ctx.meta.get("crm_hub_airflow", (None, None))
    return home or parent_home, project or parent_project


@app.command()
def pools(
    ctx: typer.Context,
    home: HomeOption = None,
    project: ProjectOption = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Only print the pools as JSON for `airflow pools import`."),
    ] = False,
) -> None:
    """Create or update one pool per source (max_connections slots) and the hub's pool."""
    if as_json:
        from crm_core.scheduling import local_airflow
        from crm_core.scheduling.dag_plan import plan

        print(json.dumps(local_airflow.pools_json(plan(open_config(ctx, None))), indent=2))
        return
    env = _env(ctx, *_options(ctx, home, project))
    _set_pools(ctx, env)


@app.command()
def env(
    ctx: typer.Context,
    home: HomeOption = None,
    project: ProjectOption = None,
) -> None:
    """Print shell exports that point the airflow command at the hub: eval "$(crm-hub airflow env)".

    The secrets Airflow's processes share are not printed; commands such as ``airflow dags
    list`` or ``airflow pools list`` do not need them.
    """
    values = _env(ctx, *_options(ctx, home, project), with_secrets=False)
    for key in ("AIRFLOW_HOME", "AIRFLOW_CONFIG", "AIRFLOW__CORE__DAGS_FOLDER", "CRM_HUB_CONFIG"):
        print(f"export {key}={shlex.quote(values[key])}")
    bin_dir = values["PATH"].split(os.pathsep)[0]
    print(f'export PATH={shlex.quote(bin_dir)}"{os.pathsep}$PATH"')


def register(root: typer.Typer) -> None:
    """Add ``crm-hub airflow`` to the app."""
    root.add_typer(app, name="airflow")
