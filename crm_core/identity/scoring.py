"""How good a clustering is against known truth: pairwise precision, recall and F1.

A pair of records counts as predicted when both are in one cluster and as true when
both belong to one true customer; counting goes by cluster sizes (no pair is listed),
so scoring a million records is cheap.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

import polars as pl


@dataclass(frozen=True)
class PairScores:
    """Pairwise scores of a clustering against the truth."""

    true_positives: int
    false_positives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, Any]:
        """The scores as a plain dict (for JSON)."""
        return asdict(self)


def pairwise_scores(
    clusters: pl.DataFrame,
    truth: Iterable[tuple[Hashable, str]] | pl.DataFrame,
    *,
    key: str | Sequence[str] = "customer_id",
    cluster_column: str = "cluster_id",
) -> PairScores:
    """Score ``clusters`` (a record key column or columns and ``cluster_id``) against
    ``truth``: (record key, true id) pairs, as ``legacy_erp.generate(..., truth=list)``
    makes them; with several key columns a record key is a tuple. Records missing from
    ``clusters`` count as clusters of their own; records missing from ``truth`` are left
    out.
    """
    keys = [key] if isinstance(key, str) else list(key)
    if isinstance(truth, pl.DataFrame):
        known = truth
    else:
        items = list(truth)
        columns: dict[str, list[Any]] = {k: [] for k in keys}
        true_ids: list[str] = []
        for record, true_id in items:
            # with several key columns a record key is a tuple of their values
            values = cast(tuple[Any, ...], record) if len(keys) > 1 else (record,)
            for k, v in zip(keys, values, strict=True):
                columns[k].append(None if v is None else str(v))
            true_ids.append(str(true_id))
        known = pl.DataFrame(
            {**columns, "true_id": true_ids}, schema_overrides=dict.fromkeys(keys, pl.String)
        )
    found = clusters.select(
        *[pl.col(k).cast(pl.String) for k in keys],
        pl.col(cluster_column).cast(pl.String).alias("_cluster"),
    )
    joined = known.select(*keys, pl.col("true_id").cast(pl.String)).join(found, on=keys, how="left")
    joined = joined.with_columns(
        pl.coalesce("_cluster", pl.concat_str(pl.lit("\x00missing:"), *keys)).alias("_cluster")
    )

    def pairs(*by: str) -> int:
        sizes = joined.group_by(*by).len().get_column("len")
        return int((sizes * (sizes - 1) // 2).sum())

    tp, predicted, actual = pairs("_cluster", "true_id"), pairs("_cluster"), pairs("true_id")
    precision = tp / predicted if predicted else 1.0
    recall = tp / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(tp, predicted - tp, actual - tp, precision, recall, f1)
