"""Run Airflow for the hub on one machine: its environment, its pools, ``airflow standalone``.

Nothing here imports Airflow: the ``airflow`` command (installed with ``crm-hub[airflow]``)
is run as a subprocess. The top-level ``airflow.cfg`` is used through ``AIRFLOW_CONFIG``;
Airflow's state (metadata database, logs) lives in ``AIRFLOW_HOME`` (``./airflow-home`` by
default), with the secrets its processes must share generated there once, never in a file
of the repository.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from crm_core.scheduling.dag_plan import HubPlan, PoolSpec
from schemas.errors import ConfigError

#: Where a source checkout keeps airflow.cfg and dags/ (an editable install's root).
CHECKOUT = Path(__file__).resolve().parents[2]
HOME_NAME = "airflow-home"
SECRETS_FILE = "crm-hub-airflow-secrets.json"
#: Settings Airflow's processes must share, and the environment variables that set them.
SHARED_SECRETS = {
    "AIRFLOW__CORE__FERNET_KEY": "fernet_key",
    "AIRFLOW__API_AUTH__JWT_SECRET": "jwt_secret",
    "AIRFLOW__API__SECRET_KEY": "api_secret_key",
}


def project_dir(explicit: Path | None = None) -> Path:
    """The folder holding ``airflow.cfg`` and ``dags/``: given, else ./, else the checkout."""
    candidates = [explicit] if explicit else [Path.cwd(), CHECKOUT]
    for folder in candidates:
        if folder and (folder / "airflow.cfg").is_file() and (folder / "dags").is_dir():
            return folder.resolve()
    where = ", ".join(str(c) for c in candidates if c)
    raise ConfigError(f"no airflow.cfg with a dags/ folder beside it in {where}")


def _shared_secrets(home: Path) -> dict[str, str]:
    """The home's generated secrets (created on first use, readable by the owner only)."""
    path = home / SECRETS_FILE
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    values = {
        "fernet_key": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
    }
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(values, file)
    return values


def airflow_env(
    project: Path,
    home: Path,
    config_path: Path,
    base: Mapping[str, str] | None = None,
    with_secrets: bool = True,
    port: int | None = None,
) -> dict[str, str]:
    """The environment Airflow needs to run the hub's DAGs from ``project`` in ``home``.

    Values already in ``base`` (default: this process's environment) for the shared secrets
    and the metadata database win, so production settings pass through unchanged. ``port``
    is the API server's (the web UI's; Airflow's default is 8080): ``[api] port``, and the
    execution API the tasks call back on, unless ``base`` names that one itself.
    """
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env.update(
        AIRFLOW_HOME=str(home.resolve()),
        AIRFLOW_CONFIG=str(project / "airflow.cfg"),
        AIRFLOW__CORE__DAGS_FOLDER=str(project / "dags"),
        CRM_HUB_CONFIG=str(config_path.resolve()),
        PATH=os.pathsep.join([bin_dir, env.get("PATH", "")]),
    )
    if port is not None:
        env["AIRFLOW__API__PORT"] = str(port)
        env.setdefault(
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://localhost:{port}/execution/"
        )
    if with_secrets:
        generated = _shared_secrets(home)
        for var, key in SHARED_SECRETS.items():
            env.setdefault(var, generated[key])
    return env


def airflow_command(env: Mapping[str, str]) -> str:
    """The path of the ``airflow`` executable, or a ConfigError saying how to install it."""
    found = shutil.which("airflow", path=env.get("PATH"))
    if not found:
        raise ConfigError("the airflow command is not installed: pip install 'crm-hub[airflow]'")
    return found


def pools_json(plan: HubPlan) -> dict[str, dict[str, object]]:
    """The plan's pools in the format of ``airflow pools import``."""
    return {
        p.name: {"slots": p.slots, "description": p.description, "include_deferred": False}
        for p in plan.pools
    }


def run_airflow(args: list[str], env: Mapping[str, str], what: str) -> str:
    """Run ``airflow ARGS``; return its output, or raise a ConfigError with its last lines."""
    done = subprocess.run(
        [airflow_command(env), *args], env=dict(env), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ConfigError(f"{what} failed (airflow {' '.join(args)}):\n{tail}")
    return done.stdout


def set_pools(plan: HubPlan, env: Mapping[str, str]) -> list[PoolSpec]:
    """Create or update the plan's pools in Airflow's metadata database."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pools.json"
        path.write_text(json.dumps(pools_json(plan)), encoding="utf-8")
        run_airflow(["pools", "import", str(path)], env, "setting the pools")
    return plan.pools


def migrate(env: Mapping[str, str]) -> None:
    """Create or upgrade Airflow's metadata database."""
    run_airflow(["db", "migrate"], env, "migrating Airflow's database")


def run_standalone(env: Mapping[str, str]) -> int:
    """Run ``airflow standalone`` until it ends; return its exit code.

    It runs in a session of its own, and Ctrl-C, SIGTERM and SIGHUP reach it as one SIGINT
    to its main process: that is the signal it stops cleanly on. (A SIGINT to its whole
    process group, which is what Ctrl-C would send, leaves the scheduler waiting on its
    workers.)
    """
    proc = subprocess.Popen(
        [airflow_command(env), "standalone"], env=dict(env), start_new_session=True
    )

    def forward(_signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    return proc.wait()
