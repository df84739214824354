"""Push-back when something is wrong with one change or with the timing: a poison change is
a dead letter on its own, a crash followed by a back-office edit does not turn an applied
change into a conflict, a back-office value the hub pulled is not taken for a conflict, and a
record gone from the target is said to be gone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text, update

from crm_core.pull.sync import SyncEngine
from crm_core.pushback import submit
from crm_core.pushback.conflicts import list_conflicts
from crm_core.pushback.deliver import push_back
from crm_core.pushback.failpoints import ENV as FAILPOINTS
from crm_core.pushback.failpoints import EXIT_CODE
from crm_core.store.tables import outbox, runs
from schemas.settings import HubConfig
from tests import pushback_kit as kit
from tests.conftest import PG_ADMIN
from tests.test_cli import crm_hub

POISON = "+86 21 5555 0199"
#: digits of POISON the CHECK constraints below look for, however the ERP spells the phone
POISON_DIGITS = "55550199"


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


def _nul_in_outbox(store: Engine, change_id: str) -> None:
    """Give a queued change a phone with U+0000, as a submit that did not check for control
    characters stored it: the outbox row changed directly."""
    with store.begin() as conn:
        changes = conn.execute(
            select(outbox.c.changes).where(outbox.c.change_id == change_id)
        ).scalar_one()
        changes["phone"]["new"] = POISON.replace(" 0199", "\x00 0199")
        conn.execute(update(outbox).where(outbox.c.change_id == change_id).values(changes=changes))


def _digits(column: str) -> str:
    return f"translate({column}, ' -+()', '')"


@pytest.mark.parametrize("refused_by", ["store", "target", "value"])
def test_poison_change_becomes_a_dead_letter_alone_and_the_chunk_is_delivered_once(
    pg_world: tuple[Path, HubConfig, Engine, str], refused_by: str
) -> None:
    """One change that cannot be processed, whoever refuses it (the store recording its
    conflict, the target writing it, the hub's own check of a value stored without one),
    is a dead letter naming why; the 24 others in its chunk are written exactly once."""
    path, config, store, erp_url = pg_world
    customers = kit.legacy_customers(store)[:25]
    poison_golden, poison_key = customers[12]  # in the middle of the chunk
    changes = {
        golden: _phone_change(
            store, config, golden, POISON if golden == poison_golden else f"+86 21 6000 {i:04d}"
        )
        for i, (golden, _) in enumerate(customers)
    }
    poison = changes[poison_golden].change_id
    if refused_by == "store":
        # the back office changed that phone meanwhile: the conflict to record carries the
        # poison value, which a CHECK constraint of the store refuses
        kit.erp_exec(
            erp_url,
            'UPDATE "RCM" SET "CPHON" = :p, "CCHGD" = 20261122, "CCHGT" = 101500 '
            'WHERE rtrim("CCUST") = :k',
            p="021-6666-0202",
            k=poison_key.strip(),
        )
        with store.begin() as conn:
            conn.execute(
                text(
                    "ALTER TABLE hub_conflicts ADD CONSTRAINT refuse_poison "
                    f"CHECK ({_digits('crm_value')} NOT LIKE '%{POISON_DIGITS}%')"
                )
            )
    elif refused_by == "target":
        kit.erp_exec(
            erp_url,
            'ALTER TABLE "RCM" ADD CONSTRAINT refuse_poison '
            f"""CHECK ({_digits('"CPHON"')} NOT LIKE '%{POISON_DIGITS}%')""",
        )
    else:
        _nul_in_outbox(store, poison)
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
            expected = "control character" if refused_by == "value" else "refuse_poison"
            assert expected in view.last_error, view.last_error
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


# --- false conflicts, on the legacy ERP as a SQLite file and on PostgreSQL -----------------


@dataclass
class Legacy:
    """A world whose CRM phone changes go to the legacy ERP only, and that ERP's database."""

    path: Path
    config: HubConfig
    store: Engine
    erp_url: str

    def back_office_sets_phone(self, key: str, phone: str) -> None:
        """The back office edits a phone, stamping the record later than any hub write."""
        stamp = datetime.now(UTC) + timedelta(days=1)
        kit.erp_exec(
            self.erp_url,
            'UPDATE "RCM" SET "CPHON" = :p, "CCHGD" = :d, "CCHGT" = :t WHERE rtrim("CCUST") = :k',
            p=phone,
            d=int(stamp.strftime("%Y%m%d")),
            t=int(stamp.strftime("%H%M%S")),
            k=key.strip(),
        )

    def phone(self, key: str) -> str:
        found = kit.erp_value(
            self.erp_url, 'SELECT "CPHON" FROM "RCM" WHERE rtrim("CCUST") = :k', k=key.strip()
        )
        return str(found).strip()

    def pull(self) -> int:
        """Pull the legacy customers; how many of the hub's writes the pull read back."""
        [result] = SyncEngine(self.config, self.store).sync_source("legacy_erp", ["customers"])
        assert result.error is None, result.error
        return int(result.counts.checks.get("echoes", 0))

    def customer(self) -> tuple[str, str]:
        return kit.legacy_customers(self.store)[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.build(tmp_path_factory.mktemp("pushback-world"))


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Legacy]:
    if request.param == "postgresql":
        path, config, store, erp_url = request.getfixturevalue("pg_world")
        yield Legacy(path, config, store, erp_url)
        return
    path = kit.copy(request.getfixturevalue("template"), tmp_path / "world")
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "phone: {owner: crm, targets: [legacy_erp, modern_erp]",
        "phone: {owner: crm, targets: [legacy_erp]",
    )
    path.write_text(text, encoding="utf-8")
    config, store = kit.open_world(path)
    assert config.push_back.rule("customers", "phone").targets == ["legacy_erp"]  # type: ignore[union-attr]
    try:
        yield Legacy(path, config, store, f"sqlite:///{path.parent / 'legacy_erp.db'}")
    finally:
        store.dispose()


