"""Identity resolution end to end: normalise, link by deterministic rules, score the rest
with the Splink model, cluster. A full run (:func:`resolve`) or an incremental one
(:func:`resolve_new`) that matches new records against existing clusters without
comparing existing records again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from crm_core.identity import probabilistic, splink_model
from crm_core.identity.clusters import full_clusters, incremental_clusters
from crm_core.identity.config import MatchConfig
from crm_core.identity.features import FEATURES, clustered_features, prepare
from crm_core.identity.rules import deterministic_pairs

#: Features never compared by the model (they identify the record or are too coarse).
NOT_COMPARED = frozenset({"source", "customer_id", "kind", "country"})
PAIR_COLUMNS = (
    "source_l",
    "customer_id_l",
    "source_r",
    "customer_id_r",
    "decided_by",
    "is_match",
    "match_probability",
    "match_weight",
)


@dataclass
class Resolution:
    """What a matching run decided.

    ``pairs``: one row per pair of records linked by a rule or scored by the model at or
    above the review threshold: ``source_l, customer_id_l, source_r, customer_id_r``,
    ``decided_by`` (``rule:<name>`` or ``model``), ``is_match``, ``match_probability``
    and ``match_weight`` (the model's score, also for pairs a rule decided, when the
    model compared them). ``clusters``: ``source, customer_id, cluster_id`` for every
    record. ``merges``: existing clusters merged into another (``merged_id, into_id``).
    ``model``: the Splink model (JSON-able): pass it back to skip training next time
    (None: too few records to learn one from; the rules decided alone).
    ``features``: the normalised records with their ``cluster_id``: pass them as
    ``existing`` to :func:`resolve_new`.
    """

    pairs: pl.DataFrame
    clusters: pl.DataFrame
    merges: pl.DataFrame
    model: dict[str, Any] | None
    features: pl.DataFrame
    seconds: dict[str, float] = field(default_factory=dict)


def resolve(
    records: pl.DataFrame,
    *,
    config: MatchConfig | None = None,
    model: dict[str, Any] | None = None,
) -> Resolution:
    """Match all ``records`` with each other (within and across sources) and cluster them.

    ``records`` has the store's ``customers`` columns (see
    :mod:`crm_core.identity.features`); ``source`` + ``customer_id`` identify a record.
    The model is trained on ``records`` unless ``model`` is given.
    """
    config = config or MatchConfig()
    clock = _Clock()
    features = prepare(records, default_country=config.default_country)
    clock.lap("normalise")
    present = _present(features)
    keyed, keys = _with_keys(features, config, present)
    rule_pairs = deterministic_pairs(
        features, config.deterministic, max_key_frequency=config.max_key_frequency
    )
    clock.lap("rules")
    blocks = _blocking_columns(config, keys)
    scores, model = probabilistic.score_all(
        _model_table(keyed, keys), config, present, keys, blocks, model
    )
    clock.lap("model")
    pairs = _decide(rule_pairs, scores, config.threshold)
    clusters = full_clusters(features, pairs.filter("is_match"))
    clock.lap("cluster")
    return _result(features, clusters, pairs, _no_merges(), model, clock)


def resolve_new(
    new: pl.DataFrame,
    existing: pl.DataFrame,
    *,
    config: MatchConfig | None = None,
    model: dict[str, Any] | None = None,
) -> Resolution:
    """Match ``new`` records against ``existing`` ones (and each other) and keep every
    existing ``cluster_id``.

    ``existing`` holds records with a ``cluster_id`` column: the ``features`` of an
    earlier :class:`Resolution` (cheapest), or raw records as for :func:`resolve`.
    Existing pairs are not compared again. Without ``model`` one is trained first on
    all records (give the one an earlier run returned to skip that).
    """
    config = config or MatchConfig()
    if "cluster_id" not in existing.columns:
        raise ValueError("existing records need a cluster_id column")
    clock = _Clock()
    old = clustered_features(
        existing,
        prepared={"name_key", "name_latin"} <= set(existing.columns),
        default_country=config.default_country,
    )
    new_features = prepare(new, first_rid=old.height, default_country=config.default_country)
    clock.lap("normalise")
    everything = pl.concat([old.drop("cluster_id"), new_features])
    present = _present(everything)
    keyed, keys = _with_keys(everything, config, present)
    rule_pairs = deterministic_pairs(
        everything,
        config.deterministic,
        max_key_frequency=config.max_key_frequency,
        new_from=old.height,
    )
    clock.lap("rules")
    blocks = _blocking_columns(config, keys)
    table = _model_table(keyed, keys)
    if model is None:
        model = probabilistic.train_model(table, config, present, keys, blocks)
    scores = probabilistic.score_new(
        table.filter(pl.col("rid") < old.height),
        table.filter(pl.col("rid") >= old.height),
        config,
        blocks,
        model,
    )
    clock.lap("model")
    pairs = _decide(rule_pairs, scores, config.threshold)
    clusters, merges = incremental_clusters(
        old.select("rid", "cluster_id"), new_features, pairs.filter("is_match")
    )
    clock.lap("cluster")
    return _result(everything, clusters, pairs, merges, model, clock)


def key_columns(config: MatchConfig, present: set[str]) -> dict[tuple[str, ...], str]:
    """A column name for each blocking and EM rule whose features all have data."""
    training = config.training
    rules = [tuple(r) for r in [*config.blocking, *training.em_blocking, *training.em_fallback]]
    out: dict[tuple[str, ...], str] = {}
    for rule in rules:
        if rule not in out and set(rule) <= present:
            out[rule] = f"key_{len(out)}"
    return out


def _present(features: pl.DataFrame) -> set[str]:
    return {
        f
        for f in FEATURES
        if f not in NOT_COMPARED and features.get_column(f).null_count() < features.height
    }


def _with_keys(
    features: pl.DataFrame, config: MatchConfig, present: set[str]
) -> tuple[pl.DataFrame, dict[tuple[str, ...], str]]:
    """Each rule's key (a number per distinct combination of its features), empty where
    a feature is, or where more than ``max_key_frequency`` records share it. Numbers,
    not the features joined as text: fifteen such columns of a million records cost
    hundreds of megabytes as text, and DuckDB compares numbers faster."""
    keys = key_columns(config, present)
    exprs = []
    for rule, name in keys.items():
        key = pl.concat_str([pl.col(f) for f in rule], separator="\x1f").rank("dense")
        exprs.append(pl.when(pl.len().over(key) <= config.max_key_frequency).then(key).alias(name))
    return features.with_columns(exprs), keys


def _blocking_columns(config: MatchConfig, keys: dict[tuple[str, ...], str]) -> list[str]:
    return [keys[tuple(r)] for r in config.blocking if tuple(r) in keys]


def _model_table(keyed: pl.DataFrame, keys: dict[tuple[str, ...], str]) -> pl.DataFrame:
    # every feature, also those without data: a saved model may compare them
    compared = [f for f in FEATURES if f not in ("kind", "country")]
    # the e-mail's user part, once per record instead of a regex per scored pair (a
    # model saved before this column existed extracts it itself and still works)
    user = pl.col("email").str.extract(r"^([^@]+)", 1).alias(splink_model.EMAIL_USER)
    return keyed.select("rid", *compared, user, *keys.values())


def _decide(rule_pairs: pl.DataFrame, scores: pl.DataFrame, threshold: float) -> pl.DataFrame:
    scores = scores.unique(["rid_l", "rid_r"], keep="first")
    pairs = rule_pairs.join(scores, on=["rid_l", "rid_r"], how="full", coalesce=True)
    return pairs.with_columns(
        decided_by=pl.when(pl.col("rule").is_not_null())
        .then(pl.concat_str(pl.lit("rule:"), "rule"))
        .otherwise(pl.lit("model")),
        is_match=pl.col("rule").is_not_null()
        | (pl.col("match_probability") >= threshold).fill_null(False),
    ).drop("rule")


def _result(
    features: pl.DataFrame,
    clusters: pl.DataFrame,
    pairs: pl.DataFrame,
    merges: pl.DataFrame,
    model: dict[str, Any] | None,
    clock: _Clock,
) -> Resolution:
    ids = features.select("rid", "source", "customer_id")
    named = (
        pairs.join(ids, left_on="rid_l", right_on="rid")
        .join(ids, left_on="rid_r", right_on="rid", suffix="_r")
        .rename({"source": "source_l", "customer_id": "customer_id_l"})
        .sort("rid_l", "rid_r")
        .select(PAIR_COLUMNS)
    )
    with_cluster = features.join(clusters, on="rid", how="left", maintain_order="left")
    clock.lap("output")
    return Resolution(
        pairs=named,
        clusters=with_cluster.select("source", "customer_id", "cluster_id"),
        merges=merges,
        model=model,
        features=with_cluster,
        seconds=clock.laps,
    )


def _no_merges() -> pl.DataFrame:
    return pl.DataFrame(schema={"merged_id": pl.String, "into_id": pl.String})


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now
