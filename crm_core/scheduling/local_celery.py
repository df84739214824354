"""Airflow on CeleryExecutor on one machine: its environment, its processes, stopping them.

``crm-hub airflow --executor celery`` starts what a Celery deployment runs on many machines
(a scheduler, a DAG processor, an API server, a triggerer and N ``airflow celery worker``
processes) on this one, each in a session of its own with its output in a log file. Nothing
here imports Airflow or Celery: the processes are ``airflow`` commands, configured through
``AIRFLOW__<SECTION>__<KEY>`` environment variables.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from crm_core.scheduling.local_airflow import airflow_command
from schemas.errors import ConfigError
from schemas.settings import redact_url

EXECUTOR = "CeleryExecutor"
#: Set on each worker: the name Airflow records as the host of the tasks it runs.
WORKER_ENV = "CRM_HUB_AIRFLOW_WORKER"
HOSTNAME_CALLABLE = "crm_core.scheduling.local_celery.worker_hostname"
#: How long the processes get to stop after SIGTERM before they are killed.
STOP_GRACE_SECONDS = 30.0


def worker_hostname() -> str:
    """The host name of this Airflow process: its worker's name, else the machine's.

    Airflow calls it (``[core] hostname_callable``) for the task instances' ``hostname``,
    so that the tasks of two workers on one machine say which ran them.
    """
    return os.environ.get(WORKER_ENV) or socket.getfqdn()


def metadata_urls(url: str) -> tuple[str, str]:
    """The sync and async SQLAlchemy URLs of Airflow's metadata database.

    PostgreSQL through psycopg 3 (the driver crm-hub uses): ``postgresql://`` and
    ``postgresql+psycopg://`` give ``postgresql+psycopg_async://`` for the async one. Any
    other PostgreSQL or MySQL driver is passed on as given (Airflow derives the async URL).
    SQLite is refused: several processes on several machines cannot share it.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"--metadata-db {redact_url(url)}: not a database URL") from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in ("postgresql", "mysql"):
        raise ConfigError(
            f"--metadata-db {redact_url(url)}: CeleryExecutor needs a PostgreSQL (or MySQL) "
            "database that every Airflow process reaches; SQLite cannot serve several processes"
        )
    bare = "+" not in parsed.drivername  # postgresql:// means psycopg 3 here
    if backend == "postgresql" and (bare or driver == "psycopg"):
        sync = parsed.set(drivername="postgresql+psycopg")
        async_ = parsed.set(drivername="postgresql+psycopg_async")
        return (
            sync.render_as_string(hide_password=False),
            async_.render_as_string(hide_password=False),
        )
    return url, ""


