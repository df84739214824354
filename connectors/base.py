"""The base every connector builds on, and the registry that finds connectors.

Connectors are found through the entry-point group ``crm_hub.connectors`` (name = the
``kind`` in crm-hub.yaml, value = the class), so a third-party package can add one by
declaring an entry point; no change to the hub is needed. The hub's own kinds are declared
there too (pyproject.toml), and in :data:`BUILTIN`, which is where a source of one of them
finds its class: reading every installed distribution's metadata for the entry points costs
~10 ms, in every process that syncs (a run that finds 10,000 rows to load takes ~0.3 s). So
the hub's own kind names are the hub's; a package adds kinds, it does not replace these.
What a kind can do is said by its class (:class:`BaseConnector`'s class attributes), never
by lists of kind names elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from schemas.errors import ConfigError
from schemas.settings import SourceConfig
from schemas.source import Position, Source, StreamSpec, pick_stream
from schemas.yamlfile import Problem

if TYPE_CHECKING:
    import polars as pl

GROUP = "crm_hub.connectors"
#: Rows read to tell a stream's columns and their types where no catalogue says them.
SAMPLE_ROWS = 20
#: The hub's own kinds: found without looking up entry points (see the module docstring),
#: and the only ones when no entry point of the group is installed.
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

    #: the ``kind`` of crm-hub.yaml (the entry point's name)
    kind: ClassVar[str] = ""
    #: whether a source of this kind needs ``url``, ``url_env`` or ``airflow_conn_id``
    url_required: ClassVar[bool] = False
    #: whether push-back stamps the records it writes with their change time (the
    #: ``updated_at`` field's column), so the next incremental pull reads the change back
    stamps_writes: ClassVar[bool] = False
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
        if self.url_required and not (config.url or config.url_env or config.airflow_conn_id):
            raise ConfigError(
                f"source {name!r}: give url (without password), url_env or airflow_conn_id"
            )
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
        """One enabled stream by name, or a ConfigError naming the known ones."""
        spec = self._streams.get(name)
        return spec if spec is not None else pick_stream(self.name, self.streams(), name)

    def read(self, stream: str, since: Position | None, batch_size: int) -> Iterator[pl.DataFrame]:
        """Yield batches after ``since``; subclasses implement it."""
        raise NotImplementedError

    def prepare(self, stream: str) -> None:
        """Start getting ready to read ``stream`` in the background (nothing by default;
        see :class:`~schemas.source.ConnectsAhead`)."""

    def read_keys(
        self, stream: str, columns: Sequence[str], batch_size: int
    ) -> Iterator[pl.DataFrame]:
        """Every row's ``columns`` (its key, and what makes the model key), in batches, for
        a detect pass of deletes. By default a whole read keeping only those columns;
        connectors that can ask for the columns alone (SQL, ODBC) do."""
        for batch in self.read(stream, None, batch_size):
            yield batch.select([c for c in columns if c in batch.columns])

    def check(self) -> None:
        """Connect and touch every stream; subclasses implement it."""
        raise NotImplementedError

    def column_types(self, stream: str) -> dict[str, str] | None:
        """The columns a read of ``stream`` gives, each with the source's name of its type
        ("" when unknown), for ``crm-hub check`` to hold the mapping against; None when the
        source cannot tell them (nothing to read). By default from the first batch of a
        full read; connectors that can ask their catalogue do so."""
        batches = iter(self.read(stream, None, SAMPLE_ROWS))
        try:
            first = next(batches, None)
        finally:
            close = getattr(batches, "close", None)
            if close is not None:
                close()  # a generator's cursor or connection is released now
        return None if first is None else frame_types(first)

    def close(self) -> None:
        """Release connections (nothing by default)."""

    def __enter__(self) -> BaseConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@cache
def _registry() -> dict[str, str | EntryPoint]:
    """Connector kinds by name: the group's entry points, looked up once per process
    (reading every installed distribution's metadata costs ~10 ms); the built-in kinds only
    when no entry point of the group is installed (a source tree without its package)."""
    found: dict[str, str | EntryPoint] = {ep.name: ep for ep in entry_points(group=GROUP)}
    return found or dict(BUILTIN)


def available_kinds() -> dict[str, str]:
    """Connector kinds and where they come from (``module:Class``)."""
    return {k: v if isinstance(v, str) else str(v.value) for k, v in _registry().items()}


def connector_class(kind: str) -> type[Source]:
    """The connector class for a kind, loaded lazily so heavy drivers load only when used."""
    found = BUILTIN.get(kind) or _registry().get(kind)
    if found is None:
        known = ", ".join(sorted(available_kinds()))
        raise ConfigError(f"unknown connector kind {kind!r} (installed: {known})")
    if isinstance(found, str):
        module, _, attr = found.partition(":")
        return _load(kind, lambda: getattr(__import__(module, fromlist=[attr]), attr))
    # an entry point: importlib.metadata's, or importlib_metadata's once something (Celery's
    # worker) has imported that backport, which then answers entry_points() for both
    return _load(kind, found.load)


def stamps_writes(kind: str) -> bool:
    """Whether push-back stamps what it writes to a source of this kind with the change
    time (see :attr:`BaseConnector.stamps_writes`)."""
    return bool(getattr(connector_class(kind), "stamps_writes", False))


def _load(kind: str, loader: Callable[[], Any]) -> type[Source]:
    try:
        return loader()
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


def frame_types(frame: pl.DataFrame) -> dict[str, str]:
    """A frame's columns with their polars type names ("" for a column of nulls only)."""
    import polars as pl

    return {name: "" if dtype == pl.Null else str(dtype) for name, dtype in frame.schema.items()}


def option_lines(problems: list[Problem]) -> list[str]:
    """Problems as ``options.key: reason`` lines, for a connector's ConfigError."""
    return [".".join(str(p) for p in loc) + f": {reason}" for loc, reason in problems]


def open_source(name: str, config: SourceConfig, base_dir: Path | None = None) -> Source:
    """Instantiate the connector declared for a source."""
    cls = connector_class(config.kind)
    # a protocol states no constructor; each connector's is BaseConnector's (name, config, base_dir)
    return cls(name, config, base_dir)  # type: ignore[call-arg]
