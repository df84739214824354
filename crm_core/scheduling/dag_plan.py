"""What the scheduler should run, derived from the config as plain data (no Airflow here).

``dags/`` turns a :class:`HubPlan` into Airflow DAGs: one pull DAG per source on the source's
schedule with one task per enabled stream, a reconcile DAG triggered by the pulls' assets,
and a push-back DAG on a short schedule. Adding a source to ``crm-hub.yaml`` adds its DAG;
every decision (names, schedules, pools, retries, timeouts) is made here, where it can be
tested without a scheduler.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crm_core.ledger.names import PUSH_BACK, RECONCILE
from schemas.errors import ConfigError
from schemas.settings import STORE_URL_ENV, HubConfig

OWNER = "crm-hub"
TAG = "crm-hub"
#: DAGs start here; with catchup off only the newest interval ever runs.
START_DATE = datetime(2024, 1, 1, tzinfo=UTC)
CORE_POOL = "crm_hub_core"
CORE_POOL_SLOTS = 2
_TASK_ID = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class TaskSettings:
    """Retry and timeout settings every hub task gets."""

    retries: int = 3
    retry_delay: timedelta = timedelta(minutes=1)
    #: Each retry waits this many times as long as the one before, up to max_retry_delay.
    backoff: float = 2.0
    max_retry_delay: timedelta = timedelta(minutes=30)
    execution_timeout: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class PoolSpec:
    """An Airflow pool: at most ``slots`` tasks in it run at once."""

    name: str
    slots: int
    description: str


@dataclass(frozen=True)
class StreamTask:
    """One stream of a source and the task id that syncs it."""

    stream: str
    task_id: str


@dataclass(frozen=True)
class PullPlan:
    """The pull DAG of one source."""

    dag_id: str
    source: str
    schedule: str
    streams: tuple[StreamTask, ...]
    pool: PoolSpec
    #: Name of the asset the DAG updates when its streams loaded new rows.
    asset: str
    tags: tuple[str, ...]


@dataclass(frozen=True)
class JobPlan:
    """A hub-wide DAG (reconcile or push-back) with its single task."""

    dag_id: str
    job: str
    tags: tuple[str, ...]
    #: A cron expression, or None when the DAG is triggered by assets.
    schedule: str | None = None
    #: Assets of which any update triggers the DAG.
    assets: tuple[str, ...] = ()


@dataclass(frozen=True)
class HubPlan:
    """Every DAG and pool the config asks for."""

    config_path: Path
    pulls: tuple[PullPlan, ...]
    reconcile: JobPlan
    push_back: JobPlan
    core_pool: PoolSpec
    owner: str = OWNER
    task: TaskSettings = field(default_factory=TaskSettings)

    @property
    def pools(self) -> list[PoolSpec]:
        """One pool per source, plus the pool of the hub-wide tasks."""
        return [p.pool for p in self.pulls] + [self.core_pool]


def pool_name(source: str) -> str:
    """The pool that bounds a source's concurrent connections."""
    return f"crm_hub_{source}"


def asset_name(source: str) -> str:
    """The asset a source's pull updates when it has loaded new rows into the store."""
    return f"crm_hub.store.{source}"


def task_id(stream: str) -> str:
    """A stream name as an Airflow task id (letters, digits, ``_ . -``)."""
    return _TASK_ID.sub("_", stream)[:250]


def _pull(config: HubConfig, source: str) -> PullPlan:
    src = config.source(source)
    streams = tuple(StreamTask(name, task_id(name)) for name, s in src.streams.items() if s.enabled)
    if not streams:
        raise ConfigError(f"source {source!r}: no enabled stream to schedule")
    ids = [s.task_id for s in streams]
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise ConfigError(
            f"source {source!r}: stream names give the same task id {clashes}: rename a stream"
        )
    pool = PoolSpec(
        pool_name(source),
        src.max_connections,
        f"crm-hub: at most max_connections={src.max_connections} connections to {source}",
    )
    return PullPlan(
        dag_id=f"crm_hub_pull_{source}",
        source=source,
        schedule=config.schedule_of(source),
        streams=streams,
        pool=pool,
        asset=asset_name(source),
        tags=(TAG, "pull", source),
    )


def plan(config: HubConfig) -> HubPlan:
    """The DAGs and pools for a loaded config."""
    pulls = tuple(_pull(config, name) for name in config.sources)
    return HubPlan(
        config_path=config.path or Path.cwd() / "crm-hub.yaml",
        pulls=pulls,
        reconcile=JobPlan(
            dag_id="crm_hub_reconcile",
            job=RECONCILE,
            tags=(TAG, RECONCILE),
            assets=tuple(p.asset for p in pulls),
        ),
        push_back=JobPlan(
            dag_id="crm_hub_push_back",
            job=PUSH_BACK,
            tags=(TAG, PUSH_BACK),
            schedule=config.push_back.schedule,
        ),
        core_pool=PoolSpec(
            CORE_POOL, CORE_POOL_SLOTS, "crm-hub: hub-wide tasks (reconcile, push-back)"
        ),
    )


def secret_env_names(config: HubConfig, source: str | None = None) -> list[str]:
    """Environment variables a task may need (store, and the source's URL), for lookups."""
    names = [STORE_URL_ENV]
    if config.store.url_env:
        names.append(config.store.url_env)
    url_env = config.source(source).url_env if source is not None else None
    if url_env:
        names.append(url_env)
    return names
