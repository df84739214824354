"""crm-hub's Airflow DAGs, generated from ``$CRM_HUB_CONFIG`` (default ``./crm-hub.yaml``).

- ``crm_hub_pull_<source>``: per source, on its schedule, one task per enabled stream
  (``crm_core.scheduling.jobs.sync_stream``), in the source's pool; then ``announce`` updates the
  source's asset when the run loaded rows, and ``watcher`` fails the run if a stream failed.
- ``crm_hub_reconcile``: whenever any source's asset is updated
  (``crm_core.scheduling.jobs.reconcile``).
- ``crm_hub_push_back``: on a short schedule (``crm_core.scheduling.jobs.push_back``).

Thin on purpose: :mod:`crm_core.scheduling.dag_plan` decides names, schedules, pools,
retries and timeouts, and each task calls one ``crm_core.scheduling.jobs`` function. Only here
do the hub's errors become Airflow's: a ``RetriableError`` is retried with exponential
backoff, any other hub error fails the task at once. Secrets come from the workers'
environment, or from Airflow Variables named like the environment variables the config names
(``url_env``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from airflow.sdk import DAG, Asset, AssetAny, TriggerRule, Variable, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from airflow.sdk.log import mask_secret

from crm_core.ledger.names import HUB_SOURCE
from crm_core.scheduling import jobs
from crm_core.scheduling.dag_plan import START_DATE, HubPlan, JobPlan, PullPlan, plan
from crm_core.scheduling.dag_plan import secret_env_names as _secret_env_names
from schemas.errors import HubError, RetriableError
from schemas.settings import config_path

log = logging.getLogger("crm_hub.dags")
CONFIG = config_path().resolve()
_config = jobs.load(CONFIG)
HUB = plan(_config)
SECRET_ENV = {p.source: _secret_env_names(_config, p.source) for p in HUB.pulls}
SECRET_ENV[HUB_SOURCE] = _secret_env_names(_config)


def _secrets_from_variables(names: list[str]) -> None:
    """Export Airflow Variables named like missing environment variables (masked in logs)."""
    for name in names:
        if os.environ.get(name):
            continue
        value = Variable.get(name, default=None)
        if value:
            mask_secret(value, name)
            os.environ[name] = value


def _call(job: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run a crm_core job; a RetriableError is retried, any other hub error is final."""
    try:
        return job(*args, **kwargs)
    except RetriableError:
        raise
    except HubError as exc:
        raise AirflowFailException(str(exc)) from exc


def _on_failure(source: str, stream: str, ledger: bool = True) -> Callable[[Any], None]:
    """A callback for a task's final failure: one line in the log, and a ledger row."""

    def callback(context: Any) -> None:
        exc = context.get("exception")
        if exc is None:
            error = "the task failed"
        elif isinstance(exc, HubError | AirflowFailException):
            error = str(exc)
        else:
            error = f"{type(exc).__name__}: {exc}"
        if not ledger:
            log.error("crm-hub: %s.%s failed: %s", source, stream, error.splitlines()[0])
            return
        ti = context.get("ti")
        jobs.record_failure(
            source, stream, error, getattr(ti, "start_date", None), CONFIG, *_tries(context)
        )

    return callback


def _default_args(hub: HubPlan, pool: str) -> dict[str, Any]:
    t = hub.task
    return {
        "owner": hub.owner,
        "pool": pool,
        "retries": t.retries,
        "retry_delay": t.retry_delay,
        "retry_exponential_backoff": t.backoff,
        "max_retry_delay": t.max_retry_delay,
        "execution_timeout": t.execution_timeout,
    }


def _tries(context: Any) -> tuple[int | None, int | None]:
    """This task's try and how many it gets in all (Airflow's ``max_tries`` counts the
    retries), for the ledger: the tries of one scheduled run count as one failure."""
    ti = context.get("ti")
    number, retries = getattr(ti, "try_number", None), getattr(ti, "max_tries", None)
    if not isinstance(number, int) or not isinstance(retries, int):
        return None, None
    return number, max(retries + 1, number)


@task
def sync_stream(source: str, stream: str, **context: Any) -> dict[str, Any]:
    """Pull one stream into the store; its counts go to the task log and XCom."""
    _secrets_from_variables(SECRET_ENV[source])
    return _call(jobs.sync_stream, source, stream, CONFIG, False, *_tries(context))


@task(trigger_rule=TriggerRule.ALL_DONE)
def announce(source: str, **context: Any) -> dict[str, Any]:
    """Update the source's asset (so reconcile runs) if this pull loaded rows; else skip."""
    _secrets_from_variables(SECRET_ENV[HUB_SOURCE])
    loaded = _call(jobs.loaded_since, source, context["dag_run"].start_date, CONFIG)
    if not loaded["rows_loaded"]:
        raise AirflowSkipException(f"{source}: no rows loaded, nothing new to reconcile")
    return loaded


@task(trigger_rule=TriggerRule.ONE_FAILED)
def watcher() -> None:
    """Fail the DAG run when a stream failed (``announce`` succeeds even then)."""
    raise AirflowFailException("a stream of this pull failed: see its log and `crm-hub status`")


@task
def run_job(job: str, **context: Any) -> dict[str, Any]:
    """Run a hub-wide job (reconcile, push-back)."""
    _secrets_from_variables(SECRET_ENV[HUB_SOURCE])
    attempt, max_attempts = _tries(context)
    return _call(getattr(jobs, job), CONFIG, attempt=attempt, max_attempts=max_attempts)


def _dag(
    dag_id: str,
    description: str,
    schedule: Any,
    tags: Iterable[str],
    default_args: dict[str, Any],
) -> DAG:
    """A crm-hub DAG: from ``START_DATE``, no catch-up, one run at a time, this module's
    docstring as its documentation."""
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=schedule,
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        tags=list(tags),
        default_args=default_args,
        doc_md=__doc__,
    )


def pull_dag(hub: HubPlan, pull: PullPlan) -> DAG:
    """The pull DAG of one source."""
    with _dag(
        pull.dag_id,
        f"Pull {len(pull.streams)} stream(s) of {pull.source} into the store",
        pull.schedule,
        pull.tags,
        _default_args(hub, pull.pool.name),
    ) as dag:
        streams = [
            sync_stream.override(
                task_id=s.task_id, on_failure_callback=_on_failure(pull.source, s.stream)
            )(pull.source, s.stream)
            for s in pull.streams
        ]
        done = announce.override(
            pool=hub.core_pool.name,
            outlets=[Asset(pull.asset)],
            on_failure_callback=_on_failure(pull.source, "announce", ledger=False),
        )(pull.source)
        check = watcher.override(pool=hub.core_pool.name)()
        streams >> done
        streams >> check
    return dag


def job_dag(hub: HubPlan, job: JobPlan) -> DAG:
    """A hub-wide DAG: on a schedule, or on any update of the pulls' assets."""
    if job.assets:
        schedule: Any = AssetAny(*(Asset(a) for a in job.assets))
    else:
        schedule = job.schedule
    with _dag(
        job.dag_id,
        f"crm-hub {job.job.replace('_', '-')}",
        schedule,
        job.tags,
        _default_args(hub, hub.core_pool.name),
    ) as dag:
        run_job.override(task_id=job.job, on_failure_callback=_on_failure(HUB_SOURCE, job.job))(
            job.job
        )
    return dag


for _pull in HUB.pulls:
    globals()[_pull.dag_id] = pull_dag(HUB, _pull)
globals()[HUB.reconcile.dag_id] = job_dag(HUB, HUB.reconcile)
globals()[HUB.push_back.dag_id] = job_dag(HUB, HUB.push_back)
