"""API keys verified a moment ago, so that a request with a key in use costs no store query.

A key found valid is remembered for a few seconds (``api.key_cache_seconds``) under the
SHA-256 of the whole key as presented, per store engine: only the same key text finds
it. A key revoked in this process is forgotten at once (:func:`forget`); one revoked by
another process (``crm-hub apikey revoke`` beside a running ``crm-hub serve``) is refused
once its remembered check is that many seconds old. A key found invalid is not
remembered, so a key made a moment ago works at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
#: at most this many keys are remembered per store (the oldest checks are dropped first)
MAX_KEYS = 1024


def now() -> float:
    """The clock the remembered checks expire by (monotonic seconds)."""
    return time.monotonic()


class VerifiedKeys(Generic[T]):
    """Keys found valid, by the digest of the key as presented, each until it expires."""

    def __init__(self, limit: int = MAX_KEYS) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[float, str, T]] = OrderedDict()
        #: how many keys were forgotten so far (a check read before a revocation is
        #: not remembered after it)
        self.revocations = 0

    def get(self, digest: str) -> T | None:
        """What was remembered for ``digest``, unless it expired."""
        with self._lock:
            kept = self._kept.get(digest)
            if kept is None:
                return None
            if kept[0] <= now():
                del self._kept[digest]
                return None
            return kept[2]

    def put(self, digest: str, key_id: str, value: T, seconds: float, since: int) -> None:
        """Remember ``value`` (the key ``key_id``) under ``digest`` for ``seconds``, unless
        a key was forgotten after :attr:`revocations` was ``since`` (the check may have
        been read before that key was revoked)."""
        with self._lock:
            if self.revocations != since:
                return
            self._kept[digest] = (now() + seconds, key_id, value)
            self._kept.move_to_end(digest)
            while len(self._kept) > self.limit:
                self._kept.popitem(last=False)

    def forget(self, key_id: str) -> None:
        """Forget the key ``key_id``."""
        with self._lock:
            self.revocations += 1
            for digest in [d for d, kept in self._kept.items() if kept[1] == key_id]:
                del self._kept[digest]


_LOCK = threading.Lock()
_BY_STORE: weakref.WeakKeyDictionary[Engine, VerifiedKeys[object]] = weakref.WeakKeyDictionary()


def verified_keys(store: Engine) -> VerifiedKeys[object]:
    """The keys verified on ``store`` by this process."""
    with _LOCK:
        cache = _BY_STORE.get(store)
        if cache is None:
            cache = _BY_STORE[store] = VerifiedKeys()
        return cache


def forget(key_id: str) -> None:
    """Forget the key ``key_id`` on every store of this process (it was revoked)."""
    with _LOCK:
        caches = list(_BY_STORE.values())
    for cache in caches:
        cache.forget(key_id)
