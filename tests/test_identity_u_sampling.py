"""The prior and the u probabilities estimated in one query each
(crm_core.identity.u_sampling) are Splink's own: same pairs, same counts, same model,
same decisions."""

from __future__ import annotations

import random
from typing import Any

import polars as pl
import pytest

from crm_core.identity import MatchConfig, resolve, splink_model
from crm_core.identity.config import Training
from sample_erps import universe

CONFIG = MatchConfig(training=Training(max_pairs=3e4))


def records(seed: int, customers: int) -> pl.DataFrame:
    """Every customer once in ``erp``, about half of them again in ``crm`` as spelled there."""
    rng = random.Random(seed)
    rows = []
    for c in universe.build(seed, customers):
        copies = [("erp", c.true_id, c)]
        if rng.random() < 0.5:
            copies.append(("crm", f"{c.true_id}-c", universe.variant(c, rng)))
        for source, key, record in copies:
            row = {**vars(record), "source": source, "customer_id": key}
            rows.append({k: v for k, v in row.items() if k not in ("true_id", "currency")})
    return pl.DataFrame(rows)


def u_values(model: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        c["output_column_name"]: [lv.get("u_probability") for lv in c["comparison_levels"]]
        for c in model["comparisons"]
    }


@pytest.fixture(scope="module")
def both() -> tuple[Any, Any, list[bool]]:
    data = records(5, 400)
    used: list[bool] = []
    own = splink_model._with_sampled_u

    def spy(*args: Any) -> Any:
        linker = own(*args)
        used.append(linker is not None)
        return linker

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(splink_model, "_with_sampled_u", spy)
        ours = resolve(data, config=CONFIG)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(splink_model, "_with_sampled_u", lambda *args: None)
        splinks = resolve(data, config=CONFIG)
    return ours, splinks, used


def test_u_sampling_and_prior_in_one_query_give_splinks_own_estimates(both: Any) -> None:
    ours, splinks, used = both
    assert used == [True]  # the one-query estimate ran and was kept
    assert u_values(ours.model) == u_values(splinks.model)
    prior = "probability_two_random_records_match"
    assert ours.model[prior] == splinks.model[prior]
    # a level no sampled pair reached is left out of the saved model, as Splink does
    assert any(
        "u_probability" not in lv
        for c in ours.model["comparisons"]
        for lv in c["comparison_levels"]
        if not lv.get("is_null_level")
    )


def test_u_sampling_in_one_query_decides_as_splink_does(both: Any) -> None:
    ours, splinks, _ = both
    # the same decisions; weights equal but for the last bits of EM's sums, whose
    # order DuckDB's threads may change from run to run
    decided = ["source_l", "customer_id_l", "source_r", "customer_id_r", "decided_by"]
    assert ours.pairs.select(*decided, "is_match").equals(
        splinks.pairs.select(*decided, "is_match")
    )
    assert ours.pairs.get_column("match_weight").to_list() == pytest.approx(
        splinks.pairs.get_column("match_weight").to_list(), abs=1e-9, nan_ok=True
    )
    assert ours.clusters.equals(splinks.clusters)
