"""End to end on the demo's sample ERPs: prepare, sync, reconcile (with the probabilistic
model), checked against the generator's true customers; then runs that change no id.

Two sample legacy ERPs share customers: the demo's own, and a second one whose clerks
spelled half of the same customers their way (traditional characters, full-width digits,
national phone formats, missing e-mails and tax ids).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date
from pathlib import Path

import opencc
import polars as pl
import pytest

from crm_core.identity import pairwise_scores
from crm_core.pull.sync import SyncEngine
from crm_core.scheduling import jobs
from crm_core.store.db import open_store
from sample_erps import legacy_erp, scenario, universe
from schemas.settings import load_config
from tests.golden_kit import golden_ids

SEED, CUSTOMERS, AS_OF = 21, 300, date(2026, 11, 19)
SECOND = """
  finance_erp:
    kind: sql
    url: sqlite:///finance/legacy_erp.db
    mapping: mappings/legacy_erp.yaml
    streams:
      customers: {table: RCM, primary_key: [CCUST], cursor: [CCHGD, CCHGT]}
      orders: {table: ECH, primary_key: [HORD], cursor: [HCHGD, HCHGT]}
      invoices: {table: RAR, primary_key: [RINVN], cursor: [RCHGD, RCHGT]}
"""
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def spelled(
    c: universe.TrueCustomer, rng: random.Random, s2t: opencc.OpenCC
) -> universe.TrueCustomer:
    """How a second system's clerks typed a customer."""
    v = universe.variant(c, rng)
    if c.country == "CN":
        if rng.random() < 0.4:
            v = replace(v, name=s2t.convert(v.name))
        if rng.random() < 0.3:
            v = replace(v, street=v.street.translate(FULL_WIDTH))
    if rng.random() < 0.3:
        v = replace(v, email="")
    return v


def truth_of(source: str, keys: list[tuple[str, str]]) -> list[tuple[tuple[str, str], str]]:
    return [((source, key), true_id) for key, true_id in keys]


def sync_all(config_path: Path) -> None:
    config = load_config(config_path)
    store = open_store(config.store_url())
    try:
        engine = SyncEngine(config, store)
        for source in config.sources:
            assert all(r.status == "success" for r in engine.sync_source(source)), source
    finally:
        store.dispose()


def linked(config_path: Path) -> pl.DataFrame:
    store = open_store(load_config(config_path).store_url())
    try:
        ids = golden_ids(store)
    finally:
        store.dispose()
    return pl.DataFrame(
        [(s, k, g) for (s, k), g in ids.items()],
        schema=["source", "customer_id", "golden_id"],
        orient="row",
    )


@pytest.mark.slow
def test_sample_erps_reconcile_to_the_true_customers_with_stable_ids(tmp_path: Path) -> None:
    scenario.prepare(tmp_path, seed=SEED, customers=CUSTOMERS, as_of=AS_OF)
    legacy_truth: list[tuple[str, str]] = []
    shadow = scenario.erp_engine(tmp_path / "shadow")  # the same data again, for its truth
    (tmp_path / "shadow").mkdir()
    legacy_erp.create_schema(shadow)
    legacy_erp.generate(shadow, seed=SEED, as_of=AS_OF, customers=CUSTOMERS, truth=legacy_truth)
    shadow.dispose()

    rng, s2t = random.Random(SEED), opencc.OpenCC("s2t")
    people = universe.build(SEED, CUSTOMERS)
    shared = [spelled(c, rng, s2t) for c in people if rng.random() < 0.5]
    finance_truth: list[tuple[str, str]] = []
    (tmp_path / "finance").mkdir()
    finance = scenario.erp_engine(tmp_path / "finance")
    legacy_erp.create_schema(finance)
    legacy_erp.generate(
        finance,
        seed=SEED + 1,
        as_of=AS_OF,
        customers=len(shared),
        population=shared,
        truth=finance_truth,
    )
    finance.dispose()
    config = tmp_path / scenario.CONFIG_NAME
    config.write_text(config.read_text(encoding="utf-8") + SECOND, encoding="utf-8")
    truth = truth_of("legacy_erp", legacy_truth) + truth_of("finance_erp", finance_truth)

    sync_all(config)
    first = jobs.reconcile(config)
    assert (first["mode"], first["matching"], first["model_trained"]) == ("full", "model", True)
    assert first["records"] == len(truth)
    clusters = linked(config)
    scores = pairwise_scores(
        clusters, truth, key=("source", "customer_id"), cluster_column="golden_id"
    )
    assert scores.true_positives > 150, scores
    assert scores.f1 >= 0.98, scores
    assert first["golden_total"] == clusters["golden_id"].n_unique()

    second = jobs.reconcile(config)
    assert second["mode"] == "unchanged" and second["golden_updated"] == 0
    assert linked(config).equals(clusters)

    # a day of back-office changes (customer edits among them), pulled and reconciled
    # incrementally with the saved model: no existing customer changes its id
    scenario.change(tmp_path, seed=SEED, as_of=date(2026, 11, 20))
    sync_all(config)
    third = jobs.reconcile(config)
    assert third["mode"] == "incremental" and third["records_matched"] > 0
    assert not third["model_trained"] and third["golden_merged"] == 0
    after = linked(config).join(clusters, on=["source", "customer_id"], suffix="_before")
    assert after.filter(pl.col("golden_id") != pl.col("golden_id_before")).is_empty()
