"""The base every connector builds on, and the registry that finds connectors.

Connectors are found through the entry-point group ``crm_hub.connectors`` (name = the
``kind`` in crm-hub.yaml, value = the class), so a third-party package can add one by
declaring an entry point; no change to the hub is needed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from schemas.errors import ConfigError
from schemas.settings import SourceConfig
from schemas.source import Position, Source, StreamSpec
from schemas.yamlfile import Problem

if TYPE_CHECKING:
    import polars as pl

GROUP = "crm_hub.connectors"
BUILTIN = {
    "sql": "connectors.sql:SqlConnector",
    "db2": "connectors.db2:Db2Connector",
    "odbc": "connectors.odbc:OdbcConnector",
    "rest": "connectors.rest:RestConnector",
}


class Options(BaseModel):
    """A connector's source ``options``: unknown keys are errors. A connector declares its
    own subclass as ``options_model``; values it checks itself may be typed ``Any``."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseConnector:
    """Streams from the source's config, and the name; subclasses add ``read`` and ``check``."""

    kind: ClassVar[str] = ""
    #: The source options this connector reads (None: it does not say, nothing is checked).
    options_model: ClassVar[type[BaseModel] | None] = None

    @classmethod
    def option_problems(cls, options: Mapping[str, Any]) -> list[Problem]:
        """What is wrong with a source's ``options`` for this connector, each as a key path
        (``options``, key...) and a reason; an unknown key names the known ones."""
        model = cls.options_model
        if model is None:
            return []
        try:
            model.model_validate(dict(options))
        except ValidationError as exc:
            known = ", ".join(sorted(model.model_fields))
            return [
                (
                    ["options", *err["loc"]],
                    f"unknown option (known: {known})"
                    if err["type"] == "extra_forbidden"
                    else err["msg"].removeprefix("Value error, "),
                )
                for err in exc.errors(include_url=False)
            ]
        return []

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


def _load(kind: str, loader: object) -> type[Source]:
    try:
        return loader()  # type: ignore[operator,no-any-return]
    except ImportError as exc:
        raise ConfigError(
            f"connector kind {kind!r} needs a package that is not installed ({exc.name or exc}); "
            f"install it with: pip install 'crm-hub[{kind}]'"
        ) from None


def source_option_problems(config: SourceConfig) -> list[Problem]:
    """What is wrong with a source's ``options`` for its connector kind (nothing when the
    connector declares no ``options_model``); raises ConfigError for an unknown kind."""
    check = getattr(connector_class(config.kind), "option_problems", None)
    return list(check(config.options)) if check is not None else []


def option_lines(problems: list[Problem]) -> list[str]:
    """Problems as ``options.key: reason`` lines, for a connector's ConfigError."""
    return [".".join(str(p) for p in loc) + f": {reason}" for loc, reason in problems]


def open_source(name: str, config: SourceConfig, base_dir: Path | None = None) -> Source:
    """Instantiate the connector declared for a source."""
    cls = connector_class(config.kind)
    return cls(name, config, base_dir)  # type: ignore[call-arg]
