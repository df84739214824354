"""Push-back end to end on the sample ERPs: what the CRM side decides reaches the system
that owns it, once in effect, with back-office changes never overwritten silently."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

from crm_core.ledger import runs as ledger
from crm_core.ledger.metrics import prometheus_text
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK
from crm_core.pull.sync import SyncEngine
from crm_core.pushback import ChangeRejected, submit
from crm_core.pushback.conflicts import list_conflicts, resolve
from crm_core.pushback.deliver import push_back
from crm_core.pushback.failpoints import ENV as FAILPOINTS
from crm_core.pushback.failpoints import EXIT_CODE
from crm_core.scheduling import jobs
from crm_core.store.tables import RECORD_TABLES, outbox, runs
from schemas.errors import FatalSyncError
from schemas.settings import HubConfig
from tests import pushback_kit as kit
from tests.test_cli import crm_hub

CONCESSION = {
    "kind": "percent",
    "percent": "7.5",
    "reason": "交货延迟补偿 (late delivery)",
    "approver": "王建国",
    "valid_from": "2026-11-01",
    "valid_to": "2027-10-31",
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return kit.build(tmp_path_factory.mktemp("pushback-world"))


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Iterator[tuple[Path, HubConfig, Engine]]:
    path = kit.copy(template, tmp_path / "world")
    config, store = kit.open_world(path)
    yield path, config, store
    store.dispose()


def _pull(config: HubConfig, store: Engine, source: str = "legacy_erp") -> list[object]:
    return SyncEngine(config, store).sync_source(source)


def test_concession_recorded_in_crm_is_booked_by_finance_and_support_sees_it(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, legacy_key = kit.shared_customer(store)
    made = crm_hub(
        "change", "concession", golden, "--percent", "7.5", "--reason", CONCESSION["reason"],
        "--approver", "王建国", "--valid-from", "2026-11-01", "--valid-to", "2027-10-31",
        "--by", "sales.li", "--idempotency-key", "deal-4711", "--json",
        cwd=path.parent,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    change = json.loads(made.stdout)
    assert change["state"] == "pending" and change["who"] == "sales.li"
    ref = change["record_key"]
    assert kit.legacy_row(path, "RCN", "NREF = :r", r=ref) is None  # not written yet

    pushed = crm_hub("push", "--json", cwd=path.parent)
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["written"] == 1
    booked = kit.legacy_row(path, "RCN", "NREF = :r", r=ref)
    assert booked is not None
    assert booked["NCUST"].strip() == legacy_key.strip()
    assert (booked["NTYPE"], booked["NPCT"], booked["NSTAT"]) == ("P", 750, "A")
    assert booked["NAPPR"].strip() == "王建国" and booked["NTDT"] == 20271031

    _pull(config, store)  # the next pull brings it back, from finance's books
    table = RECORD_TABLES["concessions"]
    with store.connect() as conn:
        rows = conn.execute(select(table).where(table.c.concession_id == ref)).mappings().all()
    by_source = {r["source"]: r for r in rows}
    assert set(by_source) == {"crm", "legacy_erp"}
    pulled = by_source["legacy_erp"]
    assert pulled["approver"] == "王建国" and pulled["status"] == "approved"
    assert str(pulled["percent"]).startswith("7.5") and pulled["customer_id"] == legacy_key
    shown = submit.get_change(store, change["change_id"])
    assert shown.state == "delivered" and shown.targets[0]["echoed_at"] is not None

    # the same change submitted again (same key) is the same change; pushing again is a no-op
    again = crm_hub(
        "change", "concession", golden, "--percent", "7.5", "--reason", CONCESSION["reason"],
        "--approver", "王建国", "--valid-from", "2026-11-01", "--valid-to", "2027-10-31",
        "--idempotency-key", "deal-4711", "--json",
        cwd=path.parent,
    )  # fmt: skip
    assert json.loads(again.stdout)["change_id"] == change["change_id"]
    assert json.loads(crm_hub("push", "--json", cwd=path.parent).stdout)["changes"] == 0
    with kit.legacy(path).connect() as conn:
        from sqlalchemy import text

        assert (
            conn.execute(text("SELECT COUNT(*) FROM RCN WHERE NREF = :r"), {"r": ref}).scalar() == 1
        )


def test_exactly_once_when_push_back_crashes_between_write_and_outbox_update(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, legacy_key = kit.shared_customer(store)
    limit = submit.request_credit_limit(
        store, config, golden_id=golden, credit_limit="76543.21", who="sales.li"
    )
    concession = submit.record_concession(
        store, config, golden_id=golden, concession=CONCESSION, who="sales.li"
    )

    crashed = crm_hub("push", cwd=path.parent, env={FAILPOINTS: "pushback.after_write"})
    assert crashed.returncode == EXIT_CODE  # died right after its first write
    assert submit.get_change(store, limit.change_id).state == "pending"
    credit = kit.legacy_row(path, "RCR", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert credit is not None and credit["CRLIM"] == 7_654_321  # written...
    written_at = (credit["CCHGD"], credit["CCHGT"])

    rerun = crm_hub("push", "--json", cwd=path.parent)  # ...but not recorded: the rerun
    assert rerun.returncode == 0, rerun.stderr
    outcome = json.loads(rerun.stdout)
    assert outcome["already_applied"] == 1 and outcome["written"] == 1
    assert outcome["failed"] == 0 and outcome["conflicts"] == 0
    after = kit.legacy_row(path, "RCR", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert after is not None and (after["CCHGD"], after["CCHGT"]) == written_at  # not again
    for change in (limit, concession):
        assert submit.get_change(store, change.change_id).state == "delivered"
    assert crm_hub("push", "--json", cwd=path.parent).returncode == 0
    with kit.legacy(path).connect() as conn:
        n = conn.execute(
            text("SELECT COUNT(*) FROM RCN WHERE NREF = :r"), {"r": concession.record_key}
        ).scalar()
    assert n == 1


def test_conflict_when_crm_and_back_office_change_the_same_phone_in_one_cycle(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, legacy_key = kit.shared_customer(store)
    change = submit.change_fields(
        store, config, entity="customers", golden_id=golden,
        values={"phone": "+86 21 5555 0101"}, who="sales.li",
    )  # fmt: skip
    kit.legacy_exec(  # meanwhile, in the back office
        path,
        "UPDATE RCM SET CPHON = :p, CCHGD = 20261122, CCHGT = 101500 WHERE rtrim(CCUST) = :k",
        p="021-6666-0202",
        k=legacy_key.strip(),
    )
    result = push_back(config, store)
    assert result.conflicts == 1
    row = kit.legacy_row(path, "RCM", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert row is not None and row["CPHON"].strip() == "021-6666-0202"  # not overwritten
    [conflict] = list_conflicts(store)
    assert conflict["field"] == "phone" and conflict["target"] == "legacy_erp"
    assert conflict["crm_value"] == "+86 21 5555 0101"
    assert conflict["target_value"] == "021-6666-0202"
    assert conflict["pulled_value"] not in (None, "021-6666-0202")
    assert conflict["crm_at"] is not None and conflict["target_at"] is not None
    assert conflict["policy"] == "manual" and conflict["state"] == "open"
    assert submit.get_change(store, change.change_id).state == "conflict"

    listed = crm_hub("conflicts", "list", "--json", cwd=path.parent)
    assert [c["id"] for c in json.loads(listed.stdout)] == [conflict["id"]]
    scraped = prometheus_text(config, store)
    assert "crm_hub_conflicts_open 1.0" in scraped
    assert 'crm_hub_outbox_changes{state="conflict"} 1.0' in scraped
    # a later change of the same customer waits behind the open conflict (order is kept)
    later = submit.change_fields(
        store, config, entity="customers", golden_id=golden,
        values={"email": "later@example.com"}, who="sales.li",
    )  # fmt: skip
    assert push_back(config, store).waiting == 1
    resolve(store, conflict["id"], "crm", "ops.wang")
    push_back(config, store)
    row = kit.legacy_row(path, "RCM", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert row is not None and row["CPHON"].strip() == "+86 21 5555 0101"
    assert submit.get_change(store, change.change_id).state == "delivered"
    assert submit.get_change(store, later.change_id).state == "delivered"


def test_conflict_on_a_credit_limit_the_owner_changed_keeps_the_owners_value(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, legacy_key = kit.shared_customer(store)
    change = submit.request_credit_limit(
        store, config, golden_id=golden, credit_limit="88000.00", who="sales.li"
    )
    kit.legacy_exec(
        path,
        "UPDATE RCR SET CRLIM = 5000000, CCHGD = 20261122, CCHGT = 90000 WHERE rtrim(CCUST) = :k",
        k=legacy_key.strip(),
    )
    result = push_back(config, store)
    assert result.conflicts == 1 and result.delivered == 1  # settled by owner_wins
    row = kit.legacy_row(path, "RCR", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert row is not None and row["CRLIM"] == 5_000_000
    [conflict] = list_conflicts(store, state="resolved")
    assert (conflict["resolution"], conflict["resolved_by"]) == ("target", "policy:owner_wins")
    assert submit.get_change(store, change.change_id).targets[0]["state"] == "skipped"


def test_echo_of_the_hubs_own_write_is_recognised_and_starts_no_loop(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    _, config, store = world
    golden, _ = kit.shared_customer(store)
    first = submit.change_fields(
        store, config, entity="customers", golden_id=golden,
        values={"phone": "+86 21 5555 0111"}, who="sales.li",
    )  # fmt: skip
    assert push_back(config, store).written == 2  # legacy and modern ERP
    # before the pull reads it back, a second change is not taken for a conflict with the
    # hub's own first write
    second = submit.change_fields(
        store, config, entity="customers", golden_id=golden,
        values={"phone": "+86 21 5555 0122"}, who="sales.li",
    )  # fmt: skip
    result = push_back(config, store)
    assert result.conflicts == 0 and result.written == 2
    with store.connect() as conn:
        before = conn.execute(select(func.count()).select_from(outbox)).scalar()
    results = _pull(config, store) + _pull(config, store, "modern_erp")
    echoes = {
        f"{r.source}.{r.stream}": r.counts.checks.get("echoes", 0)  # type: ignore[attr-defined]
        for r in results
    }
    assert echoes["legacy_erp.customers"] == 1 and echoes["modern_erp.customers"] == 1
    for change in (first, second):
        view = submit.get_change(store, change.change_id)
        assert view.state == "delivered"
    assert all(t["echoed_at"] for t in submit.get_change(store, second.change_id).targets)
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == before
        ledger = conn.execute(
            select(runs.c.checks).where(runs.c.source == "legacy_erp", runs.c.stream == "customers")
            .order_by(runs.c.id.desc()).limit(1)
        ).scalar()  # fmt: skip
    assert ledger["echoes"] == 1
    again = push_back(config, store)
    assert again.changes == 0 and again.written == 0  # no loop of updates follows


def test_fields_the_crm_does_not_own_are_refused_not_queued(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, _ = kit.shared_customer(store)
    with pytest.raises(ChangeRejected, match=r"customers\.name is owned by legacy_erp"):
        submit.change_fields(
            store, config, entity="customers", golden_id=golden, values={"name": "X"}, who="a"
        )
    with pytest.raises(ChangeRejected, match=r"credit_limit.*not valid") as bad:
        submit.request_credit_limit(store, config, golden_id=golden, credit_limit="lots", who="a")
    assert bad.value.field == "credit_limit"
    refused = crm_hub("change", "customer", golden, "--set", "tax_id=123", cwd=path.parent)
    assert refused.returncode == 1 and "tax_id is owned by legacy_erp" in refused.stderr
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(outbox)).scalar() == 0


def test_unreachable_target_retries_then_dead_letters_then_retry_delivers(
    world: tuple[Path, HubConfig, Engine], tmp_path: Path
) -> None:
    path, config, store = world
    golden, legacy_key = kit.shared_customer(store)
    change = submit.request_credit_limit(
        store, config, golden_id=golden, credit_limit="99000", who="sales.li"
    )
    broken = config.model_copy(deep=True)
    broken.push_back.max_attempts, broken.push_back.backoff_seconds = 2, 0
    broken.sources["legacy_erp"].url = f"sqlite:///{tmp_path / 'no' / 'such' / 'erp.db'}"
    first = push_back(broken, store)
    assert first.retrying == 1 and submit.get_change(store, change.change_id).state == "pending"
    second = push_back(broken, store)
    assert second.failed == 1
    dead = crm_hub("outbox", "list", "--failed", "--json", cwd=path.parent)
    [letter] = json.loads(dead.stdout)
    assert letter["change_id"] == change.change_id and "unable to open" in letter["last_error"]
    assert crm_hub("outbox", "retry", change.change_id, cwd=path.parent).returncode == 0
    assert push_back(config, store).delivered == 1
    row = kit.legacy_row(path, "RCR", "rtrim(CCUST) = :k", k=legacy_key.strip())
    assert row is not None and row["CRLIM"] == 9_900_000


def test_each_target_gets_only_the_fields_routed_to_it(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    path, config, store = world
    golden, _ = kit.shared_customer(store)
    config.push_back.ownership["customers"].fields["email"].targets = ["legacy_erp"]
    change = submit.change_fields(
        store, config, entity="customers", golden_id=golden,
        values={"phone": "+86 21 5555 0133", "email": "only.legacy@example.com"}, who="a",
    )  # fmt: skip
    assert push_back(config, store).delivered == 1
    erp = create_engine(f"sqlite:///{path.parent / 'modern_erp.db'}")
    key = next(t["record_key"] for t in submit.get_change(store, change.change_id).targets
               if t["target"] == "modern_erp")  # fmt: skip
    with erp.connect() as conn:
        phone, email = conn.execute(
            text("SELECT phone, email FROM res_partner WHERE id = :k"), {"k": int(key)}
        ).one()
    erp.dispose()
    assert phone == "+86 21 5555 0133" and email != "only.legacy@example.com"


def test_outbox_commands_take_a_unique_prefix_and_list_wide_prints_whole_ids(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    """`outbox list` may cut an id to fit ("chg_d05ce…"): show, retry and cancel take what
    it printed, or any unique start of an id; an ambiguous one names the candidates."""
    path, config, store = world
    golden, _ = kit.shared_customer(store)
    ids = [
        submit.request_credit_limit(
            store, config, golden_id=golden, credit_limit=str(limit), who="sales.li"
        ).change_id
        for limit in (91000, 92000)
    ]
    here = path.parent
    narrow = {"COLUMNS": "60"}
    unique = next(n for n in range(5, 28) if ids[0][:n] != ids[1][:n])
    shown = crm_hub("outbox", "show", ids[0][:unique], "--json", cwd=here)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["change_id"] == ids[0]
    as_cut = crm_hub("outbox", "show", ids[1][: unique + 1] + "…", cwd=here)
    assert as_cut.returncode == 0 and ids[1] in as_cut.stdout
    both = crm_hub("outbox", "show", "chg_", cwd=here)
    assert both.returncode == 1 and "several change ids" in both.stderr
    assert ids[0] in both.stderr and ids[1] in both.stderr
    wildcard = crm_hub("outbox", "show", "chg%", cwd=here)  # LIKE's wildcards are literal
    assert wildcard.returncode == 1 and "no change 'chg%'" in wildcard.stderr
    cut = crm_hub("outbox", "list", cwd=here, env=narrow)
    assert not any(i in cut.stdout for i in ids)  # the narrow table cuts them...
    wide = crm_hub("outbox", "list", "--wide", cwd=here, env=narrow)
    assert all(i in wide.stdout for i in ids)  # ...--wide does not
    listed = json.loads(crm_hub("outbox", "list", "--json", cwd=here).stdout)
    assert sorted(c["change_id"] for c in listed) == sorted(ids)
    cancelled = crm_hub("outbox", "cancel", ids[1][:unique], cwd=here)
    assert cancelled.returncode == 0, cancelled.stderr
    assert submit.get_change(store, ids[1]).state == "cancelled"
    assert submit.get_change(store, ids[0]).state == "pending"


def test_a_dead_letter_fails_the_run_and_the_task_naming_change_target_and_error(
    world: tuple[Path, HubConfig, Engine], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger, the scheduler's task and the reason agree: the run is failed, and its
    error names the change, its target and why (not `... dead letters (run N): `)."""
    path, config, store = world
    golden, _ = kit.shared_customer(store)
    change = submit.request_credit_limit(
        store, config, golden_id=golden, credit_limit="98000", who="sales.li"
    )
    missing = tmp_path / "no" / "such" / "erp.db"
    text_ = path.read_text(encoding="utf-8")
    assert "url: sqlite:///legacy_erp.db" in text_
    assert "max_attempts: 5" in text_
    broken = text_.replace("url: sqlite:///legacy_erp.db", f"url: sqlite:///{missing}")
    path.write_text(broken.replace("max_attempts: 5", "max_attempts: 1"), encoding="utf-8")
    monkeypatch.setenv("CRM_HUB_DATABASE_URL", config.store_url())
    with pytest.raises(FatalSyncError) as failed:  # max_attempts 1: a dead letter at once
        jobs.push_back(path)
    message = str(failed.value)
    [run] = ledger.list_runs(store, HUB_SOURCE, PUSH_BACK, status=ledger.FAILED)
    assert f"(run {run['id']})" in message
    for part in (change.change_id, "legacy_erp", "unable to open", "1 change(s) became dead"):
        assert part in message and part in run["error"], (part, message, run["error"])
    assert run["checks"]["failed"] == 1


def test_push_back_runs_with_nothing_to_do_fold_into_one_row_an_hour(
    world: tuple[Path, HubConfig, Engine],
) -> None:
    _, config, store = world

    def rows() -> list[dict[str, object]]:
        return ledger.list_runs(store, HUB_SOURCE, PUSH_BACK)

    before = len(rows())
    ids = {push_back(config, store).run_id for _ in range(3)}
    assert len(rows()) == before + 1 and len(ids) == 1
    [noop] = rows()[:1]
    assert noop["id"] in ids and noop["checks"]["runs"] == 3 and noop["status"] == "success"
    assert noop["finished_at"] > noop["started_at"]
    golden, _ = kit.shared_customer(store)
    submit.request_credit_limit(store, config, golden_id=golden, credit_limit="97000", who="a")
    busy = push_back(config, store)
    assert busy.delivered == 1 and busy.run_id not in ids
    after = push_back(config, store)  # a no-op after a busy run starts a row of its own
    assert after.run_id not in ids | {busy.run_id}
    assert len(rows()) == before + 3
