"""The ranking of every customer behind the insights' RFM and tier: computed once per
day while the first caller waits, then renewed in the background while callers keep
getting the one in hand."""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest

from crm_core.api.service import segments


def _population(n: int) -> segments.Population:
    return segments.Population(
        as_of=date(2026, 1, 1),
        recency=[n],
        frequency=[n],
        monetary={},
        cumulative={},
    )


def test_an_old_ranking_is_served_while_the_next_one_is_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computed: list[int] = []
    release = threading.Event()

    def slow_population(_store: Any, _as_of: date) -> segments.Population:
        if computed:  # every renewal waits until the test lets it finish
            release.wait(10)
        computed.append(len(computed) + 1)
        return _population(len(computed))

    monkeypatch.setattr(segments, "population", slow_population)
    cache = segments.PopulationCache(ttl=0.0)
    store: Any = object()
    day = date(2026, 1, 1)
    assert cache.get(store, day).recency == [1]  # the first call computes it
    started = time.perf_counter()
    assert cache.get(store, day).recency == [1]  # too old: still served, renewal started
    assert cache.get(store, day).recency == [1]  # one renewal at a time
    assert time.perf_counter() - started < 1.0
    release.set()
    deadline = time.monotonic() + 10
    while cache.get(store, day).recency != [2] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cache.get(store, day).recency in ([2], [3])
    assert computed[:2] == [1, 2]


def test_a_failed_renewal_keeps_the_ranking_in_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def flaky_population(_store: Any, _as_of: date) -> segments.Population:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("store went away")
        return _population(1)

    monkeypatch.setattr(segments, "population", flaky_population)
    cache = segments.PopulationCache(ttl=0.0)
    store: Any = object()
    day = date(2026, 1, 1)
    assert cache.get(store, day).recency == [1]
    for _ in range(20):
        assert cache.get(store, day).recency == [1]
        time.sleep(0.01)
    assert calls["n"] >= 2  # renewals were tried, and failed without harm
