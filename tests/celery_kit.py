"""The hub on Airflow's CeleryExecutor on this machine, driven as a user would.

:func:`deployment` runs ``crm-hub airflow --executor celery`` (a scheduler, a DAG processor,
an API server, a triggerer and N Celery workers on the Redis broker, PostgreSQL for
Airflow's metadata) in a session of its own, and always stops it: Ctrl-C (SIGINT) first,
then SIGKILL for every process left in the sessions it started. :class:`Deployment` drives
it through Airflow's REST API (unpause, trigger) and reads the outcome from the metadata
database. ``tests/test_celery_scale_out.py`` and ``python -m bench celery`` use it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from crm_core.scheduling.local_celery import kill_sessions
from sample_erps import scenario

ROOT = Path(__file__).resolve().parents[1]
CRM_HUB = str(Path(sys.executable).parent / "crm-hub")
REDIS = ("127.0.0.1", 6379)
#: The Redis database the Celery tests and benchmark use (each run on a queue of its own).
REDIS_DB = 14
PULLS = tuple(f"crm_hub_pull_{s}" for s in scenario.SOURCES)
RECONCILE = "crm_hub_reconcile"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def redis_problem() -> str | None:
    """Why the Redis broker at 127.0.0.1:6379 cannot be used, or None when it answers."""
    try:
        with socket.create_connection(REDIS, timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            answer = conn.recv(64)
    except OSError as exc:
        return f"no Redis server at {REDIS[0]}:{REDIS[1]} ({exc})"
    if not answer.startswith(b"+PONG"):
        return f"Redis at {REDIS[0]}:{REDIS[1]} answered {answer[:40]!r} to PING"
    return None


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env() -> dict[str, str]:
    """This process's environment without Airflow or store settings, the venv first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.pop("CRM_HUB_DATABASE_URL", None)
    env.pop("CRM_HUB_CONFIG", None)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def make_demo(
    workdir: Path,
    customers: int,
    rest_port: int,
    max_connections: int | None,
    service_desk_port: int | None = None,
) -> Path:
    """``crm-hub demo`` in ``workdir``, then its config made for runs started by unpausing:

    every pull scheduled once a day, twelve hours ago (with catchup off, unpausing a DAG
    starts one run for its latest past time, and the next comes only in 12 hours), and each
    source's ``max_connections`` set when given.
    """
    command = [CRM_HUB, "demo", "--workdir", str(workdir), "--customers", str(customers)]
    command += ["--rest-port", str(rest_port), "-q"]
    if service_desk_port is not None:
        command += ["--service-desk-port", str(service_desk_port)]
    done = subprocess.run(
        command,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    earlier = datetime.now(UTC) - timedelta(hours=12)
    extra = f"\n    max_connections: {max_connections}" if max_connections else ""
    config = workdir / scenario.CONFIG_NAME
    body, replaced = re.subn(
        r'^    schedule: "[^"]*"$',
        f'    schedule: "{earlier.minute} {earlier.hour} * * *"{extra}',
        config.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    assert replaced == len(scenario.SOURCES), body
    config.write_text(body, encoding="utf-8")
    return config


@dataclass
class Deployment:
    """A running ``crm-hub airflow --executor celery`` and what it printed."""

    process: subprocess.Popen[bytes]
    output: Path
    home: Path
    port: int
    metadata_url: str
    queue: str
    _token: str | None = field(default=None, repr=False)

    def printed(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")

    def pids(self) -> dict[str, int]:
        """The processes it said it started, by name."""
        return {m[0]: int(m[1]) for m in re.findall(r"started (\S+) \(pid (\d+)\)", self.printed())}

    def sessions(self) -> set[int]:
        return {self.process.pid, *self.pids().values()}

    def logs(self, lines: int = 15) -> str:
        """The command's output and the last lines of each process's log (for failures)."""
        out = [self.printed()]
        for log in sorted((self.home / "logs" / "crm-hub").glob("*.log")):
            tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(t[:300] for t in tail))
        return "\n".join(out)

    def wait_ready(self, workers: int, timeout: float) -> None:
        """Until the API server answers and every worker said it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "crm-hub airflow ended:\n" + self.logs()
            logs = self.home / "logs" / "crm-hub"
            ready = sum(
                " ready." in p.read_text(errors="replace") for p in logs.glob("worker-*.log")
            )
            if ready == workers and self._api_up():
                return
            time.sleep(1)
        raise AssertionError(f"not ready after {timeout:.0f}s:\n" + self.logs())

    def _api_up(self) -> bool:
        try:
            return requests.get(self._url("/api/v2/version"), timeout=5).status_code < 500
        except requests.RequestException:
            return False

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call Airflow's REST API as the generated admin user."""
        if self._token is None:
            users = self.home / "simple_auth_manager_passwords.json.generated"
            password = json.loads(users.read_text(encoding="utf-8"))["admin"]
            got = requests.post(
                self._url("/auth/token"),
                json={"username": "admin", "password": password},
                timeout=30,
            )
            assert got.status_code in (200, 201), got.text
            self._token = got.json()["access_token"]
        answer = requests.request(
            method,
            self._url(path),
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=30,
        )
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return dict(answer.json())

    def unpause(self, dag_id: str) -> None:
        self.api("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str) -> str:
        return str(
            self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]
        )

    def query(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query on Airflow's metadata database."""
        engine = create_engine(self.metadata_url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(text(sql))]
        finally:
            engine.dispose()

    def dag_runs(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT dag_id, run_id, run_type, state, start_date, end_date FROM dag_run ORDER BY id"
        )

    def task_instances(self) -> list[dict[str, Any]]:
        return self.query(
            "SELECT dag_id, run_id, task_id, state, hostname, try_number, queue, queued_dttm, "
            "start_date, end_date FROM task_instance ORDER BY start_date"
        )

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by each started process with its children (Linux /proc)."""
        used: dict[str, float] = {}
        for name, sid in self.pids().items():
            total = 0
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                with suppress(OSError, ValueError):
                    if os.getsid(int(entry.name)) != sid:
                        continue
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
            used[name] = total / CLK_TCK
        return used

    def wait_until(self, done: Any, timeout: float, what: str) -> None:
        """Poll ``done()`` every second for at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "crm-hub airflow ended:\n" + self.logs()
            if done():
                return
            time.sleep(1)
        states = [(r["dag_id"], r["run_type"], r["state"]) for r in self.dag_runs()]
        tasks = Counter((t["dag_id"], t["state"]) for t in self.task_instances())
        queued = self.query("SELECT target_dag_id, asset_id FROM asset_dag_run_queue")
        raise AssertionError(
            f"{what}: not after {timeout:.0f}s; runs {states}; tasks {dict(tasks)}; asset "
            f"events waiting {queued}\n" + self.logs()
        )

    def stop(self, grace: float = 60.0) -> None:
        """Ctrl-C, as a user stops it; then SIGKILL whatever is left in its sessions."""
        sessions = self.sessions()
        if self.process.poll() is None:
            with suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        kill_sessions(sessions)
        with suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


def drop_queue(queue: str) -> None:
    """Delete the Redis keys of a finished run's Celery queue (best effort)."""
    with suppress(OSError), socket.create_connection(REDIS, timeout=3) as conn:
        for key in (queue, f"_kombu.binding.{queue}"):
            cmd = f"*2\r\n$6\r\nSELECT\r\n${len(str(REDIS_DB))}\r\n{REDIS_DB}\r\n"
            cmd += f"*2\r\n$3\r\nDEL\r\n${len(key)}\r\n{key}\r\n"
            conn.sendall(cmd.encode())
            conn.recv(256)


@contextmanager
def deployment(
    config: Path,
    home: Path,
    *,
    metadata_url: str,
    store_url: str,
    workers: int,
    concurrency: int = 2,
    ready_timeout: float = 240.0,
) -> Iterator[Deployment]:
    """``crm-hub airflow --executor celery`` on ``config`` with the store at ``store_url``,
    ready to take runs; stopped (and every process it started killed) on leaving."""
    queue = f"crm_hub_{uuid.uuid4().hex[:10]}"  # a run of its own, even beside another one
    env = clean_env()
    env.update(CRM_HUB_DATABASE_URL=store_url, AIRFLOW__OPERATORS__DEFAULT_QUEUE=queue)
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    output = home / "crm-hub-airflow.out"
    command = [CRM_HUB, "--config", str(config), "airflow", "--home", str(home)]
    command += ["--project", str(ROOT), "--port", str(port), "--executor", "celery"]
    command += ["--broker", f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}"]
    command += ["--metadata-db", metadata_url, "--workers", str(workers)]
    command += ["--concurrency", str(concurrency)]
    with output.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    running = Deployment(process, output, home, port, metadata_url, queue)
    try:
        running.wait_ready(workers, ready_timeout)
        yield running
    finally:
        running.stop()
        drop_queue(queue)


def source_rows(config: Path) -> dict[tuple[str, str], int]:
    """Rows per (source, stream) in the sample ERPs, read in full by their connectors."""
    from connectors import open_source
    from schemas.settings import load_config

    cfg = load_config(config)
    counts = {}
    for name in cfg.sources:
        source = open_source(name, cfg.source(name), cfg.base_dir)
        try:
            for stream in cfg.source(name).streams:
                counts[(name, stream)] = sum(b.height for b in source.read(stream, None, 5000))
        finally:
            source.close()
    return counts
