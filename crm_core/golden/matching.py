"""The golden-record side's view of identity resolution (:mod:`crm_core.identity`).

Two calls: :func:`match_all` (every record against every other) and :func:`match_new`
(new or changed records against the existing clusters, which are not compared again).
Both return each record's cluster label, opaque here (golden ids are decided by
:mod:`crm_core.golden.ids`), and how it was linked. When the probabilistic model cannot be
estimated from the data (a handful of records), or is switched off, the deterministic
rules alone decide.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from crm_core.golden.ids import Record
from crm_core.identity import MatchConfig, resolve, resolve_new
from crm_core.identity.clusters import full_clusters, incremental_clusters
from crm_core.identity.features import clustered_features, prepare
from crm_core.identity.rules import deterministic_pairs

log = logging.getLogger("crm_hub.golden")


@dataclass
class Matched:
    """What matching decided for the records it was given."""

    #: record -> cluster label, for every record given (existing ones included)
    clusters: dict[Record, str]
    #: record -> how it was linked to another (``rule:<name>`` or ``model``); records
    #: linked to none are absent
    linked_by: dict[Record, str] = field(default_factory=dict)
    #: the model to keep for later runs when this run trained one
    trained: dict[str, Any] | None = None
    #: ``model``, or ``rules`` when only the deterministic rules decided
    method: str = "model"
    seconds: dict[str, float] = field(default_factory=dict)
    #: the match features of every record (``source``, ``customer_id``, ...), to keep
    features: pl.DataFrame | None = None


def match_all(
    records: pl.DataFrame,
    config: MatchConfig,
    *,
    probabilistic: bool = True,
    model: dict[str, Any] | None = None,
) -> Matched:
    """Cluster ``records`` (the store's customer columns) among themselves."""
    if records.is_empty():
        return Matched(clusters={}, method="rules")
    if probabilistic:
        try:
            result = resolve(records, config=config, model=model)
        except _untrainable() as exc:
            log.warning(
                "no probabilistic model from %s records (%s): rules only", records.height, exc
            )
        else:
            return _from_resolution(result, None if model is not None else result.model)
    features = prepare(records, default_country=config.default_country)
    pairs = _rule_pairs(features, config)
    clusters = full_clusters(features, pairs.select("rid_l", "rid_r"))
    return _from_rules(features, clusters, pairs)


def match_new(
    new: pl.DataFrame,
    existing: pl.DataFrame,
    config: MatchConfig,
    *,
    probabilistic: bool = True,
    model: dict[str, Any] | None = None,
) -> Matched:
    """Cluster ``new`` records with each other and with ``existing`` ones (which carry
    their ``cluster_id``), keeping the existing clusters as they are unless new records
    join them. ``existing`` may be store records or their match features (cheaper)."""
    if existing.is_empty():
        return match_all(new, config, probabilistic=probabilistic, model=model)
    if probabilistic:
        try:
            result = resolve_new(new, existing, config=config, model=model)
        except _untrainable() as exc:
            log.warning("no probabilistic model (%s): rules only", exc)
        else:
            return _from_resolution(result, None if model is not None else result.model)
    old = clustered_features(
        existing, prepared="name_key" in existing.columns, default_country=config.default_country
    )
    fresh = prepare(new, first_rid=old.height, default_country=config.default_country)
    everything = pl.concat([old.drop("cluster_id"), fresh])
    pairs = _rule_pairs(everything, config, new_from=old.height)
    clusters, _merges = incremental_clusters(old.select("rid", "cluster_id"), fresh, pairs)
    return _from_rules(everything, clusters, pairs)


def _untrainable() -> tuple[type[BaseException], ...]:
    """The errors of a model that cannot be estimated from the data (imported late:
    Splink is slow to import and a run without the model never needs it)."""
    from splink.internals.exceptions import SplinkException

    return (ValueError, ArithmeticError, SplinkException)


def _rule_pairs(
    features: pl.DataFrame, config: MatchConfig, new_from: int | None = None
) -> pl.DataFrame:
    return deterministic_pairs(
        features,
        config.deterministic,
        max_key_frequency=config.max_key_frequency,
        new_from=new_from,
    )


def _from_rules(features: pl.DataFrame, clusters: pl.DataFrame, pairs: pl.DataFrame) -> Matched:
    ids = features.select("rid", "source", "customer_id")
    labelled = ids.join(clusters, on="rid", how="left")
    linked = pl.concat(
        [
            pairs.select(rid="rid_l", how=pl.concat_str(pl.lit("rule:"), "rule")),
            pairs.select(rid="rid_r", how=pl.concat_str(pl.lit("rule:"), "rule")),
        ]
    ).join(ids, on="rid")
    return Matched(
        features=features,
        clusters=_records(labelled, "cluster_id"),
        linked_by=_records(
            linked.unique(["source", "customer_id"], keep="first", maintain_order=True), "how"
        ),
        method="rules",
    )


def _from_resolution(result: Any, trained: dict[str, Any] | None) -> Matched:
    linked = result.pairs.filter("is_match")
    sides = pl.concat(
        [
            linked.select(source="source_l", customer_id="customer_id_l", how="decided_by"),
            linked.select(source="source_r", customer_id="customer_id_r", how="decided_by"),
        ]
    )
    # a rule beats the model as the explanation of a link
    best = sides.sort(pl.col("how") == "model", maintain_order=True).unique(
        ["source", "customer_id"], keep="first", maintain_order=True
    )
    return Matched(
        features=result.features,
        clusters=_records(result.clusters, "cluster_id"),
        linked_by=_records(best, "how"),
        trained=trained,
        method="model",
        seconds=dict(result.seconds),
    )


def _records(frame: pl.DataFrame, column: str) -> dict[Record, str]:
    return {
        (s or "", k): str(v)
        for s, k, v in frame.select("source", "customer_id", column).iter_rows()
    }
