"""The issue's check, as a user runs it: the demo, ``apikey create``, a real
``crm-hub serve`` on a free port, and HTTP calls to it; then the key revoked (refused
within ``api.key_cache_seconds``)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas.api_settings import ApiConfig
from tests.test_cli import CLI, crm_hub


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The demo's store served by ``crm-hub serve``; (config, base URL)."""
    workdir = tmp_path / "demo"
    demo = crm_hub(
        "demo",
        "--workdir",
        str(workdir),
        "--customers",
        "120",
        "--as-of",
        "2026-11-20",
        "-q",
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stderr
    config = workdir / "crm-hub.yaml"  # the demo reconciled its customers already
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ}
    env.pop("CRM_HUB_DATABASE_URL", None)
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "--config", str(config), "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield config, _wait_for(server, f"http://127.0.0.1:{port}", log)
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _wait_for(server: subprocess.Popen[bytes], base: str, log: Path) -> str:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "crm-hub serve did not answer in 60 s"
        time.sleep(0.2)


@pytest.mark.slow
def test_the_issue_check_sequence_on_the_demo_store(served: tuple[Path, str]) -> None:
    config, base = served
    created = crm_hub(
        "--config", str(config), "apikey", "create", "--role", "viewer", cwd=config.parent.parent
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("crmhub_")

    assert httpx.get(f"{base}/health").status_code == 200
    refused = httpx.get(f"{base}/customers", params={"q": "a"})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    auth = {"Authorization": f"Bearer {key}"}
    found = httpx.get(f"{base}/customers", params={"q": "a"}, headers=auth)
    assert found.status_code == 200
    items = found.json()["items"]
    assert items and all(item["id"] for item in items)
    golden_id = items[0]["id"]
    orders = httpx.get(f"{base}/customers/{golden_id}/orders", headers=auth)
    assert orders.status_code == 200
    keys = {
        s["key"] for s in httpx.get(f"{base}/customers/{golden_id}", headers=auth).json()["sources"]
    }
    assert orders.json()["items"] and {o["customer_key"] for o in orders.json()["items"]} <= keys
    assert httpx.get(f"{base}/customers/{golden_id}/credit", headers=auth).status_code == 403

    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    for path in (
        "/customers/{id}/credit",
        "/customers/{id}/receivables",
        "/customers/{id}/insights",
        "/runs",
    ):
        assert path in paths

    listed = crm_hub("--config", str(config), "apikey", "list", "--json", cwd=config.parent.parent)
    key_id = key.split("_")[1]
    assert key_id in listed.stdout and key.split("_", 2)[2] not in listed.stdout
    revoked = crm_hub("--config", str(config), "apikey", "revoke", key_id, cwd=config.parent.parent)
    assert revoked.returncode == 0, revoked.stderr
    # revoked by another process: refused once the server's check of the key is older
    # than api.key_cache_seconds (the default here), a second of slack for a busy machine
    deadline = time.monotonic() + ApiConfig().key_cache_seconds + 1
    while (
        status := httpx.get(f"{base}/customers", params={"q": "a"}, headers=auth).status_code
    ) == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 401


def test_apikey_create_refuses_an_unknown_role(tmp_path: Path) -> None:
    (tmp_path / "crm-hub.yaml").write_text("store:\n  url: sqlite:///store.db\n")
    out = crm_hub("apikey", "create", "--role", "boss", cwd=tmp_path)
    assert out.returncode == 2
    assert "unknown role 'boss': use one of viewer, editor, finance, ops, admin" in out.stderr


def test_serve_says_how_to_install_the_api_extra_when_it_is_missing(tmp_path: Path) -> None:
    (tmp_path / "crm-hub.yaml").write_text("store:\n  url: sqlite:///store.db\n")
    code = (
        "import sys; sys.modules['uvicorn'] = None; "  # as if the api extra were not installed
        "from crm_core.cli import main; sys.argv = ['crm-hub', 'serve']; main()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2
    assert "pip install 'crm-hub[api]'" in out.stderr
