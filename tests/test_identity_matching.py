"""Probabilistic matching (Splink on DuckDB) and clusters, full and incremental, on
customers of the demo universe as several systems would spell them."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import opencc
import polars as pl
import pytest

from crm_core.identity import MatchConfig, pairwise_scores, resolve, resolve_new
from crm_core.identity.config import Training
from sample_erps import universe

CONFIG = MatchConfig(training=Training(max_pairs=1e5))  # small data: fewer random pairs
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_S2T = opencc.OpenCC("s2t")


def spelled(c: universe.TrueCustomer, rng: random.Random) -> universe.TrueCustomer:
    """A second system's spelling: the universe's variants, plus traditional characters,
    full-width digits, national phone formats, missing identifiers."""
    v = universe.variant(c, rng)
    if c.country == "CN":
        if rng.random() < 0.4:
            v = replace(v, name=_S2T.convert(v.name))
        if rng.random() < 0.3:
            v = replace(v, street=v.street.translate(FULL_WIDTH))
        if rng.random() < 0.5:
            v = replace(v, city=v.city.removesuffix("市"))
    if rng.random() < 0.5:
        code, *groups = c.phone.split(" ")
        v = replace(v, phone="0" + "-".join(groups) if code != "+1" else "".join(groups))
    if rng.random() < 0.3:
        v = replace(v, email="")
    return v


def population(
    seed: int, customers: int, *, source: str = "a", start: int = 0
) -> tuple[pl.DataFrame, list[tuple[tuple[str, str], str]]]:
    """Records of ``customers`` true customers (from the ``start``-th) in two systems:
    every customer in ``source``, about half again in ``source2``, some twice there."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    truth = []
    for c in universe.build(seed, start + customers)[start:]:
        copies = [(source, c.true_id, c)]
        for k in range(rng.choice([0, 0, 1, 1, 2])):
            copies.append((f"{source}2", f"{c.true_id}-{k}", spelled(c, rng)))
        for src, key, record in copies:
            row = {**vars(record), "source": src, "customer_id": key}
            rows.append({k: v for k, v in row.items() if k not in ("true_id", "currency")})
            truth.append(((src, key), c.true_id))
    return pl.DataFrame(rows), truth


@pytest.fixture(scope="module")
def first_run() -> tuple[Any, list[tuple[tuple[str, str], str]]]:
    records, truth = population(11, 300)
    return resolve(records, config=CONFIG), truth


@pytest.mark.slow
def test_full_run_finds_the_true_customers(first_run: Any) -> None:
    result, truth = first_run
    scores = pairwise_scores(result.clusters, truth, key=("source", "customer_id"))
    assert scores.f1 >= 0.97, scores
    assert result.clusters.height == len(truth)
    decided = set(result.pairs.get_column("decided_by"))
    assert {"rule:same_tax_id", "rule:same_phone"} <= decided
    linked = result.pairs.filter("is_match")
    assert linked.get_column("match_probability").drop_nulls().min() >= 0.5
    assert result.model["comparisons"], "the trained model comes back to be saved"


@pytest.mark.slow
def test_the_model_scores_pairs_without_shared_identifiers(first_run: Any) -> None:
    result, _ = first_run
    records = pl.DataFrame(
        [
            {
                "source": "x",
                "customer_id": "1",
                "name": "上海華盛機械製造有限公司",
                "street": "中山路１２号",
                "city": "上海",
                "postcode": "200123",
                "country": "CN",
            },
            {
                "source": "y",
                "customer_id": "2",
                "name": "华盛机械制造（有限公司）",
                "street": "中山路12号",
                "city": "上海市",
                "postcode": "200123",
                "country": "CN",
            },
            {
                "source": "y",
                "customer_id": "3",
                "name": "恒信化工有限公司",
                "street": "人民路7号",
                "city": "北京市",
                "postcode": "100321",
                "country": "CN",
            },
        ]
    )
    again = resolve(records, config=CONFIG, model=result.model)
    ids = dict(zip(again.clusters["customer_id"], again.clusters["cluster_id"], strict=True))
    assert ids["1"] == ids["2"] != ids["3"]


