"""What the browser tests share: ``crm-hub serve`` on a folder, and Debian's chromium."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.test_api_serve import _free_port, _wait_for
from tests.test_cli import CLI

CHROMIUM = Path("/usr/bin/chromium")


@contextmanager
def serving(workdir: Path) -> Iterator[str]:
    """``crm-hub serve`` of ``workdir/crm-hub.yaml`` on a free port; yields its base URL."""
    port, log = _free_port(), workdir / "serve.log"
    env = {k: v for k, v in os.environ.items() if k != "CRM_HUB_DATABASE_URL"}
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "--config", str(workdir / "crm-hub.yaml"), "serve", "--port", str(port)],
            cwd=workdir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield _wait_for(server, f"http://127.0.0.1:{port}", log)
        finally:
            server.terminate()
            server.wait(timeout=20)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright (never ``playwright install``)."""
    playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()