def test_false_conflict_after_pulling_a_back_office_phone_the_next_crm_change_is_delivered(
    legacy: Legacy,
) -> None:
    golden, key = legacy.customer()
    first = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0101")
    assert push_back(legacy.config, legacy.store).written == 1
    legacy.back_office_sets_phone(key, "021-6666-0202")
    legacy.pull()  # the hub reads the back office's phone
    third = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0303")

    result = push_back(legacy.config, legacy.store)
    assert result.conflicts == 0 and result.written == 1, result.errors
    assert list_conflicts(legacy.store, state=None) == []
    assert legacy.phone(key) == "+86 21 5555 0303"
    for change in (first, third):
        assert submit.get_change(legacy.store, change.change_id).state == "delivered"


def test_false_conflict_still_found_when_the_back_office_changed_what_the_hub_pulled(
    legacy: Legacy,
) -> None:
    """The other side of it: a back-office edit after that pull is a conflict, reported
    against the value the hub pulled."""
    golden, key = legacy.customer()
    _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0101")
    push_back(legacy.config, legacy.store)
    legacy.back_office_sets_phone(key, "021-6666-0202")
    legacy.pull()
    legacy.back_office_sets_phone(key, "021-7777-0303")  # not pulled yet
    third = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0404")

    assert push_back(legacy.config, legacy.store).conflicts == 1
    [conflict] = list_conflicts(legacy.store)
    assert conflict["pulled_value"] == "021-6666-0202"
    assert conflict["target_value"] == "021-7777-0303"
    assert legacy.phone(key) == "021-7777-0303"
    assert submit.get_change(legacy.store, third.change_id).state == "conflict"


def test_fault_crash_after_write_then_back_office_edit_is_delivered(legacy: Legacy) -> None:
    golden, key = legacy.customer()
    change = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0101")
    crashed = crm_hub("push", cwd=legacy.path.parent, env={FAILPOINTS: "pushback.after_write"})
    assert crashed.returncode == EXIT_CODE  # died after the write, before recording it
    assert legacy.phone(key) == "+86 21 5555 0101"
    assert submit.get_change(legacy.store, change.change_id).state == "pending"
    assert legacy.pull() == 1  # the pull reads the write back
    legacy.back_office_sets_phone(key, "021-6666-0202")  # and the back office edits it after

    rerun = crm_hub("push", "--json", cwd=legacy.path.parent)
    assert rerun.returncode == 0, rerun.stderr
    outcome = json.loads(rerun.stdout)
    assert outcome["conflicts"] == 0 and outcome["written"] == 0
    assert outcome["already_applied"] == 1 and outcome["delivered"] == 1
    view = submit.get_change(legacy.store, change.change_id)
    assert view.state == "delivered" and view.targets[0]["state"] == "done"
    assert list_conflicts(legacy.store, state=None) == []
    assert legacy.phone(key) == "021-6666-0202"  # the back office's later edit stands


def test_false_conflict_record_gone_from_the_target_ends_gone(legacy: Legacy) -> None:
    golden, key = legacy.customer()
    kit.erp_exec(legacy.erp_url, 'DELETE FROM "RCM" WHERE rtrim("CCUST") = :k', k=key.strip())
    change = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0101")
    later = _phone_change(legacy.store, legacy.config, golden, "+86 21 5555 0202")

    pushed = crm_hub("push", "--json", cwd=legacy.path.parent)
    assert pushed.returncode == 0, pushed.stderr
    outcome = json.loads(pushed.stdout)
    assert outcome["gone"] == 2 and outcome["conflicts"] == 0 and outcome["failed"] == 0
    for each in (change, later):  # a gone change holds nothing back
        view = submit.get_change(legacy.store, each.change_id)
        assert view.state == "gone"
        assert view.last_error == "the record no longer exists in legacy_erp"
        assert view.targets[0]["state"] == "gone"
    assert list_conflicts(legacy.store, state=None) == []
    assert push_back(legacy.config, legacy.store).changes == 0
