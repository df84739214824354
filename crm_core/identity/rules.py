"""Deterministic rules: pairs of records that agree on an identifier are the same customer.

Every rule of :class:`~crm_core.identity.config.MatchConfig` is a join of the prepared
records with themselves on the rule's features; pairs that disagree on one of the rule's
``unless_different`` features are left to the probabilistic model. A key value shared by
more than ``max_key_frequency`` records is not an identifier and links nobody.
"""

from __future__ import annotations

import polars as pl

from crm_core.identity.config import DeterministicRule

PAIR_SCHEMA = {"rid_l": pl.Int64, "rid_r": pl.Int64, "rule": pl.String}


def deterministic_pairs(
    features: pl.DataFrame,
    rules: list[DeterministicRule],
    *,
    max_key_frequency: int,
    new_from: int | None = None,
) -> pl.DataFrame:
    """Pairs ``rid_l < rid_r`` linked by a rule, with the first rule that links them.

    With ``new_from``, only pairs with at least one record ``rid >= new_from`` (the new
    records of an incremental run) are returned.
    """
    found = [
        _rule_pairs(features, rule, max_key_frequency, new_from)
        for rule in rules
        if all(features.get_column(f).null_count() < features.height for f in rule.equal)
    ]
    if not found:
        return pl.DataFrame(schema=PAIR_SCHEMA)
    return (
        pl.concat(found)
        .unique(["rid_l", "rid_r"], keep="first", maintain_order=True)
        .sort("rid_l", "rid_r")
    )


def _rule_pairs(
    features: pl.DataFrame, rule: DeterministicRule, cap: int, new_from: int | None
) -> pl.DataFrame:
    keys = list(rule.equal)
    vetoes = [v for v in rule.unless_different if v not in keys]
    side = (
        features.select("rid", *keys, *vetoes).drop_nulls(keys).filter(pl.len().over(keys) <= cap)
    )
    if new_from is not None:  # only groups that hold a new record matter
        side = side.filter((pl.col("rid") >= new_from).any().over(keys))
    lazy = side.lazy()
    pairs = lazy.join(lazy, on=keys, suffix="_r").filter(pl.col("rid") < pl.col("rid_r"))
    if new_from is not None:
        pairs = pairs.filter(pl.col("rid_r") >= new_from)
    for veto in vetoes:
        left, right = pl.col(veto), pl.col(f"{veto}_r")
        pairs = pairs.filter(~(left.is_not_null() & right.is_not_null() & (left != right)))
    # streamed: the self-join's rows (up to max_key_frequency squared per key) are
    # filtered as they come, never held all at once (gigabytes at a million records)
    return pairs.select(
        pl.col("rid").alias("rid_l"), pl.col("rid_r"), pl.lit(rule.name).alias("rule")
    ).collect(engine="streaming")
