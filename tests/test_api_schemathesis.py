"""Schemathesis against the API's own OpenAPI document, a bounded number of examples per
operation, valid and invalid input alike: no 500s, every answer as documented (status,
content type, body schema), every error problem+json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extra")

from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from crm_core.access.api_keys import Role, create_key  # noqa: E402
from crm_core.api import create_app  # noqa: E402
from crm_core.api.service import refresh_search_index  # noqa: E402
from tests.api_kit import demo_copy, demo_into  # noqa: E402

EXAMPLES = 25
KEY: dict[str, str] = {}
#: examples per operation and generation mode of the hostile run in the suite (the full
#: run, 50 per operation against `crm-hub serve`, is `make fuzz-api`)
HOSTILE_EXAMPLES = 6


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = Path(tmp_path_factory.getbasetemp())
    config, store = demo_copy(root, tmp_path_factory.mktemp("api_schemathesis") / "demo")
    refresh_search_index(store)
    app = create_app(config, store=store, search_refresh_seconds=0)
    KEY["admin"] = create_key(store, Role.ADMIN, "schemathesis")[1]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return schema


def _check(case: Any) -> None:
    response = case.call_and_validate(headers={"Authorization": f"Bearer {KEY['admin']}"})
    if response.status_code >= 400:
        assert response.headers["content-type"][0] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_the_api_keeps_its_openapi_promises(api_schema: Any, mode: GenerationMode) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12
    tested = 0
    for operation in operations:
        run = settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )(given(case=operation.as_strategy(generation_mode=mode))(_check))
        try:
            run()
        except Unsatisfiable:
            # nothing to make invalid: the operation takes no parameters (/health, /metrics)
            assert mode is GenerationMode.NEGATIVE and not operation.path_parameters
            tested -= 1
        tested += 1
    assert tested >= 10


@pytest.fixture(scope="module")
def pg_schema(tmp_path_factory: pytest.TempPathFactory, pg_module_url: str) -> Any:
    """The API over the demo data in a PostgreSQL store (which refuses a NUL in text, so a
    value that slips through shows as a 500), with an editor and an admin key."""
    config, store = demo_into(tmp_path_factory.mktemp("api_hostile_pg"), pg_module_url)
    refresh_search_index(store)
    app = create_app(config, store=store, search_refresh_seconds=0)
    keys = {role: create_key(store, role, f"schemathesis {role.value}")[1] for role in Role}
    yield schemathesis.openapi.from_asgi("/openapi.json", app), keys
    store.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("role", [Role.EDITOR, Role.ADMIN], ids=lambda r: r.value)
def test_hostile_api_schemathesis_finds_no_server_error(pg_schema: Any, role: Role) -> None:
    """Every operation, valid and invalid input, a fixed seed: no answer is a 5xx."""
    schema, keys = pg_schema
    headers = {"Authorization": f"Bearer {keys[role]}"}
    failures: list[str] = []

    def check(case: Any) -> None:
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {case.as_curl_command(headers)}")

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in GenerationMode:
            run = settings(
                max_examples=HOSTILE_EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(check))
            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE and not operation.path_parameters
    assert len(operations) >= 20
    assert not failures, "\n".join(failures[:10])


def test_the_openapi_document_lists_the_issue_paths(tmp_path: Path) -> None:
    (tmp_path / "crm-hub.yaml").write_text("store:\n  url: sqlite:///store.db\n")
    from schemas.settings import load_config

    app = create_app(load_config(tmp_path / "crm-hub.yaml"))
    with TestClient(app) as client:
        document = client.get("/openapi.json").json()
    for path in (
        "/customers",
        "/customers/{id}",
        "/customers/{id}/orders",
        "/customers/{id}/credit",
        "/customers/{id}/receivables",
        "/customers/{id}/inventory",
        "/customers/{id}/insights",
        "/runs",
        "/runs/{id}",
        "/quarantine",
        "/metrics",
        "/health",
    ):
        assert path in document["paths"], path
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
