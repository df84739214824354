"""One runner per stream: a second runner of a stream (a pull, reconcile, push-back) is
refused at once, naming the run that holds it, and its ledger row says so; a holder killed
with SIGKILL leaves the stream free for the next run, which closes the run it left."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from crm_core.golden import reconcile
from crm_core.ledger import health, leases, runs
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK, RECONCILE
from crm_core.pushback.deliver import push_back
from crm_core.store.db import open_store
from sample_erps import scenario
from schemas.settings import load_config
from tests import shop_kit

CRM_HUB = str(Path(sys.executable).with_name("crm-hub"))
HELD = re.compile(r"already running \(run (\d+), since [0-9-]+ [0-9:]+ UTC, on (\S+) pid (\d+)\)")


def _popen(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [CRM_HUB, "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env or os.environ.copy(),
    )


def test_two_syncs_of_one_stream_on_postgres_one_is_refused_at_once(
    tmp_path: Path, pg_url: str
) -> None:
    scenario.prepare(tmp_path, seed=7, customers=300, as_of=date(2026, 3, 1))
    config = tmp_path / scenario.CONFIG_NAME
    text = config.read_text(encoding="utf-8")
    small = "primary_key: [LORD, LLINE], cursor: [LCHGD, LCHGT], batch_size: 50"
    config.write_text(text.replace("primary_key: [LORD, LLINE], cursor: [LCHGD, LCHGT]", small))
    assert small in config.read_text(encoding="utf-8")  # so the first run lasts seconds
    store = open_store(pg_url)  # migrated, as by any earlier run
    env = {**os.environ, "CRM_HUB_DATABASE_URL": pg_url}
    args = ("sync", "legacy_erp", "--stream", "order_lines", "--full-refresh", "--quiet")

    started = time.monotonic()
    procs = [_popen(config, *args, env=env) for _ in range(2)]
    ended: dict[int, float] = {}
    while len(ended) < 2 and time.monotonic() - started < 120:
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic() - started
        time.sleep(0.02)
    outs = [proc.communicate(timeout=10) for proc in procs]
    codes = [proc.returncode for proc in procs]
    assert sorted(codes)[0] == 0 and sorted(codes)[1] != 0, (codes, outs)
    loser = codes.index(next(c for c in codes if c != 0))
    winner = 1 - loser
    assert "already running" in outs[loser][1], outs[loser]
    # at once: it does not wait for the lease (the winner still runs when it has gone);
    # the bound leaves room for a busy machine's start-up of the command itself
    assert ended[loser] < ended[winner]
    assert ended[loser] < 20, f"the refused sync took {ended[loser]:.1f}s"

    [done] = runs.list_runs(store, "legacy_erp", "order_lines", status=runs.SUCCESS)
    [refused] = runs.list_runs(store, "legacy_erp", "order_lines", status=runs.REFUSED)
    held = HELD.search(outs[loser][1])
    assert held is not None, outs[loser][1]
    assert int(held[1]) == done["id"] and int(held[3]) == procs[winner].pid
    assert refused["pid"] == procs[loser].pid and "already running" in refused["error"]
    assert done["rows_read"] > 1000
    stats = health.stream_stats(store)[("legacy_erp", "order_lines")]
    assert stats.consecutive_failures == 0 and stats.last and stats.last["id"] == done["id"]
    store.dispose()


def test_a_killed_holder_on_postgres_frees_the_lease(pg_url: str) -> None:
    store = open_store(pg_url)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from crm_core.ledger import leases\n"
            "from crm_core.store.db import open_store\n"
            f"lease = leases.acquire(open_store({pg_url!r}), 'erp', 'orders')\n"
            "print('held' if lease else 'refused', flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert leases.acquire(store, "erp", "orders") is None
        other = leases.acquire(store, "erp", "invoices")  # another stream is free
        assert other is not None
        other.release()
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        deadline = time.monotonic() + 10
        lease = leases.acquire(store, "erp", "orders")
        while lease is None and time.monotonic() < deadline:
            time.sleep(0.1)
            lease = leases.acquire(store, "erp", "orders")
        assert lease is not None, "the killed holder's lease was not given back"
        lease.release()
        again = leases.acquire(store, "erp", "orders")  # released means free again
        assert again is not None
        again.release()
    finally:
        holder.kill()
        holder.wait()
        store.dispose()


def _holder(store_url: str, source: str, stream: str) -> subprocess.Popen[str]:
    """A process that takes a stream's lease and opens its run, as a sync does, then waits
    (to be killed); it prints the run's id once it holds the lease."""
    script = (
        "import time\n"
        "from crm_core.ledger import leases\n"
        "from crm_core.store.db import open_store\n"
        f"run_id, lease = leases.start_leased_run(open_store({store_url!r}), {source!r}, "
        f"{stream!r}, 'orders', 'full', heartbeat=True)\n"
        "print(run_id, flush=True)\n"
        "time.sleep(120)\n"
    )
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_sqlite_second_sync_refused_and_killed_holder_frees_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source_url = f"sqlite:///{tmp_path / 'shop.db'}"
    monkeypatch.setenv("SHOP_URL", source_url)
    shop_kit.add_orders(shop_kit.create(source_url), 500)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    config = shop_kit.write_files(tmp_path, store_url)
    store = open_store(store_url)
    first = _holder(store_url, "shop", "orders")
    try:
        assert first.stdout is not None
        running_id = int(first.stdout.readline())
        second = _popen(config, "sync", "shop", "--stream", "orders", "--quiet")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1, err
        held = HELD.search(err)
        assert held is not None, err
        assert int(held[1]) == running_id and held[2] == runs.HOST
        assert int(held[3]) == first.pid
        [refused] = runs.list_runs(store, "shop", "orders", status=runs.REFUSED)
        assert refused["pid"] == second.pid and held[0] in refused["error"]
        [still] = [r for r in runs.list_runs(store, "shop", "orders") if r["id"] == running_id]
        assert still["status"] == runs.RUNNING  # the refused runner left the holder's run be
        assert (tmp_path / "store.db.locks" / "shop.orders.lock").exists()
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        first.kill()
        first.communicate()

    rerun = _popen(config, "sync", "shop", "--stream", "orders", "--quiet")
    _, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    [killed] = [r for r in runs.list_runs(store, "shop", "orders") if r["id"] == running_id]
    assert killed["status"] == runs.FAILED and killed["error"] == runs.INTERRUPTED
    stats = health.stream_stats(store)[("shop", "orders")]
    assert stats.last is not None and stats.last["status"] == runs.SUCCESS
    assert stats.last["rows_loaded"] == 500


