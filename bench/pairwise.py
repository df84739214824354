"""Pairwise precision, recall and F1 of a clustering against known truth, written for the
benchmarks apart from the product's own scoring."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise(
    clusters: Iterable[tuple[Hashable, Hashable]], truth: Iterable[tuple[Hashable, Hashable]]
) -> dict[str, float]:
    """``clusters`` and ``truth`` as (record, label) pairs; a record of the truth missing
    from ``clusters`` counts as a cluster of its own, a record not in the truth is an
    error. Pairs of records are counted: predicted together, truly together, both."""
    true_of = dict(truth)
    found = dict(clusters)
    unknown = set(found) - set(true_of)
    if unknown:
        raise ValueError(
            f"{len(unknown)} clustered records are not in the truth, e.g. {min(map(str, unknown))}"
        )
    for record in true_of.keys() - found.keys():
        found[record] = ("unclustered", record)
    predicted = sum(_pairs(n) for n in Counter(found.values()).values())
    actual = sum(_pairs(n) for n in Counter(true_of.values()).values())
    both = sum(_pairs(n) for n in Counter((found[r], true_of[r]) for r in true_of).values())
    precision = both / predicted if predicted else 1.0
    recall = both / actual if actual else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": actual,
        "predicted_pairs": predicted,
        "correct_pairs": both,
    }
