"""Run a producer of batches one step ahead of its consumer, in a thread of its own.

The sync engine reads and maps batch n+1 while batch n is being written to the store: the
source's driver, polars and the store's driver all release the GIL while they work, so on
two cores reading and loading overlap instead of taking turns. At most ``depth`` batches
wait in between, so memory stays bounded. The producer's iterator runs entirely in the
producer thread (drivers that tie a connection to its thread stay happy), its exceptions
reach the consumer unchanged, and a consumer that stops early stops and closes it.

:class:`Prefetch` starts the producer at once, so that the source's connection and first
query overlap whatever the consumer does before it takes the first batch (the engine opens
the run in its ledger meanwhile); :func:`prefetch` starts it on the first item taken.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.1


class Stalled(TimeoutError):
    """The producer gave nothing for longer than the consumer's ``wait``."""


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetch(Generic[T]):
    """What ``make()`` yields, produced ahead in a thread started at once; ``close()`` stops
    it (call it in every case). With ``depth`` below 1, ``make()`` runs in the consumer's
    thread, on the first item taken, as a plain iterator.

    With ``wait`` (seconds), taking an item raises :class:`Stalled` when the producer gave
    nothing for that long; ``close()`` then waits for the producer at most ``wait`` more
    seconds and leaves it behind (a daemon thread) if it is still stuck in its source."""

    def __init__(
        self, make: Callable[[], Iterable[T]], depth: int = 2, wait: float | None = None
    ) -> None:
        self._make = make
        self._wait = wait
        self._stalled = False
        self._inline: Iterator[T] | None = None
        self._finished = False
        self._slots: queue.Queue[object] = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        if depth >= 1:
            self._worker = threading.Thread(
                target=self._produce, name="crm-hub-prefetch", daemon=True
            )
            self._worker.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._slots.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        iterator = iter(self._make())
        try:
            for item in iterator:
                if not self._put(item):
                    break
            else:
                self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer as is
            self._put(_Failure(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Prefetch[T]:
        return self

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        if self._worker is None:
            if self._inline is None:
                self._inline = iter(self._make())
            return next(self._inline)
        try:
            item = self._slots.get(timeout=self._wait)
        except queue.Empty:
            self._finished = self._stalled = True
            raise Stalled(f"nothing came for {self._wait:g} s") from None
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, _Failure):
            self._finished = True
            raise item.exc
        # neither the end marker nor a failure: an item the producer took from the iterator
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop the producer and wait for it (it closes its iterator in its own thread)."""
        self._finished = True
        self._stop.set()
        if self._worker is not None:
            self._worker.join(self._wait if self._stalled else None)
        close = getattr(self._inline, "close", None)
        if close is not None:
            close()


def prefetch(make: Callable[[], Iterable[T]], depth: int = 2) -> Iterator[T]:
    """Yield what ``make()`` yields, produced ahead in a background thread."""
    if depth < 1:
        yield from make()
        return
    ahead = Prefetch(make, depth)
    try:
        yield from ahead
    finally:
        ahead.close()
