"""The prior and the u probabilities of the Splink model, each in one query.

The prior: the pairs the deterministic rules link, over all pairs, as Splink's
``estimate_probability_two_random_records_match`` counts them, in one query rather
than a pipeline per rule. The u probabilities: from random pairs of records, every
comparison in one pass.

Splink's ``estimate_u_using_random_sampling`` takes the same deterministic sample of
records (a hash of the unique id and the seed), compares every pair of it, and counts
each comparison's levels; but it joins and counts once per comparison, each time
building and parsing its SQL again. Here the sample is joined once, every comparison's
level is read from the model's own ``sql_condition`` of each level (the saved-model
format), and the counts come back in one query: the same pairs, the same counts, the
same u probabilities. A level never seen in the sample is marked as Splink marks it
(:data:`NOT_OBSERVED`); should a Splink version not read that mark, the caller falls back
to Splink's own estimate.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import polars as pl

#: Splink's deterministic sample: a record is kept when the hash of its unique id and
#: the seed, modulo this, is below the sampled proportion of it
SAMPLE_MODULUS = 1_000_000_000
#: what Splink writes for the u probability of a level never seen among the sampled
#: pairs (it then reads u as 1e-6 and leaves the level out of a saved model); checked
#: by :func:`unobserved_kept` after loading, since Splink keeps the text internal
NOT_OBSERVED = "level not observed in training dataset"


def deterministic_prior(
    con: Any, table: str, rules: Sequence[Sequence[str]], recall: float
) -> float | None:
    """Splink's ``estimate_probability_two_random_records_match`` in one query: the pairs
    of records of ``table`` that agree on every column of one of ``rules`` (none empty;
    a pair counted once, under its first rule), divided by ``recall``, over all pairs.
    None without rules or pairs, or when the pairs found exceed ``recall`` of all pairs
    (Splink then refuses the estimate)."""
    total = con.sql(f'select count(*) from "{table}"').fetchall()[0][0]
    pairs = total * (total - 1) // 2
    if not rules or pairs == 0:
        return None
    conditions = [" and ".join(f'l."{c}" = r."{c}"' for c in rule) for rule in rules]
    counts = []
    for i, condition in enumerate(conditions):
        earlier = "".join(f" and not coalesce(({c}), false)" for c in conditions[:i])
        counts.append(
            f'select count(*) as n from "{table}" as l inner join "{table}" as r '
            f'on {condition} where l."rid" < r."rid"{earlier}'
        )
    observed = con.sql(f"select sum(n) from ({' union all '.join(counts)})").fetchall()[0][0]
    if observed > pairs * recall:
        return None
    return float(observed / recall / pairs)


def sample_size(max_pairs: float) -> float:
    """Records whose pairs number about ``max_pairs`` (r (r - 1) / 2 = max_pairs)."""
    return 0.5 * ((8 * max_pairs + 1) ** 0.5 + 1)


def with_sampled_u(
    con: Any, table: str, model: dict[str, Any], *, max_pairs: float, seed: int
) -> dict[str, Any] | None:
    """``model`` (a saved Splink model of a ``dedupe_only`` link of ``table``, unique id
    ``rid``) with the u probability of every level estimated from the pairs of a sample
    of about ``max_pairs`` pairs (:data:`NOT_OBSERVED` for a level never seen among
    them); None when the model has no comparison."""
    columns = list(con.sql(f'select * from "{table}" limit 0').columns)
    total = con.sql(f'select count(*) from "{table}"').fetchall()[0][0]
    proportion = sample_size(max_pairs) / total if total else 1.0
    where = ""
    if proportion < 1.0:
        threshold = max(1, round(proportion * SAMPLE_MODULUS))
        where = f"where hash((\"rid\") || '_{seed}') % {SAMPLE_MODULUS} < {threshold}"
    comparisons = model.get("comparisons", [])
    if not comparisons:
        return None
    sides = ", ".join(f'l."{c}" as "{c}_l", r."{c}" as "{c}_r"' for c in columns)
    gammas = ", ".join(f"{_case(c)} as g{i}" for i, c in enumerate(comparisons))
    sql = f"""
        with sample as (select * from "{table}" {where}),
        pairs as (
            select {sides} from sample as l inner join sample as r on l."rid" < r."rid"
        )
        select {gammas} from pairs
    """
    vectors = con.sql(sql).pl()
    out = copy.deepcopy(model)
    for i, comparison in enumerate(out["comparisons"]):
        counts = dict(
            vectors.get_column(f"g{i}").value_counts().filter(pl.col(f"g{i}") >= 0).iter_rows()
        )
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        seen = float(sum(counts.values()))
        for value, level in zip(range(len(levels) - 1, -1, -1), levels, strict=True):
            count = counts.get(value, 0)
            level["u_probability"] = float(count) / seen if count else NOT_OBSERVED
    return out


def unobserved_kept(loaded: dict[str, Any], sampled: dict[str, Any]) -> bool:
    """Whether a model loaded from ``sampled`` (and saved again as ``loaded``) took its
    never-seen levels as Splink does: saved without a u probability."""
    for mine, theirs in zip(sampled["comparisons"], loaded["comparisons"], strict=True):
        for a, b in zip(mine["comparison_levels"], theirs["comparison_levels"], strict=True):
            if a.get("u_probability") == NOT_OBSERVED and "u_probability" in b:
                return False
    return True


def _case(comparison: dict[str, Any]) -> str:
    """The comparison's level as Splink numbers them: -1 for the null level, then from
    the number of other levels less one down to 0, in order."""
    levels = comparison["comparison_levels"]
    value = sum(1 for lv in levels if not lv.get("is_null_level")) - 1
    parts = []
    for level in levels:
        condition = level["sql_condition"]
        if level.get("is_null_level"):
            parts.append(f"when {condition} then -1")
            continue
        if condition.strip().upper() == "ELSE":
            parts.append(f"else {value}")
        else:
            parts.append(f"when {condition} then {value}")
        value -= 1
    return "case " + " ".join(parts) + " end"
