"""Running the Splink model on DuckDB: a full run (train unless a model is given, then
score every candidate pair) or an incremental one (score new records against existing
ones and against each other with Splink's ``predict_between`` / ``predict_within``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from crm_core.identity import splink_model
from crm_core.identity.config import MatchConfig

log = logging.getLogger(__name__)

#: DuckDB's memory for the model (beyond it, it spills to a temporary directory)
DUCKDB_MEMORY_LIMIT = "1GB"
SCORE_SCHEMA = {
    "rid_l": pl.Int64,
    "rid_r": pl.Int64,
    "match_weight": pl.Float64,
    "match_probability": pl.Float64,
}


def score_all(
    table: pl.DataFrame,
    config: MatchConfig,
    present: set[str],
    keys: dict[tuple[str, ...], str],
    block_columns: list[str],
    model: dict[str, Any] | None = None,
) -> tuple[pl.DataFrame, dict[str, Any] | None]:
    """(scored pairs at or above the review threshold, the trained or given model); no
    pairs and no model when the records are too few to learn one from
    (:class:`~crm_core.identity.splink_model.Untrainable`)."""
    if model is None and table.height < 2:
        return pl.DataFrame(schema=SCORE_SCHEMA), None
    sp = splink_model.splink()
    db = sp.DuckDBAPI()
    keep: list[Any] = []
    try:
        records = _register(db, table, "records", keep)
        if model is None:
            try:
                model = splink_model.train(records, present, config, keys, block_columns)
            except splink_model.Untrainable as why:
                log.info("%s", why)
                return pl.DataFrame(schema=SCORE_SCHEMA), None
        if not block_columns:
            return pl.DataFrame(schema=SCORE_SCHEMA), model
        linker = splink_model.new_linker(records, splink_model.with_blocking(model, block_columns))
        scored = linker.inference.predict(
            threshold_match_probability=config.review_threshold, warning_mode="never"
        )
        return _pairs(scored), model
    finally:
        _close(db, keep)


def train_model(
    table: pl.DataFrame,
    config: MatchConfig,
    present: set[str],
    keys: dict[tuple[str, ...], str],
    block_columns: list[str],
) -> dict[str, Any] | None:
    """A model trained on ``table`` (for an incremental run that has none yet); None when
    the records are too few to learn one from."""
    if table.height < 2:
        return None
    sp = splink_model.splink()
    db = sp.DuckDBAPI()
    keep: list[Any] = []
    try:
        records = _register(db, table, "records", keep)
        return splink_model.train(records, present, config, keys, block_columns)
    except splink_model.Untrainable as why:
        log.info("%s", why)
        return None
    finally:
        _close(db, keep)


def score_new(
    existing: pl.DataFrame,
    new: pl.DataFrame,
    config: MatchConfig,
    block_columns: list[str],
    model: dict[str, Any] | None,
) -> pl.DataFrame:
    """Scored pairs new-existing and new-new at or above the review threshold (none
    without a model)."""
    if model is None or not block_columns or new.is_empty():
        return pl.DataFrame(schema=SCORE_SCHEMA)
    sp = splink_model.splink()
    db = sp.DuckDBAPI()
    keep: list[Any] = []
    try:
        new_sdf = _register(db, new, "new_records", keep)
        linker = splink_model.new_linker(new_sdf, splink_model.with_blocking(model, block_columns))
        found = [
            linker.inference.predict_within(
                new_sdf, threshold_match_probability=config.review_threshold, warning_mode="never"
            )
        ]
        if not existing.is_empty():
            old_sdf = _register(db, existing, "existing_records", keep)
            found.append(
                linker.inference.predict_between(
                    old_sdf,
                    new_sdf,
                    threshold_match_probability=config.review_threshold,
                    warning_mode="never",
                )
            )
        return pl.concat([_pairs(f) for f in found])
    finally:
        _close(db, keep)


def _register(db: Any, table: pl.DataFrame, name: str, keep: list[Any]) -> Any:
    """``table`` as the view ``name`` of ``db``'s connection (read where it lies, not
    copied), as a Splink table. DuckDB reads it while its relation, appended to
    ``keep``, lives. (Registering the Arrow table with ``register`` does the same but
    imports pandas, a fifth of a second, to check whether it is a pandas frame.)"""
    con = db.duckdb_con
    con.execute("SET enable_progress_bar = false")
    # DuckDB may otherwise take 80% of RAM before it spills; the model's joins need far
    # less, and what does not fit goes to a temporary directory
    con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    if not any(isinstance(k, Path) for k in keep):  # one folder per connection, removed after
        spill = Path(tempfile.mkdtemp(prefix="crm-hub-duckdb-"))
        keep.append(spill)
        con.execute(f"SET temp_directory = '{spill}'")
    relation = db.duckdb_con.from_arrow(table.to_arrow())
    relation.create_view(name)
    keep.append(relation)
    return db.register(name, table_name=name)


def _close(db: Any, keep: list[Any]) -> None:
    """Close ``db``'s DuckDB connection and remove the folder it could spill to."""
    db.duckdb_con.close()
    for spill in (k for k in keep if isinstance(k, Path)):
        shutil.rmtree(spill, ignore_errors=True)


def _pairs(scored: Any) -> pl.DataFrame:
    frame = scored.as_duckdbpyrelation().pl()
    lo = pl.min_horizontal("rid_l", "rid_r")
    hi = pl.max_horizontal("rid_l", "rid_r")
    return frame.select(
        lo.cast(pl.Int64).alias("rid_l"),
        hi.cast(pl.Int64).alias("rid_r"),
        pl.col("match_weight").cast(pl.Float64),
        pl.col("match_probability").cast(pl.Float64),
    )
