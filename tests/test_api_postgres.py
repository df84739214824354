"""The same API on a PostgreSQL store (the production store) answers exactly what it
answers on SQLite for the same demo data: search, customer, orders, inventory, insights,
credit, receivables and the screen pop by phone number."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from crm_core.access.api_keys import Role, create_key
from crm_core.api import create_app
from tests.api_kit import AS_OF, demo_copy, demo_into

#: fields that say when something was written, which differ between two stores
_WHEN = {
    "linked_at",
    "loaded_at",
    "created_at",
    "updated_at",
    "decided_at",
    "run_id",
    "freshness",  # the customer summary's: when the last pulls finished
}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _WHEN}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _answers(client: TestClient, key: str, golden_ids: list[str]) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {key}"}
    out: dict[str, Any] = {}
    for q in ("联创", "lianchuang", "mingde", "a", "+86", "de1"):
        out[f"search {q}"] = client.get("/customers", params={"q": q, "limit": 200}, headers=auth)
    day = {"as_of": AS_OF.isoformat()}
    for golden_id in golden_ids:
        base = f"/customers/{golden_id}"
        out[base] = client.get(base, headers=auth)
        out[f"{base}/orders"] = client.get(f"{base}/orders", params={"limit": 200}, headers=auth)
        out[f"{base}/credit"] = client.get(f"{base}/credit", headers=auth)
        for part in ("inventory", "insights", "receivables"):
            out[f"{base}/{part}"] = client.get(f"{base}/{part}", params=day, headers=auth)
        if phone := out[base].json().get("phone"):
            pop = f"/lookup/phone/{quote(phone, safe='')}"
            out[f"{pop} ({golden_id})"] = client.get(pop, params=day, headers=auth)
    for name, response in out.items():
        assert response.status_code == 200, (name, response.text)
        out[name] = _strip(response.json())
    return out


@pytest.mark.postgres
@pytest.mark.slow
def test_postgres_store_answers_like_sqlite(tmp_path: Path, pg_url: str) -> None:
    golden_ids = [f"G{n:08d}" for n in (1, 2, 3, 17, 40, 77)]
    answers = []
    config, sqlite = demo_copy(Path(tmp_path.parent), tmp_path / "sqlite")
    pg_config, pg = demo_into(tmp_path / "pg", pg_url)
    for cfg, store in ((config, sqlite), (pg_config, pg)):
        app = create_app(cfg, store=store, search_refresh_seconds=0)
        key = create_key(store, Role.ADMIN)[1]
        with TestClient(app) as client:
            answers.append(_answers(client, key, golden_ids))
        store.dispose()
    assert answers[0] == answers[1]
    assert answers[1]["search 联创"]["items"] or answers[1]["search mingde"]["items"]
    pops = [v for k, v in answers[1].items() if k.startswith("/lookup/phone/")]
    assert pops and all(pop["items"] for pop in pops)
