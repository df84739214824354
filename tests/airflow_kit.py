"""Run Airflow on the hub's DAG folder in a process of its own and report as JSON.

The tests call this as a subprocess so that importing Airflow (which configures logging and
warnings for its whole process) never touches the pytest process. Usage::

    python tests/airflow_kit.py describe OUT.json
    python tests/airflow_kit.py run OUT.json DAG_ID [DAG_ID ...]

The environment says where things are: AIRFLOW_HOME, AIRFLOW__CORE__DAGS_FOLDER and
CRM_HUB_CONFIG.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

from airflow.dag_processing.dagbag import DagBag

DAGS = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


def _asset_names(objs: Any) -> list[str]:
    return sorted(getattr(o, "name", str(o)) for o in objs or [])


def _task(task: Any) -> dict[str, Any]:
    timeout = task.execution_timeout
    return {
        "owner": task.owner,
        "pool": task.pool,
        "retries": task.retries,
        "retry_exponential_backoff": float(task.retry_exponential_backoff or 0),
        "execution_timeout": timeout.total_seconds() if timeout else None,
        "trigger_rule": str(task.trigger_rule.value),
        "upstream": sorted(task.upstream_task_ids),
        "outlets": _asset_names(task.outlets),
        "on_failure_callback": bool(task.on_failure_callback),
    }


def _schedule(dag: Any) -> dict[str, Any]:
    assets = getattr(dag.timetable, "asset_condition", None)
    names = sorted(a.name for a in getattr(assets, "objects", ()))
    expression = getattr(dag.timetable, "expression", None)
    return {"summary": expression or type(dag.timetable).__name__, "assets": names}


def _error_mapping() -> dict[str, str]:
    """What the DAG file turns each kind of hub error into."""
    from schemas.errors import ConfigError, FatalSyncError, RetriableError

    spec = importlib.util.spec_from_file_location("crm_hub_dags_probe", DAGS / "crm_hub_dags.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    out = {}
    for cls in (RetriableError, FatalSyncError, ConfigError, ValueError):

        def fail(cls: type[Exception] = cls) -> dict[str, Any]:
            raise cls("boom")

        try:
            module._call(fail)
        except Exception as exc:  # noqa: BLE001 - reporting what came out is the point
            out[cls.__name__] = type(exc).__name__
    return out


def describe() -> dict[str, Any]:
    """Every DAG the folder yields, its schedule and its tasks' settings."""
    bag = DagBag(dag_folder=str(DAGS))
    dags = {}
    for dag_id, dag in bag.dags.items():
        dag.check_cycle()
        dags[dag_id] = {
            "tags": sorted(dag.tags),
            "max_active_runs": dag.max_active_runs,
            "catchup": dag.catchup,
            "schedule": _schedule(dag),
            "order": [t.task_id for t in dag.topological_sort()],
            "tasks": {t.task_id: _task(t) for t in dag.tasks},
        }
    return {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dags": dags,
        "error_mapping": _error_mapping(),
    }


def run(dag_ids: list[str]) -> dict[str, Any]:
    """``dag.test()`` each DAG in turn; the states of the runs and tasks, and asset events."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    bag = DagBag(dag_folder=str(DAGS))
    runs = {}
    for dag_id in dag_ids:
        dag_run = bag.dags[dag_id].test()
        runs[dag_id] = {
            "state": str(dag_run.state),
            "tasks": {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()},
        }
    with create_session() as session:
        events = dict(
            session.execute(
                select(AssetModel.name, func.count(AssetEvent.id))
                .join(AssetEvent, AssetEvent.asset_id == AssetModel.id)
                .group_by(AssetModel.name)
            ).all()
        )
    return {"runs": runs, "asset_events": events}


if __name__ == "__main__":
    mode, out = sys.argv[1], Path(sys.argv[2])
    report = describe() if mode == "describe" else run(sys.argv[3:])
    out.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
