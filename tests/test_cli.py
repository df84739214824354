"""The command line as a user runs it: a real process, exit codes, one-line errors, JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import shop_kit

# the console script, as users run it (``python -m`` would put the working folder first on
# sys.path, where a demo's mappings/ folder of YAML files hides the mappings package)
CLI = [str(Path(sys.executable).with_name("crm-hub"))]


def crm_hub(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    full_env.pop("CRM_HUB_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def shop_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    erp = shop_kit.create(url)
    others = [
        (f"C{i}", f"Customer {i}", f"c{i}@example.com", shop_kit.T0) for i in (0, 2, 3, 4, 5, 6)
    ]
    # every order's customer exists: the orders contract checks it
    shop_kit.add_customers(erp, [("C1", "  Ada  ", "ADA@EXAMPLE.COM", shop_kit.T0), *others])
    shop_kit.add_orders(erp, 30)
    shop_kit.write_files(tmp_path, "sqlite:///store.db", batch=10)
    return tmp_path, {"SHOP_URL": url}


def test_help_explains_every_command(tmp_path: Path) -> None:
    out = crm_hub("--help", cwd=tmp_path)
    assert out.returncode == 0
    for command in ("init", "check", "sync", "status", "demo"):
        assert command in out.stdout


def test_init_writes_a_starter_config_that_loads(tmp_path: Path) -> None:
    assert crm_hub("init", cwd=tmp_path).returncode == 0
    text = (tmp_path / "crm-hub.yaml").read_text()
    assert "url_env" in text
    again = crm_hub("init", cwd=tmp_path)
    assert again.returncode == 2 and "exists already" in again.stderr


def test_sync_then_status_json(shop_dir: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop_dir
    synced = crm_hub("sync", cwd=folder, env=env)
    assert synced.returncode == 0, synced.stderr
    assert "shop.orders" in synced.stdout
    out = crm_hub("--config", str(folder / "crm-hub.yaml"), "status", "--json", cwd=folder.parent)
    runs = json.loads(out.stdout)
    by_stream = {r["stream"]: r for r in runs}
    assert by_stream["orders"]["rows_read"] == 30 and by_stream["orders"]["mode"] == "full"
    assert by_stream["customers"]["rows_loaded"] == 7
    for run in runs:
        assert {
            "source",
            "stream",
            "mode",
            "status",
            "rows_read",
            "rows_loaded",
            "rows_quarantined",
            "started_at",
            "finished_at",
        } <= set(run)
        assert run["status"] == "success"
    table = crm_hub("status", cwd=folder)
    assert "orders" in table.stdout and "success" in table.stdout


def test_check_passes_then_names_the_broken_source(shop_dir: tuple[Path, dict[str, str]]) -> None:
    folder, env = shop_dir
    ok = crm_hub("check", cwd=folder, env=env)
    assert ok.returncode == 0, ok.stderr
    assert "all checks passed" in ok.stdout
    broken = crm_hub(
        "check", cwd=folder, env={"SHOP_URL": "postgresql+psycopg://u:hunter2@127.0.0.1:1/x"}
    )
    assert broken.returncode == 2
    assert "hunter2" not in broken.stderr + broken.stdout
    assert "source 'shop'" in broken.stderr and "Traceback" not in broken.stderr


def test_errors_are_one_clear_line_and_debug_shows_the_traceback(tmp_path: Path) -> None:
    out = crm_hub("--config", str(tmp_path / "missing.yaml"), "sync", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "does not exist" in out.stderr
    debug = crm_hub("--debug", "--config", str(tmp_path / "missing.yaml"), "sync", cwd=tmp_path)
    assert "Traceback" in debug.stderr


def test_a_failed_stream_makes_sync_exit_non_zero(shop_dir: tuple[Path, dict[str, str]]) -> None:
    folder, _env = shop_dir
    out = crm_hub(
        "sync", "shop", "--stream", "orders", cwd=folder, env={"SHOP_URL": "sqlite:///nowhere/x.db"}
    )
    assert out.returncode == 1
    assert "FAILED" in out.stdout
    assert "Traceback" not in out.stderr


def test_config_from_the_environment_variable(shop_dir: tuple[Path, dict[str, str]]) -> None:
    folder, _env = shop_dir
    out = crm_hub("status", cwd=folder.parent, env={"CRM_HUB_CONFIG": str(folder / "crm-hub.yaml")})
    assert out.returncode == 0 and "no runs yet" in out.stdout


def _command_paths(cmd, path: list[str]) -> Iterator[list[str]]:
    yield path
    for name, sub in getattr(cmd, "commands", {}).items():
        yield from _command_paths(sub, [*path, name])


def test_no_flag_is_shown_as_taking_a_value_in_any_help(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--quiet <bool>` reads as `--quiet true`: no command's help shows a flag's type."""
    from crm_core.cli.app import command

    monkeypatch.setenv("COLUMNS", "200")
    paths = list(_command_paths(command(), []))
    assert len(paths) > 40 and ["outbox", "list"] in paths and ["sync"] in paths
    for path in paths:
        command().main([*path, "--help"], prog_name="crm-hub", standalone_mode=False)
        shown = capsys.readouterr().out
        assert "Show this message and exit" in shown, path
        assert "<bool>" not in shown, f"crm-hub {' '.join(path)} --help shows <bool>"


def test_sync_reports_every_missing_environment_variable_at_once(tmp_path: Path) -> None:
    """Three variables not set: one run names all three, not one run per variable."""
    (tmp_path / "m.yaml").write_text("system: x\nstreams: {}\n", encoding="utf-8")
    (tmp_path / "crm-hub.yaml").write_text(
        """
store: {url_env: HUB_STORE_URL}
sources:
  erp:
    url_env: ERP_URL
    mapping: m.yaml
    streams: {orders: {table: O, primary_key: [ID]}}
  shop:
    url_env: SHOP_URL
    mapping: m.yaml
    streams: {orders: {table: O, primary_key: [ID]}}
""",
        encoding="utf-8",
    )
    unset = {"HUB_STORE_URL": "", "ERP_URL": "", "SHOP_URL": ""}
    out = crm_hub("sync", cwd=tmp_path, env=unset)
    assert out.returncode == 2
    assert "3 problem(s)" in out.stderr
    for variable in unset:
        assert f"environment variable {variable} is not set" in out.stderr
    one = crm_hub("sync", "shop", cwd=tmp_path, env={**unset, "HUB_STORE_URL": "sqlite://"})
    assert one.returncode == 2 and "SHOP_URL" in one.stderr and "ERP_URL" not in one.stderr
