"""The base every connector builds on, and the registry that finds connectors.

Connectors are found through the entry-point group ``crm_hub.connectors`` (name = the
``kind`` in crm-hub.yaml, value = the class), so a third-party package can add one by
declaring an entry point; no change to the hub is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from schemas.errors import ConfigError
from schemas.settings import SourceConfig
from schemas.source import Position, Source, StreamSpec

if TYPE_CHECKING:
    import polars as pl

GROUP = "crm_hub.connectors"
BUILTIN = {
    "sql": "connectors.sql:SqlConnector",
    "db2": "connectors.db2:Db2Connector",
    "odbc": "connectors.odbc:OdbcConnector",
    "rest": "connectors.rest:RestConnector",
}


class BaseConnector:
    """Streams from the source's config, and the name; subclasses add ``read`` and ``check``."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, config: SourceConfig, base_dir: Path | None = None) -> None:
        self.name = name
        self.config = config
        self.base_dir = base_dir or Path.cwd()
        self._streams = {
            sname: StreamSpec(
                name=sname,
                primary_key=tuple(s.primary_key),
                cursor=tuple(s.cursor),
                options={"table": s.table, "schema": s.db_schema, "query": s.query, **s.options},
            )
            for sname, s in config.streams.items()
            if s.enabled
        }

    def streams(self) -> list[StreamSpec]:
        """The enabled streams of this source."""
        return list(self._streams.values())

    def stream(self, name: str) -> StreamSpec:
        """One stream by name, or a ConfigError naming the known ones."""
        try:
            return self._streams[name]
        except KeyError:
            known = ", ".join(self._streams) or "none"
            raise ConfigError(
                f"source {self.name!r} has no enabled stream {name!r} (known: {known})"
            ) from None

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield batches after ``since``; subclasses implement it."""
        raise NotImplementedError

    def check(self) -> None:
        """Connect and touch every stream; subclasses implement it."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (nothing by default)."""

    def __enter__(self) -> BaseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@cache
def _entry_points() -> tuple[EntryPoint, ...]:
    """The group's entry points, looked up once per process (reading every installed
    distribution's metadata costs ~10 ms, on every run otherwise)."""
    return tuple(entry_points(group=GROUP))


def available_kinds() -> dict[str, str]:
    """Connector kinds and where they come from (entry points override nothing built in)."""
    kinds = dict(BUILTIN)
    for ep in _entry_points():
        kinds.setdefault(ep.name, ep.value)
    return kinds


def connector_class(kind: str) -> type[Source]:
    """The connector class for a kind, loaded lazily so heavy drivers load only when used.
    A built-in kind is imported directly (entry points override nothing built in), without
    reading every installed distribution's metadata for the entry points."""
    if kind in BUILTIN:
        module, _, attr = BUILTIN[kind].partition(":")
        return _load(kind, lambda: getattr(__import__(module, fromlist=[attr]), attr))
    for ep in _entry_points():
        if ep.name == kind:
            return _load(kind, ep.load)
    known = ", ".join(sorted(available_kinds()))
    raise ConfigError(f"unknown connector kind {kind!r} (installed: {known})")


def _load(kind: str, loader: Callable[[], Any]) -> type[Source]:
    try:
        return loader()
    except ImportError as exc:
        raise ConfigError(
            f"connector kind {kind!r} needs a package that is not installed ({exc.name or exc}); "
            f"install it with: pip install 'crm-hub[{kind}]'"
        ) from None


def open_source(name: str, config: SourceConfig, base_dir: Path | None = None) -> Source:
    """Instantiate the connector declared for a source."""
    cls = connector_class(config.kind)
    # a protocol states no constructor; each connector's is BaseConnector's (name, config, base_dir)
    return cls(name, config, base_dir)  # type: ignore[call-arg]
