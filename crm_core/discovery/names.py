"""Matching column and table names against the hints of ``hints.yaml``."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

HINTS_FILE = Path(__file__).with_name("hints.yaml")
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
#: how much less each later hint of a list counts than the one before it
DECAY = 0.01


@cache
def hints() -> dict[str, Any]:
    """The hints file, read once."""
    with HINTS_FILE.open(encoding="utf-8") as fh:
        data: dict[str, Any] = yaml.safe_load(fh)
    return data


def normal(name: str) -> str:
    """A name in lower case with umlauts written out (``Geändert_Am`` -> ``geaendert_am``)."""
    return name.lower().translate(UMLAUTS)


def words(name: str) -> list[str]:
    """A name's words: split at non-letters, digits and camelCase humps."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^a-z]+", normal(spaced)) if w]


def match(name: str, hint: str) -> float:
    """How well one name matches one hint, 0 to 1 (see hints.yaml's header)."""
    n, h = normal(name), normal(hint)
    if n == h:
        return 1.0
    if h in words(name):
        return 0.9
    if len(n) <= 8 and len(h) >= 2 and n[1:] == h:
        return 0.85
    if len(h) >= 4 and h in n:
        return 0.6
    return 0.0


def best_match(name: str, names: list[str]) -> float:
    """The best match of a name against a list of hints, earlier hints a little ahead."""
    return max((match(name, h) * (1 - DECAY * i) for i, h in enumerate(names)), default=0.0)


def split_suffix(name: str, suffixes: list[str]) -> str | None:
    """The stem of a name ending in one of the suffixes (the longest that fits), else None."""
    n = normal(name)
    for suffix in sorted(suffixes, key=len, reverse=True):
        if n.endswith(suffix) and len(n) > len(suffix):
            return n[: -len(suffix)].rstrip("_")
    return None
