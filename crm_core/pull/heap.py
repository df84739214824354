"""Keep the garbage collector off the objects a process makes at start-up.

With polars, SQLAlchemy, pydantic and the connectors imported, a process holds about a
hundred thousand objects that live as long as it does (modules, classes, compiled
mappings). A full collection walks every one of them, ~0.1 s each time on a machine of
two cores, and one falls inside almost every run: it was two thirds of a sync that found
nothing to do. :func:`freeze_startup` moves them to the collector's permanent generation
(:func:`gc.freeze`) once per process, at the first run; objects made later are collected
as usual. No collection runs first (it would cost the very pause this avoids): the little
cyclic garbage start-up left stays, as it would in a process that never collects.
"""

from __future__ import annotations

import functools
import gc


@functools.cache
def freeze_startup() -> None:
    """Freeze what the process holds now; the later calls of the process do nothing."""
    gc.freeze()
