"""Per-process caches of the files every sync run reads: mappings and contracts.

A process that runs many syncs (a scheduler's worker, ``crm-hub sync`` over several
sources, the API's quarantine review) parses each file once, and again only when the file
changes: the cache key is the file's absolute path, and a hit also needs the same size,
modification and change time and inode, so an edited file is read afresh on the next run.
A file that does not exist is not cached; an error while loading propagates, uncached.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

Stamp = tuple[int, int, int, int]

_entries: dict[tuple[str, str], tuple[Stamp, Any]] = {}
_lock = threading.Lock()


def _stamp(path: Path) -> Stamp | None:
    """What identifies one version of a file, or None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def cached(kind: str, path: Path, load: Callable[[], T]) -> T:
    """``load()``'s value for this version of the file at ``path``, computed once per process
    and ``kind`` (what is made of the file: a compiled mapping, a contract...)."""
    key = (kind, os.path.abspath(path))
    stamp = _stamp(path)
    if stamp is not None:
        with _lock:
            hit = _entries.get(key)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    value = load()
    if stamp is not None:
        with _lock:
            _entries[key] = (stamp, value)
    return value


def clear() -> None:
    """Forget everything cached (tests, or after replacing files in place)."""
    with _lock:
        _entries.clear()