def celery_env(
    env: Mapping[str, str],
    broker: str | None,
    metadata_db: str | None,
    *,
    workers: int,
    concurrency: int,
) -> dict[str, str]:
    """``env`` (from :func:`local_airflow.airflow_env`) set for CeleryExecutor.

    ``broker`` and ``metadata_db`` default to ``AIRFLOW__CELERY__BROKER_URL`` and
    ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` of ``env``; both are required. The Celery result
    backend is the metadata database unless ``env`` names one; parallelism is the workers'
    slots (workers x concurrency) unless ``env`` sets it.
    """
    out = dict(env)
    broker = broker or out.get("AIRFLOW__CELERY__BROKER_URL")
    if not broker:
        raise ConfigError(
            "CeleryExecutor needs a broker: --broker redis://HOST:6379/0 "
            "(or amqp://USER@HOST:5672//, or $AIRFLOW__CELERY__BROKER_URL)"
        )
    metadata_db = metadata_db or out.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")
    if not metadata_db:
        raise ConfigError(
            "CeleryExecutor needs Airflow's metadata database on PostgreSQL: --metadata-db "
            "postgresql://USER@HOST:5432/airflow (or $AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)"
        )
    sync, async_ = metadata_urls(metadata_db)
    out["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = sync
    if async_:
        out["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = async_
    out.update(
        AIRFLOW__CORE__EXECUTOR=EXECUTOR,
        AIRFLOW__CELERY__BROKER_URL=broker,
        AIRFLOW__CELERY__WORKER_CONCURRENCY=str(concurrency),
    )
    out.setdefault("AIRFLOW__CELERY__RESULT_BACKEND", f"db+{sync}")
    out.setdefault("AIRFLOW__CORE__PARALLELISM", str(workers * concurrency))
    return out


@dataclass(frozen=True)
class Service:
    """One long-running Airflow process: a name, its ``airflow`` arguments, extra env."""

    name: str
    args: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def worker_name(index: int, host: str | None = None) -> str:
    """The Celery node name of worker ``index`` (from 1): ``worker-1@host``."""
    return f"worker-{index}@{host or socket.gethostname()}"


def celery_services(workers: int, port: int | None = None) -> list[Service]:
    """The processes of a one-machine Celery deployment, in starting order.

    Each worker is named ``worker-<i>@<host>`` in Celery and in the task instances'
    ``hostname``. The workers and the triggerer serve no logs over HTTP: on one machine the
    API server reads the task logs from ``AIRFLOW_HOME/logs`` (and two workers cannot both
    listen on Airflow's log port).
    """
    api = ["api-server", "--workers", "1"] + (["--port", str(port)] if port else [])
    services = [
        Service("scheduler", ("scheduler",)),
        Service("dag-processor", ("dag-processor",)),
        Service("api-server", tuple(api)),
        Service("triggerer", ("triggerer", "--skip-serve-logs")),
    ]
    for index in range(1, workers + 1):
        name = worker_name(index)
        services.append(
            Service(
                f"worker-{index}",
                ("celery", "worker", "--celery-hostname", name, "--skip-serve-logs"),
                {WORKER_ENV: name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE},
            )
        )
    return services


@dataclass
class Running:
    """A started service: its process (leader of its own session) and its log file."""

    service: Service
    process: subprocess.Popen[bytes]
    log: Path
    handle: IO[bytes]


def start_services(services: list[Service], env: Mapping[str, str], logs: Path) -> list[Running]:
    """Start each service in a session of its own, its output to ``logs/<name>.log``."""
    logs.mkdir(parents=True, exist_ok=True)
    command = airflow_command(env)
    running: list[Running] = []
    try:
        for service in services:
            log = logs / f"{service.name}.log"
            handle = log.open("ab")
            process = subprocess.Popen(
                [command, *service.args],
                env={**env, **service.env},
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            running.append(Running(service, process, log, handle))
    except OSError:
        stop_services(running)
        raise
    return running


def _session_members(sessions: set[int]) -> list[int]:
    """The processes (Linux: from /proc) whose session is one of ``sessions``."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    members = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if os.getsid(int(entry.name)) in sessions:
                    members.append(int(entry.name))
    return members


def kill_sessions(sessions: set[int]) -> None:
    """SIGKILL every process of the given sessions (task processes in groups of their own
    included)."""
    for pid in [*sessions, *_session_members(sessions)]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def stop_services(running: list[Running], grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM each service's process group, wait up to ``grace`` seconds, then SIGKILL
    whatever is left in their sessions."""
    for item in running:
        if item.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(item.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for item in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            item.process.wait(timeout=max(0.0, deadline - time.monotonic()))
    kill_sessions({item.process.pid for item in running})
    for item in running:
        with contextlib.suppress(subprocess.TimeoutExpired):
            item.process.wait(timeout=5)
        item.handle.close()


def supervise(
    services: list[Service],
    env: Mapping[str, str],
    logs: Path,
    say: Callable[[str], None],
    poll_seconds: float = 1.0,
) -> int:
    """Start the services, say what runs where, and wait until Ctrl-C (SIGINT), SIGTERM or
    SIGHUP, or until a service exits; then stop them all. The signals are caught before the
    first process starts, so none is left behind. Returns 0 when stopped by a signal, 1 when
    a service exited by itself."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    catch = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {s: signal.signal(s, on_signal) for s in catch}
    running: list[Running] = []
    code = 0
    try:
        running = start_services(services, env, logs)
        for item in running:
            say(f"started {item.service.name} (pid {item.process.pid}): log {item.log}")
        say("Ctrl-C stops them all")
        while not stopping:
            ended = [r for r in running if r.process.poll() is not None]
            if ended:
                for item in ended:
                    say(
                        f"{item.service.name} exited with code {item.process.returncode}: "
                        f"see {item.log}"
                    )
                code = 1
                break
            time.sleep(poll_seconds)
    finally:
        if running:
            say("stopping " + ", ".join(r.service.name for r in running) + " ...")
            stop_services(running)
            say("stopped")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