@pytest.mark.slow
def test_incremental_run_keeps_existing_clusters(first_run: Any) -> None:
    result, truth = first_run
    old_ids = dict(
        zip(
            zip(result.clusters["source"], result.clusters["customer_id"], strict=True),
            result.clusters["cluster_id"],
            strict=True,
        )
    )
    # new spellings of known customers, and customers never seen before
    rng = random.Random(5)
    known = universe.build(11, 300)[:40]
    again = pl.DataFrame(
        [
            {
                **{
                    k: v
                    for k, v in vars(spelled(c, rng)).items()
                    if k not in ("true_id", "currency")
                },
                "source": "crm",
                "customer_id": f"K{i}",
            }
            for i, c in enumerate(known)
        ]
    )
    fresh, fresh_truth = population(11, 30, source="shop", start=300)
    batch = pl.concat([again, fresh], how="diagonal_relaxed")
    later = resolve_new(batch, result.features, config=CONFIG, model=result.model)

    clusters = later.clusters
    kept = clusters.filter(~pl.col("source").is_in(["crm", "shop", "shop2"]))
    assert all(
        old_ids[(s, k)] == c
        for s, k, c in kept.select("source", "customer_id", "cluster_id").rows()
    ), "existing records keep their cluster ids"
    assert later.merges.is_empty()
    true_cluster = {t: old_ids[key] for key, t in truth}
    for i, c in enumerate(known):  # a known customer joins its existing cluster
        row = clusters.filter((pl.col("source") == "crm") & (pl.col("customer_id") == f"K{i}"))
        assert row["cluster_id"][0] == true_cluster[c.true_id]
    new_ids = set(clusters.filter(pl.col("source").str.starts_with("shop"))["cluster_id"])
    assert not new_ids & set(old_ids.values()), "new customers get new clusters"
    all_truth = truth + [(("crm", f"K{i}"), c.true_id) for i, c in enumerate(known)]
    scores = pairwise_scores(clusters, all_truth + fresh_truth, key=("source", "customer_id"))
    assert scores.f1 >= 0.97, scores
    # nothing among the existing records was compared again
    old_only = later.pairs.filter(
        ~pl.col("source_l").is_in(["crm", "shop", "shop2"])
        & ~pl.col("source_r").is_in(["crm", "shop", "shop2"])
    )
    assert old_only.is_empty() and not later.pairs.is_empty()


@pytest.mark.slow
def test_a_new_record_that_bridges_two_clusters_merges_them() -> None:
    existing = pl.DataFrame(
        [
            {
                "source": "erp",
                "customer_id": "1",
                "name": "Weber Automation GmbH",
                "tax_id": "DE111222333",
                "country": "DE",
                "cluster_id": "G1",
            },
            {
                "source": "erp",
                "customer_id": "2",
                "name": "Weber Automation",
                "phone": "+49 89 7654321",
                "country": "DE",
                "cluster_id": "G2",
            },
            {
                "source": "erp",
                "customer_id": "3",
                "name": "Weber Automation G.m.b.H.",
                "email": "info@weber.de",
                "country": "DE",
                "cluster_id": "G2",
            },
            {
                "source": "erp",
                "customer_id": "4",
                "name": "Fischer Textiles Ltd",
                "phone": "+44 20 79460018",
                "country": "GB",
                "cluster_id": "G3",
            },
        ]
    )
    new = pl.DataFrame(
        [
            {
                "source": "crm",
                "customer_id": "A",
                "name": "WEBER AUTOMATION",
                "tax_id": "111222333",
                "phone": "089 7654321",
                "country": "DE",
            },
            {
                "source": "crm",
                "customer_id": "B",
                "name": "Novák Logistics SA",
                "phone": "+33 1 23456780",
                "country": "FR",
            },
        ]
    )
    later = resolve_new(new, existing, config=CONFIG)
    ids = dict(zip(later.clusters["customer_id"], later.clusters["cluster_id"], strict=True))
    # G2 (two records) absorbs G1; the new record joins them; G3 is untouched
    assert later.merges.rows() == [("G1", "G2")]
    assert ids["1"] == ids["2"] == ids["3"] == ids["A"] == "G2"
    assert ids["4"] == "G3"
    assert ids["B"] == "crm:B"
