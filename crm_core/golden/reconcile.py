"""A reconcile run: match new and changed customer records, keep golden ids stable,
rebuild the golden records they touch, and leave a row in the run ledger.

Incremental by default: only records that are new or changed since they were last
reconciled (their ``loaded_at`` differs from the one their link remembers) are matched,
against the existing golden customers, with the model saved by an earlier run. The first
run, and ``full=True``, match every record with every other (and train the model again);
golden ids stay what they were either way (see :mod:`crm_core.golden.ids`).
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, func, select

from crm_core.golden import constraints, features_cache, matching, phone_index, stocktake
from crm_core.golden.ids import IdSequence, Record, assign
from crm_core.golden.records import mark_merged, rebuild
from crm_core.golden.stewardship import in_force
from crm_core.golden.store_io import (
    StoredLink,
    deleted_since,
    read_customers,
    read_goldens,
    read_links,
    surviving_id,
)
from crm_core.identity import MatchConfig, load_match_config
from crm_core.ledger.leases import start_leased_run
from crm_core.ledger.names import HUB_SOURCE, RECONCILE
from crm_core.ledger.runs import RunCounts, finish_run
from crm_core.store.tables import golden_customers, golden_match_models, source_links
from schemas.reconcile import ReconcileConfig

FULL, INCREMENTAL, UNCHANGED = "full", "incremental", "unchanged"


@dataclass
class Outcome:
    """What a reconcile run did to the golden records."""

    mode: str = UNCHANGED
    matching: str = "-"
    records: int = 0
    records_matched: int = 0
    links_changed: int = 0
    golden_created: int = 0
    golden_updated: int = 0
    golden_merged: int = 0
    #: golden customers retired: every source record of theirs deleted
    golden_retired: int = 0
    golden_total: int = 0
    model_trained: bool = False
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the ledger, the log and the scheduler."""
        return dict(vars(self))


def reconcile(
    store: Engine,
    settings: ReconcileConfig,
    *,
    full: bool = False,
    match_config: MatchConfig | None = None,
) -> dict[str, Any]:
    """Run reconciliation as a ledger run (mode ``reconcile``); return what changed in the
    store since the previous run (see :func:`crm_core.golden.stocktake.count_changes`) and what
    this one did (:class:`Outcome`). One reconcile at a time: another one running makes
    this one :class:`~crm_core.ledger.leases.AlreadyRunning`."""
    run_id, lease = start_leased_run(store, HUB_SOURCE, RECONCILE, "customers", RECONCILE)
    counts = RunCounts()
    try:
        try:
            stock = stocktake.count_changes(store, run_id, counts)
            config = match_config or load_match_config(
                settings.match_rules, default_country=settings.identity.default_country
            )
            outcome = _reconcile(store, settings, config, run_id, full)
            counts.rows_loaded = outcome.golden_created + outcome.golden_updated
            counts.checks = {
                "reconcile": outcome.as_dict(),
                "survivorship": _rules_hash(settings),
            }
        except Exception as exc:
            finish_run(store, run_id, counts, f"{type(exc).__name__}: {exc}")
            raise
        finish_run(store, run_id, counts)
    finally:
        lease.release()
    return {**stock, **outcome.as_dict()}


@dataclass
class _State:
    """What the store holds at the start of a run."""

    links: dict[Record, StoredLink]
    goldens: dict[str, tuple[datetime, str | None]]
    records: pl.DataFrame
    actions: list[constraints.Action]
    model: dict[str, Any] | None
    trained_on: int
    rules_changed: bool


