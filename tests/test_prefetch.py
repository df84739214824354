"""Reading ahead of the load: order kept, errors passed on, memory bounded, stops cleanly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from crm_core.pull.prefetch import prefetch


def test_items_arrive_in_order_and_all_of_them() -> None:
    assert list(prefetch(lambda: iter(range(1000)), depth=2)) == list(range(1000))


def test_producer_error_reaches_the_consumer_after_the_good_items() -> None:
    def source() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("row 3: bad date")

    got = []
    with pytest.raises(ValueError, match="row 3: bad date"):
        for item in prefetch(source):
            got.append(item)
    assert got == [1, 2]


def test_producer_runs_at_most_depth_ahead() -> None:
    produced = []

    def source() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            yield i

    it = prefetch(source, depth=2)
    assert next(it) == 0
    time.sleep(0.3)
    # one handed out, two waiting, one made and blocked on the full queue
    assert len(produced) <= 4
    it.close()


def test_consumer_stopping_early_closes_the_producer_in_its_thread() -> None:
    closed_in: list[str] = []

    def source() -> Iterator[int]:
        try:
            yield from range(10_000)
        finally:
            closed_in.append(threading.current_thread().name)

    for item in prefetch(source):
        if item == 5:
            break
    assert closed_in == ["crm-hub-prefetch"]


def test_a_started_prefetch_produces_before_the_first_item_is_asked_for() -> None:
    from crm_core.pull.prefetch import Prefetch

    first = threading.Event()
    closed = threading.Event()

    def source() -> Iterator[int]:
        try:
            first.set()  # e.g. the source's connection and query, while the run is opened
            yield from range(10)
        finally:
            closed.set()

    ahead = Prefetch(source, depth=2)
    assert first.wait(5)
    assert next(ahead) == 0
    ahead.close()  # also stops a producer whose items were never all taken
    assert closed.is_set()
    with pytest.raises(StopIteration):
        next(ahead)
