"""Secrets in URLs, tried as an attacker would read them: a password in a URL's query string
(or a connection string's ``PWD=``) is refused in the config file like ``user:pw@``, and one
given in the environment appears nowhere the hub prints or stores: not in ``status``,
``runs --json``, the ledger table, the API's ``/runs`` or the ops page."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from sqlalchemy.engine import make_url

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from crm_core.ledger import health
from crm_core.ledger import runs as ledger
from crm_core.store.db import open_store
from crm_core.store.tables import runs
from schemas.errors import ConfigError
from schemas.secrets import mask_secrets
from schemas.settings import load_config
from tests import shop_kit

CLI = [str(Path(sys.executable).with_name("crm-hub"))]
SECRET = "Hunter2QuerySecret"
#: a source nobody listens on: the connection fails at once
DEAD_SOURCE = f"postgresql+psycopg://postgres@127.0.0.1:1/erp?sslmode=disable&password={SECRET}"


def crm_hub(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "COLUMNS": "250"}
    full.pop("CRM_HUB_DATABASE_URL", None)
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env={**full, **env}, capture_output=True, text=True, timeout=120
    )


def _config_with(folder: Path, url_line: str, extra: str = "") -> Path:
    (folder / "shop.yaml").write_text(shop_kit.MAPPING, encoding="utf-8")
    path = folder / "crm-hub.yaml"
    path.write_text(
        f"""\
store:
  url: sqlite:///store.db
sources:
  shop:
    kind: sql
    {url_line}
    mapping: shop.yaml
{extra}    streams:
      customers: {{table: shop_customers, primary_key: [id], cursor: [updated_at]}}
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://sync@db/erp?password={SECRET}",
        f"postgresql+psycopg://sync@db/erp?sslmode=require&PassWord={SECRET}",
        f"postgresql+psycopg://sync@db/erp?sslpassword={SECRET}",
        f"mssql+pyodbc://sync@db/erp?driver=X&PWD={SECRET}",
        f"https://erp.example.com/api?api_key={SECRET}",
        f"https://erp.example.com/api?access_token={SECRET}",
        f"odbc:///?odbc_connect=DRIVER%3D%7BX%7D%3BUID%3Du%3BPWD%3D{SECRET}",
    ],
)
def test_hostile_url_password_in_the_query_string_is_refused_with_its_line(
    tmp_path: Path, url: str
) -> None:
    path = _config_with(tmp_path, f"url: '{url}'")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert SECRET not in str(info.value)
    assert any(
        p.startswith(f"{path}:6: sources.shop.url: a secret") and "url_env" in p
        for p in info.value.problems
    ), info.value.problems


