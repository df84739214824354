"""Clusters: the connected components of the match graph, with ids kept across runs.

A full run names each cluster after its first record (``source:customer_id``). An
incremental run keeps every existing cluster's id: a new record joins the cluster it
matches, new records that match no existing record form new clusters, and when new
records bridge existing clusters these merge into the largest one (ties: the smallest
id), which keeps its id; the others are reported as merged into it.
"""

from __future__ import annotations

import polars as pl

MERGE_SCHEMA = {"merged_id": pl.String, "into_id": pl.String}


def record_key() -> pl.Expr:
    """``source:customer_id`` (just ``customer_id`` when the source is empty)."""
    return (
        pl.when(pl.col("source").fill_null("") == "")
        .then(pl.col("customer_id"))
        .otherwise(pl.concat_str("source", pl.lit(":"), "customer_id"))
    )


def components(nodes: pl.Series, edges: pl.DataFrame) -> pl.DataFrame:
    """``node`` -> ``component`` (the smallest node of its component), by Splink's
    connected components on DuckDB; ``edges`` has ``node_l`` and ``node_r``."""
    from splink import DuckDBAPI
    from splink.clustering import cluster_pairwise_predictions_at_threshold

    db = DuckDBAPI()
    result = cluster_pairwise_predictions_at_threshold(
        pl.DataFrame({"node": nodes.cast(pl.Int64)}).to_arrow(),
        edges.select(pl.col("node_l", "node_r").cast(pl.Int64)).to_arrow(),
        db,
        "node",
        "node_l",
        "node_r",
    )
    out = result.as_duckdbpyrelation().pl()
    db.duckdb_con.close()
    return out.select("node", pl.col("cluster_id").alias("component"))


def full_clusters(features: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """``rid`` -> ``cluster_id`` for a full run: each component is named after its
    first record (the smallest ``rid``)."""
    comp = components(features.get_column("rid"), edges.select(node_l="rid_l", node_r="rid_r"))
    names = features.select(pl.col("rid").alias("component"), record_key().alias("cluster_id"))
    return (
        features.select("rid")
        .join(comp.rename({"node": "rid"}), on="rid", how="left", maintain_order="left")
        .join(names, on="component", how="left", maintain_order="left")
        .select("rid", "cluster_id")
    )


def incremental_clusters(
    existing: pl.DataFrame, new: pl.DataFrame, edges: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``rid`` -> ``cluster_id`` for existing and new records, merges).

    ``existing`` has ``rid`` and ``cluster_id``; ``new`` has ``rid``, ``source`` and
    ``customer_id``; ``edges`` (``rid_l``, ``rid_r``) join new records to each other or
    to existing ones (never two existing records: those are not compared again).
    """
    sizes = existing.group_by("cluster_id").agg(size=pl.len()).sort("cluster_id")
    # existing clusters become nodes -1, -2, ...; new records keep their rid
    cluster_nodes = sizes.with_columns(node=-pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    to_node = existing.join(cluster_nodes, on="cluster_id").select("rid", "node")

    def node_of(col: str) -> pl.Expr:
        return pl.coalesce(
            pl.col(col).replace_strict(
                to_node["rid"], to_node["node"], default=None, return_dtype=pl.Int64
            ),
            pl.col(col),
        )

    graph = edges.select(node_l=node_of("rid_l"), node_r=node_of("rid_r")).filter(
        pl.col("node_l") != pl.col("node_r")
    )
    nodes = pl.concat([cluster_nodes["node"], new["rid"]])
    comp = components(nodes, graph)
    named = comp.join(cluster_nodes.select("node", "cluster_id", "size"), on="node", how="left")
    # per component: the surviving existing cluster (largest, then smallest id)
    survivors = (
        named.drop_nulls("cluster_id")
        .sort(["component", "size", "cluster_id"], descending=[False, True, False])
        .group_by("component", maintain_order=True)
        .agg(into_id=pl.col("cluster_id").first(), members=pl.col("cluster_id"))
    )
    merges = (
        survivors.explode("members")
        .filter(pl.col("members") != pl.col("into_id"))
        .select(merged_id="members", into_id="into_id")
    )
    first_new = (
        new.select("rid", record_key().alias("key"))
        .join(comp.rename({"node": "rid"}), on="rid")
        .sort("rid")
        .group_by("component", maintain_order=True)
        .agg(new_id=pl.col("key").first())
    )
    new_ids = (
        new.select("rid")
        .join(comp.rename({"node": "rid"}), on="rid", how="left", maintain_order="left")
        .join(survivors.select("component", "into_id"), on="component", how="left")
        .join(first_new, on="component", how="left")
        .select("rid", cluster_id=pl.coalesce("into_id", "new_id"))
    )
    remap = dict(zip(merges["merged_id"], merges["into_id"], strict=True))
    old_ids = existing.select(
        "rid", cluster_id=pl.col("cluster_id").replace(remap) if remap else pl.col("cluster_id")
    )
    return pl.concat([old_ids, new_ids]), merges.select(
        pl.col("merged_id", "into_id").cast(pl.String)
    )
