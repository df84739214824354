"""A sync killed with SIGKILL does not look healthy: its run reads as interrupted in
``status --json``, ``status --check`` exits 1 naming it, and the next run closes it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crm_core.ledger import runs
from crm_core.store.db import open_store
from tests import shop_kit

ROWS = 20_000
CRM_HUB = str(Path(sys.executable).with_name("crm-hub"))


def _crm_hub(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CRM_HUB, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )


def test_fault_killed_sync_shows_as_interrupted_and_fails_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("SHOP_URL", source_url)
    shop_kit.add_orders(shop_kit.create(source_url), ROWS)
    config = shop_kit.write_files(tmp_path, f"sqlite:///{tmp_path / 'store.db'}", batch=200)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")

    proc = subprocess.Popen(
        [CRM_HUB, "--config", str(config), "sync", "shop", "--stream", "orders"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # wait until it has committed a batch or two
            mine = [r for r in runs.list_runs(store, "shop", "orders") if r["pid"] == proc.pid]
            if mine and mine[0]["batches"] >= 2:
                break
            assert proc.poll() is None, "the sync ended before it could be killed"
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    [killed] = [r for r in runs.list_runs(store, "shop", "orders") if r["pid"] == proc.pid]
    assert 0 < killed["rows_read"] < ROWS

    shown = json.loads(_crm_hub(config, "status", "--json").stdout)
    [row] = [r for r in shown if r["run_id"] == killed["id"]]
    assert row["status"] == runs.INTERRUPTED_STATUS
    check = _crm_hub(config, "status", "--check")
    assert check.returncode == 1
    assert f"run {killed['id']} was interrupted" in check.stderr

    rerun = _crm_hub(config, "sync", "shop", "--stream", "orders")
    assert rerun.returncode == 0, rerun.stderr
    [closed] = [r for r in runs.list_runs(store, "shop", "orders") if r["id"] == killed["id"]]
    assert closed["status"] == runs.FAILED and closed["error"] == runs.INTERRUPTED


def test_fault_stale_heartbeat_reads_as_interrupted_on_any_host(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    run_id = runs.start_run(store, "erp", "orders", "orders", "full", heartbeat=True)
    [fresh] = runs.list_runs(store, "erp", "orders")
    assert fresh["status"] == runs.RUNNING  # this very process: alive, heartbeat fresh
    later = datetime.now(UTC) + runs.STALE_AFTER + timedelta(seconds=1)
    row = dict(fresh, host="elsewhere")  # another machine: only the heartbeat tells
    assert runs.as_read(row, later)["status"] == runs.INTERRUPTED_STATUS
    assert runs.as_read(dict(fresh, host="elsewhere"))["status"] == runs.RUNNING
    assert run_id == fresh["id"]
