"""`crm-hub demo` end to end, as a user runs it, and the checks the issue names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.test_cli import crm_hub


@pytest.mark.slow
def test_demo_full_then_incremental_with_status_json(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    out = crm_hub(
        "demo",
        "--workdir",
        str(workdir),
        "--customers",
        "600",
        "--as-of",
        "2026-11-20",
        "--rest-port",
        "0",
        "--service-desk-port",
        "0",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "full sync" in out.stdout and "incremental sync" in out.stdout
    assert (workdir / "crm-hub.yaml").exists()

    status = crm_hub("--config", str(workdir / "crm-hub.yaml"), "status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    runs = json.loads(status.stdout)
    full = [r for r in runs if r["mode"] == "full"]
    incremental = [r for r in runs if r["mode"] == "incremental"]
    assert len([r for r in full if r["status"] == "success"]) >= 5
    assert all(r["status"] == "success" for r in runs)
    read_full = sum(r["rows_read"] for r in full)
    read_inc = sum(r["rows_read"] for r in incremental)
    assert 0 < read_inc < read_full / 5
    assert sum(r["rows_quarantined"] for r in runs) == 0
    by_stream = {(r["source"], r["stream"]): r for r in full}
    assert {source for source, _ in by_stream} == {
        "legacy_erp",
        "modern_erp",
        "rest_erp",
        "service_desk",
        "marketing",
    }
    # installed base, service history and campaigns come through the same path (issue 20)
    streams = {r["stream"] for r in runs if r["status"] == "success"}
    assert {"assets", "service_requests", "campaigns", "campaign_touches"} <= streams
    assert by_stream["legacy_erp", "assets"]["rows_read"] > 100
    assert by_stream["legacy_erp", "orders"]["rows_read"] > 1000
    assert by_stream["legacy_erp", "order_lines"]["rows_read"] > 3000
    # the three systems' customers were reconciled into golden records, scored against the
    # generator's truth (issue: F1 at least 0.98)
    scores = [float(f) for f in re.findall(r"F1 (\d\.\d+)", out.stdout.replace("\n", " "))]
    assert len(scores) == 2 and min(scores) >= 0.98, out.stdout
    # step 6: the CRM side's concession is booked, the phone edited on both sides is a
    # conflict; both answer on the demo's store
    config = str(workdir / "crm-hub.yaml")
    outbox = json.loads(
        crm_hub("--config", config, "outbox", "list", "--json", cwd=tmp_path).stdout
    )
    states = {c["entity"]: c["state"] for c in outbox}
    assert states == {"concessions": "delivered", "customers": "conflict"}
    conflicts = crm_hub("--config", config, "conflicts", "list", "--json", cwd=tmp_path)
    [conflict] = json.loads(conflicts.stdout)
    assert conflict["field"] == "phone" and conflict["target_value"] == "021-6666-0202"


def test_demo_is_deterministic_for_a_seed(tmp_path: Path) -> None:
    from sample_erps import scenario

    first = scenario.prepare(
        tmp_path / "a", seed=7, customers=50, as_of=__import__("datetime").date(2026, 1, 31)
    )
    second = scenario.prepare(
        tmp_path / "b", seed=7, customers=50, as_of=__import__("datetime").date(2026, 1, 31)
    )
    assert first == second
    dump = []
    for folder in ("a", "b"):
        engine = scenario.erp_engine(tmp_path / folder)
        with engine.connect() as conn:
            dump.append(conn.exec_driver_sql('SELECT * FROM "ECH" ORDER BY "HORD"').all())
        engine.dispose()
    assert dump[0] == dump[1] and len(dump[0]) > 50
