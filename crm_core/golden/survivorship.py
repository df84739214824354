"""Survivorship: each golden field's value, chosen among the customer's source records by
the field's rule, with the record (and the run that loaded it) that supplied it.

Vectorised: every rule is a sort of the candidate values followed by the first row per
golden customer, so a million records cost a few sorts, not a million Python calls.
Pure: frames in, frames out; :mod:`crm_core.golden.records` reads and writes the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from schemas.reconcile import GOLDEN_FIELDS, FieldRule, Survivorship

#: The columns of the source records survivorship reads, besides the golden fields.
RECORD_COLUMNS = ("golden_id", "source", "stream", "customer_id", "run_id", "changed_at")
LINEAGE_SCHEMA = pl.Schema(
    {
        "golden_id": pl.String,
        "field": pl.String,
        "value": pl.String,
        "rule": pl.String,
        "source": pl.String,
        "stream": pl.String,
        "source_key": pl.String,
        "run_id": pl.Int64,
    }
)
PIN_SOURCE = "steward"


@dataclass(frozen=True)
class Pin:
    """A steward's value for one golden field (it always wins)."""

    value: str
    action_id: int
    who: str


def survive(
    records: pl.DataFrame,
    rules: Survivorship,
    *,
    pins: Mapping[tuple[str, str], Pin] | None = None,
    previous: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Lineage rows (:data:`LINEAGE_SCHEMA`): one per golden customer in ``records`` and
    golden field, with the value chosen, its rule and the record that supplied it.

    ``records`` has :data:`RECORD_COLUMNS` and the golden fields (as text); ``pins``
    override any rule; ``previous`` (lineage rows as returned here) is what
    ``never_empty_over_value`` keeps when every source is empty now.
    """
    records = _prepared(records)
    goldens = records.select("golden_id").unique().sort("golden_id")
    frames = []
    for field in GOLDEN_FIELDS:
        rule = rules.rule_for(field)
        chosen = _choose(records, field, rule)
        row = goldens.join(chosen, on="golden_id", how="left").with_columns(
            field=pl.lit(field), rule=pl.lit(rule.rule)
        )
        if rule.rule == "never_empty_over_value" and previous is not None:
            row = _keep_previous(row, _still_members(previous, records), field)
        frames.append(row.select(LINEAGE_SCHEMA.keys()).cast(LINEAGE_SCHEMA))
    lineage = pl.concat(frames) if frames else pl.DataFrame(schema=LINEAGE_SCHEMA)
    if pins:
        lineage = _apply_pins(lineage, pins)
    return lineage.sort("golden_id", "field")


def golden_values(lineage: pl.DataFrame) -> dict[str, dict[str, str | None]]:
    """golden id -> {field: value} from lineage rows."""
    out: dict[str, dict[str, str | None]] = {}
    for golden_id, field, value in lineage.select("golden_id", "field", "value").iter_rows():
        out.setdefault(golden_id, {})[field] = value
    return out


def _prepared(records: pl.DataFrame) -> pl.DataFrame:
    """Blank values as null, and each record's completeness (golden fields filled)."""
    text = [
        pl.col(f).cast(pl.String).str.strip_chars().replace("", None).alias(f)
        if f in records.columns
        else pl.lit(None, dtype=pl.String).alias(f)
        for f in GOLDEN_FIELDS
    ]
    out = records.with_columns(text)
    # a country is a two-letter code in the golden record (the column holds ISO 3166-1)
    out = out.with_columns(
        country=pl.when(pl.col("country").str.len_chars() == 2).then(
            pl.col("country").str.to_uppercase()
        )
    )
    return out.with_columns(
        completeness=pl.sum_horizontal([pl.col(f).is_not_null() for f in GOLDEN_FIELDS])
    )


def _choose(records: pl.DataFrame, field: str, rule: FieldRule) -> pl.DataFrame:
    """The winning record per golden customer for one field."""
    candidates = records.filter(pl.col(field).is_not_null()).select(
        "golden_id",
        "source",
        "stream",
        pl.col("customer_id").alias("source_key"),
        "run_id",
        "changed_at",
        "completeness",
        pl.col(field).alias("value"),
    )
    newest = pl.col("changed_at")
    tie = ["source", "source_key"]
    if rule.rule == "source_priority":
        order = {s: i for i, s in enumerate(rule.sources)}
        rank = pl.col("source").replace_strict(order, default=len(order), return_dtype=pl.Int64)
        ordered = candidates.with_columns(rank=rank).sort(
            ["golden_id", "rank", "changed_at", *tie],
            descending=[False, False, True, False, False],
            nulls_last=True,
        )
    elif rule.rule == "most_complete":
        ordered = candidates.with_columns(length=pl.col("value").str.len_chars()).sort(
            ["golden_id", "completeness", "length", "changed_at", *tie],
            descending=[False, True, True, True, False, False],
            nulls_last=True,
        )
    elif rule.rule == "most_frequent":
        norm = pl.col("value").str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ")
        ordered = (
            candidates.with_columns(norm=norm)
            .with_columns(
                votes=pl.len().over("golden_id", "norm"),
                group_newest=newest.max().over("golden_id", "norm"),
            )
            .sort(
                ["golden_id", "votes", "group_newest", "changed_at", *tie],
                descending=[False, True, True, True, False, False],
                nulls_last=True,
            )
        )
    else:  # most_recent, never_empty_over_value
        ordered = candidates.sort(
            ["golden_id", "changed_at", *tie],
            descending=[False, True, False, False],
            nulls_last=True,
        )
    return (
        ordered.group_by("golden_id", maintain_order=True)
        .first()
        .select("golden_id", "value", "source", "stream", "source_key", "run_id")
    )


def _still_members(previous: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Lineage rows whose supplying record still belongs to the golden customer (a value
    goes with its record when a steward or a split takes the record elsewhere)."""
    members = records.select("golden_id", "source", pl.col("customer_id").alias("source_key"))
    return previous.join(members, on=["golden_id", "source", "source_key"], how="semi")


def _keep_previous(row: pl.DataFrame, previous: pl.DataFrame, field: str) -> pl.DataFrame:
    """Where no record has a value now, the value (and lineage) the golden record had."""
    before = previous.filter(
        (pl.col("field") == field)
        & pl.col("value").is_not_null()
        & (pl.col("source") != PIN_SOURCE)
    ).select("golden_id", *[pl.col(c).alias(f"{c}_before") for c in _SUPPLIER])
    joined = row.join(before, on="golden_id", how="left")
    empty = pl.col("value").is_null()
    return joined.with_columns(
        [
            pl.when(empty).then(pl.col(f"{c}_before")).otherwise(pl.col(c)).alias(c)
            for c in _SUPPLIER
        ]
    ).drop([f"{c}_before" for c in _SUPPLIER])


_SUPPLIER = ("value", "source", "stream", "source_key", "run_id")


def _apply_pins(lineage: pl.DataFrame, pins: Mapping[tuple[str, str], Pin]) -> pl.DataFrame:
    pinned = pl.DataFrame(
        [
            {
                "golden_id": golden_id,
                "field": field,
                "value_pin": pin.value,
                "key_pin": str(pin.action_id),
            }
            for (golden_id, field), pin in pins.items()
        ],
        schema={
            "golden_id": pl.String,
            "field": pl.String,
            "value_pin": pl.String,
            "key_pin": pl.String,
        },
    )
    joined = lineage.join(pinned, on=["golden_id", "field"], how="left")
    hit = pl.col("key_pin").is_not_null()
    return joined.with_columns(
        value=pl.when(hit).then("value_pin").otherwise("value"),
        rule=pl.when(hit).then(pl.lit("pin")).otherwise("rule"),
        source=pl.when(hit).then(pl.lit(PIN_SOURCE)).otherwise("source"),
        stream=pl.when(hit).then(pl.lit(None, dtype=pl.String)).otherwise("stream"),
        source_key=pl.when(hit).then("key_pin").otherwise("source_key"),
        run_id=pl.when(hit).then(pl.lit(None, dtype=pl.Int64)).otherwise("run_id"),
    ).drop("value_pin", "key_pin")