def _reconcile(
    store: Engine, settings: ReconcileConfig, config: MatchConfig, run_id: int, full: bool
) -> Outcome:
    clock = time.perf_counter()
    out = Outcome()
    now = datetime.now(UTC)
    with store.connect() as conn:
        model, trained_on = _saved_model(conn)
        state = _State(
            links=read_links(conn),
            goldens=read_goldens(conn),
            records=read_customers(conn),
            actions=in_force(conn, (constraints.MERGE, constraints.UNMERGE)),
            model=model,
            trained_on=trained_on,
            rules_changed=_previous_rules_hash(conn, run_id) != _rules_hash(settings),
        )
    out.records = state.records.height
    changed = _changed(state.records, state.links)
    out.seconds["read"] = round(time.perf_counter() - clock, 3)
    matched, to_keep = _match(store, state, changed, settings, config, full, out)
    out.seconds["match"] = round(time.perf_counter() - clock - out.seconds["read"], 3)

    with store.begin() as conn:
        touched: set[str] = set()
        if matched is not None:
            touched = _relink(conn, state, changed, matched, out, now)
            if matched.trained is not None:
                _save_model(conn, matched.trained, state.records.height, run_id, now)
                out.model_trained = True
            if matched.features is not None:
                features_cache.save(conn, matched.features, state.records, to_keep)
        touched |= _deleted_since_last(conn, run_id)  # re-survived, or retired
        everything = out.mode == FULL or state.rules_changed
        built = rebuild(
            conn,
            None if everything else touched,
            settings.survivorship,
            run_id=run_id,
            now=now,
            phone_region=settings.phone_region,
        )
        phone_index.fill_if_empty(conn, settings.phone_region)
        out.golden_created, out.golden_updated = built.created, built.updated
        out.golden_retired = built.retired
        out.golden_total = conn.execute(
            select(func.count())
            .select_from(golden_customers)
            .where(golden_customers.c.merged_into.is_(None))
        ).scalar_one()
    out.seconds["total"] = round(time.perf_counter() - clock, 3)
    return out


def _match(
    store: Engine,
    state: _State,
    changed: pl.DataFrame,
    settings: ReconcileConfig,
    config: MatchConfig,
    full: bool,
    out: Outcome,
) -> tuple[matching.Matched | None, set[Record] | None]:
    """Match all records (first run, ``full``) or the changed ones against the rest;
    return what matching decided and the records whose features to save (None: all)."""
    if full or not state.links:
        out.mode = FULL
        out.records_matched = state.records.height
        return matching.match_all(
            state.records, config, probabilistic=settings.probabilistic, model=None
        ), None
    if not changed.height:
        return None, set()
    out.mode = INCREMENTAL
    out.records_matched = changed.height
    grown = state.records.height >= state.trained_on * settings.retrain_growth
    with store.connect() as conn:
        existing, normalised = features_cache.existing_features(
            conn, _existing(state.records, changed, state.links, state.goldens)
        )
    matched = matching.match_new(
        changed,
        existing,
        config,
        probabilistic=settings.probabilistic,
        model=None if state.model is None or grown else state.model,
    )
    return matched, normalised | _keys(changed)


def _relink(
    conn: Connection,
    state: _State,
    changed: pl.DataFrame,
    matched: matching.Matched,
    out: Outcome,
    now: datetime,
) -> set[str]:
    """Apply the stewards' decisions to the clusters, decide golden ids, write the links
    that changed and record merges; return the golden ids whose records changed."""
    out.matching = matched.method
    clusters = dict(matched.clusters)
    manual = constraints.replay(clusters, state.actions)
    created_at = {g: v[0] for g, v in state.goldens.items()}
    current = {r: link.link() for r, link in state.links.items()}
    result = assign(clusters, current, created_at, IdSequence(state.goldens))
    merged: dict[str, str | None] = dict(result.merged)
    mark_merged(conn, merged, now)
    out.golden_merged = len(merged)
    rows = _link_rows(state.records, result.golden_of, state.links, result.moved | _keys(changed))
    for row in rows:
        key = (row["source"], row["source_key"])
        if key in result.moved:
            row["rule"] = manual.get(key) or matched.linked_by.get(key) or "single"
            row["linked_at"] = now
    _write_links(conn, rows)
    out.links_changed = len(result.moved)
    touched = {r["golden_id"] for r in rows}
    touched |= {state.links[r].golden_id for r in result.moved if r in state.links}
    return touched - set(merged)


def _keys(frame: pl.DataFrame) -> set[Record]:
    return set(zip(frame["source"], frame["customer_id"], strict=True))


