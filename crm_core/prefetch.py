"""Run a producer of batches one step ahead of its consumer, in a thread of its own.

The sync engine reads and maps batch n+1 while batch n is being written to the store: the
source's driver, polars and the store's driver all release the GIL while they work, so on
two cores reading and loading overlap instead of taking turns. At most ``depth`` batches
wait in between, so memory stays bounded. The producer's iterator runs entirely in the
producer thread (drivers that tie a connection to its thread stay happy), its exceptions
reach the consumer unchanged, and a consumer that stops early stops and closes it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.1


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetch(make: Callable[[], Iterable[T]], depth: int = 2) -> Iterator[T]:
    """Yield what ``make()`` yields, produced ahead in a background thread."""
    if depth < 1:
        yield from make()
        return
    slots: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        iterator = iter(make())
        try:
            for item in iterator:
                if not put(item):
                    break
            else:
                put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer as is
            put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="crm-hub-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        worker.join()
