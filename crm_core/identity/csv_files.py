"""Identity resolution on CSV files of customer-like records (``crm-hub resolve``).

Each file's columns are recognised by their names (or told with ``ROLE=COLUMN``), the
records are linked across the files and deduplicated within each with the same rules and
model the hub uses on its store, and the clusters are written as
``source,record_id,cluster_id`` (cluster ids numbered from 1 in the order first seen).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from crm_core.identity import columns
from crm_core.identity.config import MatchConfig, load_match_config
from crm_core.identity.resolver import resolve
from schemas.errors import ConfigError


@dataclass(frozen=True)
class ReadFile:
    """One file as read: the source name its records carry and role -> column."""

    path: Path
    source: str
    records: int
    roles: dict[str, str]


@dataclass(frozen=True)
class FilesResolution:
    """What :func:`resolve_files` found and wrote."""

    records: int
    customers: int
    #: records in clusters of two or more, and how many such clusters
    grouped_records: int
    groups: int
    linked_pairs: int
    #: (``decided_by``, linked pairs), most first
    linked_by_rule: list[tuple[str, int]]
    seconds: float


def resolve_files(
    paths: list[Path],
    output: Path,
    *,
    pairs_output: Path | None = None,
    id_column: str | None = None,
    column_overrides: Iterable[str] = (),
    rules: Path | None = None,
    threshold: float | None = None,
    default_country: str | None = None,
    on_read: Callable[[ReadFile], None] | None = None,
) -> FilesResolution:
    """Resolve the records of the CSV files ``paths``; write the clusters to ``output``
    and, when given, every linked or reviewed pair to ``pairs_output``.

    ``id_column`` identifies a record in its file (default: the row number);
    ``column_overrides`` are ``ROLE=COLUMN`` items; ``rules`` a matching-rules file;
    ``threshold`` the match probability from which the model links a pair;
    ``default_country`` the region of phones written without one. ``on_read`` is
    called after each file is read. Raises ``ConfigError`` naming the file and the reason.
    """
    started = time.perf_counter()
    config = match_config(rules, threshold, default_country)
    try:
        overrides = columns.parse_overrides(column_overrides)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    frames = []
    for path, source in zip(paths, source_names(paths), strict=True):
        frame, roles = read_file(path, source, id_column, overrides)
        frames.append(frame)
        if on_read is not None:
            on_read(ReadFile(path, source, frame.height, roles))
    records = pl.concat(frames, how="diagonal_relaxed")
    if records.is_empty():
        raise ConfigError("the files hold no records")
    result = resolve(records, config=config)
    clusters = result.clusters
    numbers = (
        clusters.select("cluster_id").unique(maintain_order=True).with_row_index("number", offset=1)
    )
    out = clusters.join(numbers, on="cluster_id", how="left", maintain_order="left").select(
        "source", pl.col("customer_id").alias("record_id"), pl.col("number").alias("cluster_id")
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    out.write_csv(output)
    if pairs_output is not None:
        pairs_output.parent.mkdir(parents=True, exist_ok=True)
        result.pairs.rename(
            {"customer_id_l": "record_id_l", "customer_id_r": "record_id_r"}
        ).write_csv(pairs_output)
    linked = result.pairs.filter("is_match")
    by_rule = linked.group_by("decided_by").len().sort("len", descending=True)
    clustered = out.group_by("cluster_id").len().filter(pl.col("len") > 1)
    return FilesResolution(
        records=out.height,
        customers=numbers.height,
        grouped_records=int(clustered["len"].sum() or 0),
        groups=clustered.height,
        linked_pairs=linked.height,
        linked_by_rule=[(rule, n) for rule, n in by_rule.iter_rows()],
        seconds=time.perf_counter() - started,
    )


def match_config(
    rules: Path | None, threshold: float | None, default_country: str | None = None
) -> MatchConfig:
    """The rules of ``rules`` (default: the built-in ones) with the model's link
    ``threshold`` when given (the review threshold lowered to it if above)."""
    config = load_match_config(rules, default_country=default_country)
    if threshold is None:
        return config
    update = {"threshold": threshold}
    if config.review_threshold > threshold:
        update["review_threshold"] = threshold
    return config.model_copy(update=update)


def source_names(paths: list[Path]) -> list[str]:
    """Each file's source name: its stem, or its whole path where stems repeat."""
    stems = [p.stem for p in paths]
    return [str(p) if stems.count(p.stem) > 1 else p.stem for p in paths]


def read_file(
    path: Path, source: str, id_column: str | None, overrides: dict[str, str]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """The records of one CSV file as the resolver's input columns (``source``,
    ``customer_id`` and a column per recognised role), and role -> column."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such file")
    try:
        raw = pl.read_csv(
            path, infer_schema=False, encoding="utf8-lossy", truncate_ragged_lines=True
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ConfigError(f"{path}: cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    raw = raw.rename({c: c.strip() for c in raw.columns}).with_columns(
        pl.all().str.strip_chars().replace("", None)
    )
    if id_column is not None and id_column not in raw.columns:
        raise ConfigError(
            f"{path}: no id column {id_column!r}; columns are: {', '.join(raw.columns)}"
        )
    headers = [c for c in raw.columns if c != id_column]
    try:
        roles = columns.recognise(headers, overrides)
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    ids = (
        raw.get_column(id_column)
        if id_column is not None
        else pl.int_range(1, raw.height + 1, eager=True).cast(pl.String)
    )
    frame = raw.select([pl.col(col).alias(role) for role, col in roles.items()]).with_columns(
        source=pl.lit(source), customer_id=ids
    )
    missing = frame.get_column("customer_id").null_count()
    if missing:
        raise ConfigError(f"{path}: {missing} record(s) have no {id_column}")
    return frame, roles
