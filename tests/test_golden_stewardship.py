"""Stewards' merge, unmerge and pin: immediate, recorded with who and when, undoable, and
respected by later automatic runs; the same from the command line."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from crm_core.golden import list_actions, merge, pin, reconcile, undo, unmerge, unpin
from crm_core.store.db import open_store
from schemas.errors import HubError
from schemas.reconcile import ReconcileConfig
from tests.golden_kit import T0, customer, golden, golden_ids, load
from tests.test_cli import crm_hub

SETTINGS = ReconcileConfig(probabilistic=False)
RULES = SETTINGS.survivorship
TAX = "91310000MA1FL0001X"


@pytest.fixture
def store(sqlite_url: str) -> Engine:
    engine = open_store(sqlite_url)
    load(
        engine,
        "erp",
        "customers",
        [
            customer("C1", "Acme Trading Ltd", tax_id=TAX),
            customer("C2", "Acme Trading", tax_id=TAX, email="ar@acme.cn"),
            customer("C3", "Beta GmbH", email="info@beta.de"),
        ],
    )
    reconcile(engine, SETTINGS)
    yield engine
    engine.dispose()


def test_merge_then_undo(store: Engine) -> None:
    ids = golden_ids(store)
    acme, beta = ids[("erp", "C1")], ids[("erp", "C3")]
    action = merge(store, acme, "erp:C3", RULES, by="ada", note="same company, renamed")
    assert (action["who"], action["args"]["merged"], action["args"]["into"]) == ("ada", beta, acme)
    assert golden_ids(store)[("erp", "C3")] == acme
    assert golden(store, beta)["merged_into"] == acme
    assert golden(store, acme)["email"] in ("ar@acme.cn", "info@beta.de")
    with pytest.raises(HubError, match="same golden customer"):
        merge(store, acme, beta, RULES)  # beta leads to acme now

    # a later automatic run keeps them merged, even after a full re-match
    load(
        store,
        "erp",
        "customers",
        [customer("C3", "Beta GmbH", email="x@beta.de", updated_at=T0 + timedelta(1))],
    )
    reconcile(store, SETTINGS)
    reconcile(store, SETTINGS, full=True)
    assert golden_ids(store)[("erp", "C3")] == acme

    undone = undo(store, action["id"], RULES, by="bob")
    assert undone["undone_by"] == "bob" and undone["undone_at"] is not None
    assert golden_ids(store) == ids
    assert golden(store, beta)["merged_into"] is None
    assert golden(store, acme)["email"] == "ar@acme.cn"
    with pytest.raises(HubError, match="already undone by bob"):
        undo(store, action["id"], RULES)


def test_an_unmerged_record_is_never_merged_back_automatically(store: Engine) -> None:
    acme = golden_ids(store)[("erp", "C1")]
    action = unmerge(store, acme, "erp:customers:C2", RULES, by="ada")
    alone = action["args"]["new_golden"]
    assert golden_ids(store)[("erp", "C2")] == alone != acme
    assert golden(store, alone)["email"] == "ar@acme.cn" and golden(store, acme)["email"] is None
    with pytest.raises(HubError, match="only record"):
        unmerge(store, alone, "erp:C2", RULES)
    with pytest.raises(HubError, match="not a record of"):
        unmerge(store, acme, "erp:C3", RULES)
    with pytest.raises(HubError, match="no linked source record erp:C9"):
        unmerge(store, acme, "erp:C9", RULES)

    # C2 changes (so it is matched again) and a new record matches both: C2 stays apart
    load(
        store,
        "erp",
        "customers",
        [
            customer(
                "C2", "Acme Trading", tax_id=TAX, email="ar2@acme.cn", updated_at=T0 + timedelta(1)
            )
        ],
    )
    load(store, "crm", "customers", [customer("K1", "Acme", tax_id=TAX, email="ar2@acme.cn")])
    reconcile(store, SETTINGS)
    reconcile(store, SETTINGS, full=True)
    ids = golden_ids(store)
    assert ids[("erp", "C2")] == alone and ids[("erp", "C1")] == ids[("crm", "K1")] == acme

    undo(store, action["id"], RULES)
    assert golden_ids(store)[("erp", "C2")] == acme
    assert golden(store, alone)["merged_into"] == acme


def test_a_pin_wins_until_unpinned_and_every_step_is_on_record(store: Engine) -> None:
    beta = golden_ids(store)[("erp", "C3")]
    pinned = pin(store, beta, "name", "Beta Group GmbH", RULES, by="ada")
    assert golden(store, beta)["name"] == "Beta Group GmbH"
    load(
        store,
        "erp",
        "customers",
        [customer("C3", "Beta AG", email="info@beta.de", updated_at=T0 + timedelta(2))],
    )
    reconcile(store, SETTINGS)
    reconcile(store, SETTINGS, full=True)
    assert golden(store, beta)["name"] == "Beta Group GmbH"

    unpinned = unpin(store, beta, "name", RULES, by="bob")
    assert golden(store, beta)["name"] == "Beta AG"
    with pytest.raises(HubError, match="not pinned"):
        unpin(store, beta, "name", RULES)
    with pytest.raises(HubError, match="no golden field 'nmae'"):
        pin(store, beta, "nmae", "x", RULES)
    undo(store, unpinned["id"], RULES)  # the pin is back
    assert golden(store, beta)["name"] == "Beta Group GmbH"
    undo(store, pinned["id"], RULES)
    assert golden(store, beta)["name"] == "Beta AG"

    actions = list_actions(store, beta)
    assert [(a["action"], a["who"]) for a in actions] == [("unpin", "bob"), ("pin", "ada")]
    assert all(a["undone_at"] is not None for a in actions)


@pytest.mark.slow
def test_stewardship_from_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "crm-hub.yaml").write_text(
        "store: {url: sqlite:///store.db}\nreconcile: {probabilistic: false}\n", encoding="utf-8"
    )
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    load(
        store, "erp", "customers", [customer("C1", "Acme Ltd", tax_id=TAX), customer("C2", "Beta")]
    )
    store.dispose()
    done = crm_hub("reconcile", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2 of 2 customer records matched (rules)" in done.stdout
    assert "2 created" in done.stdout

    merged = crm_hub("merge", "erp:C1", "erp:C2", "--by", "ada", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert "merged G00000002 into G00000001 (1 record(s) moved; action 1 by ada" in merged.stdout
    shown = crm_hub("golden", "show", "G00000002", cwd=tmp_path)
    assert "asked for G00000002, merged into it" in shown.stdout
    assert "Acme Ltd" in shown.stdout and "erp:customers:C2" in shown.stdout
    undone = crm_hub("stewardship", "undo", "1", "--by", "bob", cwd=tmp_path)
    assert "undid action 1 (merge G00000002 into G00000001)" in undone.stdout