def test_push_back_and_reconcile_run_one_at_a_time(tmp_path: Path) -> None:
    config = load_config(shop_kit.write_files(tmp_path, f"sqlite:///{tmp_path / 'store.db'}"))
    store = open_store(config.store_url())
    for stream, attempt in (
        (PUSH_BACK, lambda: push_back(config, store)),
        (RECONCILE, lambda: reconcile(store, config.reconcile)),
    ):
        run_id, lease = leases.start_leased_run(store, HUB_SOURCE, stream, "", "test")
        with pytest.raises(leases.AlreadyRunning, match=rf"already running \(run {run_id}, "):
            attempt()
        [refused] = runs.list_runs(store, HUB_SOURCE, stream, status=runs.REFUSED)
        assert f"already running (run {run_id}, " in refused["error"]
        [holder] = runs.list_runs(store, HUB_SOURCE, stream, status=runs.RUNNING)
        assert holder["id"] == run_id  # untouched by the refused one
        runs.finish_run(store, run_id, runs.RunCounts())
        lease.release()
    result = push_back(config, store)  # free again once the holder is done
    assert result.run_id is not None
    stats = health.stream_stats(store)
    assert stats[(HUB_SOURCE, PUSH_BACK)].consecutive_failures == 0
    assert stats[(HUB_SOURCE, PUSH_BACK)].runs.get(runs.REFUSED) == 1
