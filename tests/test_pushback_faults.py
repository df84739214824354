"""Push-back when something is wrong with one change or with the timing: a poison change is
a dead letter on its own, a crash followed by a back-office edit does not turn an applied
change into a conflict, a back-office value the hub pulled is not taken for a conflict, and a
record gone from the target is said to be gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from crm_core.pushback import submit
from crm_core.store.tables import outbox, runs
from schemas.settings import HubConfig
from tests import pushback_kit as kit
from tests.conftest import PG_ADMIN
from tests.test_cli import crm_hub

POISON = "+86 21 5555\x00 0199"


@pytest.fixture
def pg_world(pg_url: str, tmp_path: Path) -> Iterator[tuple[Path, HubConfig, Engine, str]]:
    """The legacy ERP on PostgreSQL, pulled into a PostgreSQL store."""
    with kit.scratch_pg(PG_ADMIN) as erp_url:
        path = kit.build_pg(tmp_path / "world", pg_url, erp_url)
        config, store = kit.open_world(path)
        try:
            yield path, config, store, erp_url
        finally:
            store.dispose()


def _phone_change(store: Engine, config: HubConfig, golden: str, phone: str) -> submit.ChangeView:
    return submit.change_fields(
        store, config, entity="customers", golden_id=golden, values={"phone": phone}, who="sales.li"
    )


def _poison(store: Engine, change_id: str) -> None:
    """Give a queued change a phone with U+0000, as a submit that did not check for control
    characters stored it: the outbox row changed directly."""
    with store.begin() as conn:
        changes = conn.execute(
            select(outbox.c.changes).where(outbox.c.change_id == change_id)
        ).scalar_one()
        changes["phone"]["new"] = POISON
        conn.execute(update(outbox).where(outbox.c.change_id == change_id).values(changes=changes))


@pytest.mark.parametrize("refused_by", ["store", "target"])
def test_poison_change_becomes_a_dead_letter_alone_and_the_chunk_is_delivered_once(
    pg_world: tuple[Path, HubConfig, Engine, str], refused_by: str
) -> None:
    path, config, store, erp_url = pg_world
    customers = kit.legacy_customers(store)[:25]
    changes = {
        golden: _phone_change(store, config, golden, f"+86 21 6000 {i:04d}")
        for i, (golden, _) in enumerate(customers)
    }
    poison_golden, poison_key = customers[12]  # in the middle of the chunk
    poison = changes[poison_golden].change_id
    _poison(store, poison)
    if refused_by == "store":
        # the back office changed that phone meanwhile: the conflict to record carries the
        # NUL, which PostgreSQL's text columns refuse (the store refuses it)
        kit.legacy_pg_exec(
            erp_url,
            'UPDATE "RCM" SET "CPHON" = :p, "CCHGD" = 20261122, "CCHGT" = 101500 '
            'WHERE rtrim("CCUST") = :k',
            p="021-6666-0202",
            k=poison_key.strip(),
        )
    before = kit.writes_per_customer(erp_url)

    pushed = crm_hub("push", "--json", cwd=path.parent)
    assert pushed.returncode == 1, pushed.stderr  # as for any dead letter
    outcome = json.loads(pushed.stdout)
    assert outcome["failed"] == 1 and outcome["delivered"] == len(customers) - 1

    writes = kit.writes_per_customer(erp_url)
    for golden, key in customers:
        view = submit.get_change(store, changes[golden].change_id)
        if golden == poison_golden:
            assert view.state == "failed"
            assert view.last_error is not None
            assert poison in view.last_error and "legacy_erp" in view.last_error
            assert "\x00" not in view.last_error
            assert ("DataError" in view.last_error) or ("NUL" in view.last_error)
            assert writes.get(key.strip(), 0) == before.get(key.strip(), 0)  # not written
        else:
            assert view.state == "delivered", (golden, view.last_error)
            assert writes.get(key.strip(), 0) == 1  # written exactly once
    with store.connect() as conn:
        status = conn.execute(
            select(runs.c.status).where(runs.c.stream == "push_back").order_by(runs.c.id.desc())
        ).scalar()
    assert status != "running"

    rerun = crm_hub("push", "--json", cwd=path.parent)  # the dead letter holds nothing back
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["changes"] == 0
    assert kit.writes_per_customer(erp_url) == writes  # nothing written twice
