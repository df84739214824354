"""Swagger UI (/docs) and ReDoc (/redoc) work without the internet: their pages name no
other host, and every script, style sheet and icon they load is served by the app."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from crm_core.api import create_app
from schemas.settings import load_config

#: src, href and spec-url attributes and url strings in a page
_REFERENCE = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*["']([^"']+)["']"""
)
_ABSOLUTE = re.compile(r"(?:https?:)?//[^\s\"'<>]+", re.IGNORECASE)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    folder: Path = tmp_path_factory.mktemp("docs")
    (folder / "crm-hub.yaml").write_text("store:\n  url: sqlite:///store.db\n")
    return TestClient(create_app(load_config(folder / "crm-hub.yaml")))


@pytest.mark.parametrize(
    ("page", "script", "marker"),
    [("/docs", "swagger-ui-bundle.js", "SwaggerUIBundle"), ("/redoc", "redoc", "Redoc")],
)
def test_docs_pages_load_everything_from_the_app(
    client: TestClient, page: str, script: str, marker: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    # no absolute URL at all: no CDN, no web fonts, no favicon from elsewhere
    assert _ABSOLUTE.findall(html) == []
    references = [a or b for a, b in _REFERENCE.findall(html)]
    assets = [r for r in references if not r.endswith("openapi.json")]
    assert any(script in r for r in assets), references
    assert any(r.endswith("openapi.json") for r in references), references
    for ref in assets:
        assert ref.startswith("/"), ref
        loaded = client.get(ref)
        assert loaded.status_code == 200, ref
        assert len(loaded.content) > 0, ref
    bundle = next(r for r in assets if script in r)
    assert marker in client.get(bundle).text


def test_the_docs_point_at_the_apps_own_openapi_document(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "'/openapi.json'" in html or '"/openapi.json"' in html
    assert client.get("/openapi.json").json()["info"]["title"] == "crm-hub"