def _changed(records: pl.DataFrame, links: dict[Record, StoredLink]) -> pl.DataFrame:
    """Records never linked, or loaded again since they were last reconciled."""
    seen = pl.DataFrame(
        [(s, k, link.record_loaded_at) for (s, k), link in links.items()],
        schema={"source": pl.String, "customer_id": pl.String, "seen": pl.Datetime("us", "UTC")},
        orient="row",
    )
    joined = records.join(seen, on=["source", "customer_id"], how="left")
    is_new = pl.col("seen").is_null() | (pl.col("seen") != pl.col("loaded_at")).fill_null(True)
    return joined.filter(is_new).drop("seen")


def _existing(
    records: pl.DataFrame,
    changed: pl.DataFrame,
    links: dict[Record, StoredLink],
    goldens: dict[str, tuple[datetime, str | None]],
) -> pl.DataFrame:
    """Unchanged records with their golden id as ``cluster_id``."""
    cluster = pl.DataFrame(
        [(s, k, surviving_id(goldens, link.golden_id)) for (s, k), link in links.items()],
        schema={"source": pl.String, "customer_id": pl.String, "cluster_id": pl.String},
        orient="row",
    )
    return records.join(
        changed.select("source", "customer_id"), on=["source", "customer_id"], how="anti"
    ).join(cluster, on=["source", "customer_id"], how="inner")


def _link_rows(
    records: pl.DataFrame,
    golden_of: dict[Record, str],
    links: dict[Record, StoredLink],
    keys: set[Record],
) -> list[dict[str, Any]]:
    """New ``source_links`` rows for ``keys`` (their rule and linked_at kept for now)."""
    wanted = pl.DataFrame(
        list(keys), schema={"source": pl.String, "customer_id": pl.String}, orient="row"
    )
    rows = []
    picked = records.join(wanted, on=["source", "customer_id"], how="semi")
    for source, key, stream, loaded_at in picked.select(
        "source", "customer_id", "stream", "loaded_at"
    ).iter_rows():
        old = links.get((source, key))
        rows.append(
            {
                "source": source,
                "stream": stream,
                "source_key": key,
                "golden_id": golden_of[(source, key)],
                "rule": old.rule if old else None,
                "linked_at": old.linked_at if old else None,
                "record_loaded_at": loaded_at,
            }
        )
    return rows


def _write_links(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    conn.execute(
        source_links.delete().where(
            source_links.c.source == bindparam("b_source"),
            source_links.c.source_key == bindparam("b_key"),
        ),
        [{"b_source": r["source"], "b_key": r["source_key"]} for r in rows],
    )
    conn.execute(source_links.insert(), rows)


def _saved_model(conn: Connection) -> tuple[dict[str, Any] | None, int]:
    row = conn.execute(
        select(golden_match_models.c.model, golden_match_models.c.records)
        .order_by(golden_match_models.c.id.desc())
        .limit(1)
    ).first()
    return (row[0], int(row[1])) if row else (None, 0)


def _save_model(
    conn: Connection, model: dict[str, Any], records: int, run_id: int, now: datetime
) -> None:
    conn.execute(
        golden_match_models.insert().values(
            run_id=run_id, records=records, model=model, created_at=now
        )
    )
    # only the newest is used; two older ones are kept to compare with
    kept = select(golden_match_models.c.id).order_by(golden_match_models.c.id.desc()).limit(3)
    conn.execute(
        golden_match_models.delete().where(
            golden_match_models.c.id.not_in([r[0] for r in conn.execute(kept)])
        )
    )


def _rules_hash(settings: ReconcileConfig) -> str:
    text = json.dumps(settings.survivorship.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _deleted_since_last(conn: Connection, run_id: int) -> set[str]:
    """Golden ids with a source record deleted since the last successful reconcile."""
    previous = stocktake.previous_reconcile(conn, run_id)
    return deleted_since(conn, previous.id if previous is not None else 0)


def _previous_rules_hash(conn: Connection, run_id: int) -> str | None:
    """The survivorship rules the last successful reconcile applied (None: none ran)."""
    previous = stocktake.previous_reconcile(conn, run_id)
    checks = previous.checks if previous is not None else None
    return (checks or {}).get("survivorship")