def test_hostile_url_password_as_an_odbc_keyword_in_options_is_refused(tmp_path: Path) -> None:
    path = _config_with(
        tmp_path,
        "url_env: SHOP_URL",
        f"    options:\n      connection: {{UID: sync, PWD: {SECRET}}}\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert SECRET not in str(info.value)
    assert any(
        p.startswith(f"{path}:8: sources.shop.options:") and "options.connection.PWD" in p
        for p in info.value.problems
    ), info.value.problems


def test_hostile_url_password_refused_by_check_with_exit_2_and_file_line(tmp_path: Path) -> None:
    _config_with(tmp_path, f"url: postgresql+psycopg://sync@127.0.0.1/erp?password={SECRET}")
    out = crm_hub("check", cwd=tmp_path, env={})
    assert out.returncode == 2, out.stdout + out.stderr
    assert "crm-hub.yaml:6: sources.shop.url: a secret (password)" in out.stderr
    assert SECRET not in out.stdout + out.stderr
    assert not (tmp_path / "store.db").exists()


def test_hostile_url_password_masking_covers_every_shape() -> None:
    for text in (
        f"source 'x' (postgresql://sync@db/erp?sslmode=require&password={SECRET}): reading",
        f"postgresql://sync:{SECRET}@db/erp",
        f"DRIVER={{X}};SERVER=db;UID=u;PWD={{{SECRET};x}};PORT=1",
        f"odbc:///?odbc_connect=DRIVER%3D%7BX%7D%3BPWD%3D{SECRET}%3BSERVER%3Ddb",
        f"host=db password={SECRET} dbname=erp",
        f"https://erp/api?Client_Secret={SECRET}&x-api-key={SECRET}",
    ):
        masked = mask_secrets(text)
        assert SECRET not in masked and "***" in masked, masked
    kept = "duplicate key value violates unique constraint; Key (id)=(5) sslmode=require"
    assert mask_secrets(kept) == kept


def _shown_nowhere(folder: Path, env: dict[str, str], store_url: str) -> None:
    """The failed run's error is recorded, and the secret is in no output of the hub."""
    shown = ""
    for args in (
        ["status"],
        ["status", "--json"],
        ["runs"],
        ["runs", "--json"],
        ["status", "--check"],
    ):
        out = crm_hub(*args, cwd=folder, env=env)
        assert "Traceback" not in out.stderr, out.stderr
        shown += out.stdout + out.stderr
    assert SECRET not in shown
    [run] = json.loads(crm_hub("runs", "--json", cwd=folder, env=env).stdout)
    assert run["status"] == "failed" and "password=***" in run["error"], run["error"]
    store = create_engine(store_url)
    with store.connect() as conn:
        errors = [row.error for row in conn.execute(select(runs.c.error))]
    assert errors and all(SECRET not in e for e in errors), errors
    config = load_config(folder / "crm-hub.yaml")
    app = create_app(config, store=store, search_refresh_seconds=0)
    ops_key = create_key(store, Role.OPS, "ops wang")[1]
    with TestClient(app, follow_redirects=False) as client:
        listed = client.get("/runs", headers={"Authorization": f"Bearer {ops_key}"})
        run_id = listed.json()["items"][0]["run_id"]
        detail = client.get(f"/runs/{run_id}", headers={"Authorization": f"Bearer {ops_key}"})
        client.post("/ui/login", data={"key": ops_key})
        page = client.get("/ui/ops")
    assert listed.status_code == detail.status_code == page.status_code == 200
    assert "password=***" in detail.json()["error"]
    for body in (listed.text, detail.text, page.text):
        assert SECRET not in body
    store.dispose()


def test_hostile_url_password_of_a_source_url_from_the_environment_is_never_shown(
    tmp_path: Path,
) -> None:
    _config_with(tmp_path, "url_env: SHOP_URL")
    env = {"SHOP_URL": DEAD_SOURCE}
    synced = crm_hub("sync", cwd=tmp_path, env=env)
    assert synced.returncode == 1, synced.stdout + synced.stderr
    assert "FAILED" in synced.stdout and "password=***" in synced.stderr
    assert SECRET not in synced.stdout + synced.stderr
    checked = crm_hub("check", cwd=tmp_path, env=env)
    assert checked.returncode == 2 and SECRET not in checked.stdout + checked.stderr
    _shown_nowhere(tmp_path, env, f"sqlite:///{tmp_path / 'store.db'}")


def test_hostile_url_password_of_the_store_url_from_the_environment_is_never_shown(
    tmp_path: Path, pg_url: str
) -> None:
    _config_with(tmp_path, "url_env: SHOP_URL")
    # the server trusts local logins, so the store works with any password in the URL
    store_url = f"{make_url(pg_url).render_as_string(hide_password=False)}?password={SECRET}"
    env = {"SHOP_URL": DEAD_SOURCE, "CRM_HUB_DATABASE_URL": store_url}
    checked = crm_hub("check", cwd=tmp_path, env=env)
    assert checked.returncode == 2 and "ok store" in checked.stdout
    assert SECRET not in checked.stdout + checked.stderr
    synced = crm_hub("sync", cwd=tmp_path, env=env)
    assert synced.returncode == 1 and SECRET not in synced.stdout + synced.stderr
    _shown_nowhere(tmp_path, env, pg_url)
    dead_store = {**env, "CRM_HUB_DATABASE_URL": f"{DEAD_SOURCE.replace('/erp', '/hub')}"}
    for args in (["status"], ["sync"], ["check"]):
        out = crm_hub(*args, cwd=tmp_path, env=dead_store)
        assert out.returncode in (1, 2) and "Traceback" not in out.stderr
        assert SECRET not in out.stdout + out.stderr, out.stderr


def test_hostile_url_password_in_any_error_is_masked_when_recorded_and_when_read(
    sqlite_url: str,
) -> None:
    store = open_store(sqlite_url)
    leak = f"OperationalError: cannot reach postgresql://sync@db/erp?password={SECRET}"
    run_id = ledger.start_run(store, "shop", "orders", "orders", "full")
    ledger.finish_run(store, run_id, ledger.RunCounts(), leak)
    ledger.record_failed_attempt(store, "shop", "customers", f"{leak} (attempt)")
    with store.begin() as conn:  # a row a hub without masking recorded
        conn.execute(
            runs.insert().values(
                source="shop", stream="lines", mode="-", status="failed",
                started_at=ledger.datetime.now(ledger.UTC), rows_read=0, rows_loaded=0,
                rows_quarantined=0, batches=0, error=leak,
            )
        )  # fmt: skip
    with store.connect() as conn:
        stored = [e for (e,) in conn.execute(select(runs.c.error).order_by(runs.c.id))]
    assert SECRET not in stored[0] and SECRET not in stored[1] and SECRET in stored[2]
    shown = [health.run_json(r)["error"] for r in ledger.list_runs(store)]
    assert len(shown) == 3 and all(SECRET not in e and "password=***" in e for e in shown)
    store.dispose()
