"""The match features of customer records, kept in the store between reconcile runs.

Normalising a record (pinyin, company forms, addresses, phone numbers) costs far more than
reading it back, and an incremental run compares new records with every existing one: so
each record's features are stored with the ``loaded_at`` of the version they describe and
reused until the record changes. ``VERSION`` changes with the feature set (and the hub's
version); stale rows are simply normalised again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import polars as pl
from sqlalchemy import Connection, bindparam, select

import crm_core
from crm_core.golden.ids import Record
from crm_core.identity.features import FEATURES, prepare
from crm_core.store.tables import golden_match_features

KEYS = ("source", "customer_id")
STORED = tuple(f for f in FEATURES if f not in KEYS)
VERSION = hashlib.sha256(f"{crm_core.__version__}:{','.join(FEATURES)}".encode()).hexdigest()[:16]


def existing_features(conn: Connection, existing: pl.DataFrame) -> tuple[pl.DataFrame, set[Record]]:
    """``existing`` records (store columns with ``loaded_at`` and ``cluster_id``) as match
    features with their ``cluster_id``: from the store where it holds the features of the
    same record version, normalised now where not. Also returns the records normalised now
    (their features should be saved)."""
    cached = read(conn)
    hit = (
        existing.select(*KEYS, "loaded_at", "cluster_id")
        .join(cached, on=list(KEYS), how="inner")
        .filter(pl.col("loaded_at") == pl.col("record_loaded_at"))
    )
    miss = existing.join(hit.select(KEYS), on=list(KEYS), how="anti")
    frame = hit.select(*FEATURES, "cluster_id")
    if miss.height:  # (prepare needs at least one record)
        fresh = prepare(miss).drop("rid").with_columns(miss.get_column("cluster_id"))
        frame = pl.concat([frame, fresh.select(*FEATURES, "cluster_id")])
    return frame, set(zip(miss["source"], miss["customer_id"], strict=True))


def read(conn: Connection) -> pl.DataFrame:
    """The stored features of the current ``VERSION``: ``source``, ``customer_id``,
    ``record_loaded_at`` and one column per feature."""
    t = golden_match_features
    stmt = select(t.c.source, t.c.customer_id, t.c.record_loaded_at, t.c.features).where(
        t.c.version == VERSION
    )
    frame = pl.DataFrame(
        [tuple(r) for r in conn.execute(stmt)],
        schema={
            "source": pl.String,
            "customer_id": pl.String,
            "record_loaded_at": pl.Datetime("us", "UTC"),
            "features": pl.String,
        },
        orient="row",
    )
    struct = pl.Struct({f: pl.String for f in STORED})
    return frame.with_columns(pl.col("features").str.json_decode(struct)).unnest("features")


def save(
    conn: Connection,
    features: pl.DataFrame,
    records: pl.DataFrame,
    only: Iterable[Record] | None = None,
) -> int:
    """Store the features of ``only`` (all if None) of ``features`` (match features with
    ``source`` and ``customer_id``), with the ``loaded_at`` that ``records`` gives them."""
    frame = features.select(*KEYS, *STORED).unique(list(KEYS), keep="last")
    if only is not None:
        wanted = pl.DataFrame(list(only), schema=list(KEYS), orient="row")
        frame = frame.join(wanted, on=list(KEYS), how="semi")
    frame = frame.join(records.select(*KEYS, "loaded_at"), on=list(KEYS), how="inner")
    if frame.is_empty():
        return 0
    rows = frame.select(
        *KEYS,
        pl.col("loaded_at").alias("record_loaded_at"),
        pl.lit(VERSION).alias("version"),
        pl.struct(*STORED).struct.json_encode().alias("features"),
    ).to_dicts()
    t = golden_match_features
    if only is None:
        conn.execute(t.delete())
    else:
        conn.execute(
            t.delete().where(
                t.c.source == bindparam("b_source"), t.c.customer_id == bindparam("b_key")
            ),
            [{"b_source": r["source"], "b_key": r["customer_id"]} for r in rows],
        )
    conn.execute(t.insert(), rows)
    return len(rows)
