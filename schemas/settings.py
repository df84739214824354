"""The hub's configuration file (``crm-hub.yaml``) as pydantic models.

Secrets never live in the file: a connection URL that needs a password is named by the
environment variable that holds it (``url_env``). Relative paths (mapping files, SQLite
databases) are resolved against the folder of the config file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from schemas import airflow_env
from schemas.api_settings import ApiConfig
from schemas.campaign_settings import CampaignSettings
from schemas.deletes_settings import (  # noqa: F401 - the settings' names for deletes
    DEFAULT_MAX_DELETE_SHARE,
    DeletedSince,
    DeletesConfig,
    DetectDeletes,
)
from schemas.errors import ConfigError
from schemas.pushback import CRM, PushBackConfig
from schemas.reconcile import ReconcileConfig
from schemas.schedule import Schedule
from schemas.secrets import mask_secrets, secret_names_in, secrets_in_options
from schemas.strict import Strict
from schemas.yamlfile import load_model

NAME = r"^[a-z][a-z0-9_]{0,62}$"
DEFAULT_CONFIG = "crm-hub.yaml"
STORE_URL_ENV = "CRM_HUB_DATABASE_URL"


def _check_url(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            "not a database URL (expected e.g. postgresql+psycopg://host/db)"
        ) from None
    if parsed.password:
        raise ValueError(
            "a password does not belong in the config file: put the URL in an environment "
            "variable and name that variable with url_env"
        )
    secrets = secret_names_in(url)
    if secrets:
        raise ValueError(
            f"a secret ({', '.join(secrets)}) does not belong in the config file, not even in "
            "the query string: put the URL in an environment variable and name that "
            "variable with url_env"
        )
    return url


class Timeouts(Strict):
    """Bounded waits on a connection, in seconds (see :mod:`connectors.timeouts`)."""

    #: establishing the connection, login included
    connect: float = Field(default=10, gt=0, le=3600)
    #: waiting for the server's next bytes (or batch) before the connection counts as lost
    read: float = Field(default=300, gt=0, le=86400)
    #: one statement on the server (default: none; a full read is one long statement)
    statement: float | None = Field(default=None, gt=0, le=86400)


class Connection(Strict):
    """Where something is: a URL without secrets, the environment variable holding one, or
    an Airflow connection id (read from ``AIRFLOW_CONN_<ID>``, see ``schemas.airflow_env``)."""

    url: str | None = None
    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    airflow_conn_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    #: bounded waits on the connection: ``{connect: 10, read: 300, statement: ...}``
    timeouts: Timeouts = Timeouts()

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, value: str | None) -> str | None:
        return _check_url(value)

    def resolve_url(self, base_dir: Path, what: str) -> str:
        """The URL to connect with; relative SQLite paths are taken from ``base_dir``."""
        if self.url_env:
            url = os.environ.get(self.url_env)
            if not url:
                raise ConfigError(f"{what}: environment variable {self.url_env} is not set")
        elif self.airflow_conn_id:
            url = airflow_env.connection_url(self.airflow_conn_id, what)
        elif self.url:
            url = self.url
        else:
            raise ConfigError(f"{what}: neither url nor url_env is given")
        return absolutize_sqlite(url, base_dir)


def absolutize_sqlite(url: str, base_dir: Path) -> str:
    """Make a relative SQLite file URL absolute against ``base_dir``."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"not a database URL: {redact_url(url)}") from None
    db = parsed.database
    if (
        parsed.get_backend_name() == "sqlite"
        and db
        and db != ":memory:"
        and not Path(db).is_absolute()
    ):
        return parsed.set(database=str((base_dir / db).resolve())).render_as_string(
            hide_password=False
        )
    return url


def redact_url(url: str) -> str:
    """The URL with any password masked (``user:pw@`` and secrets in its query string),
    for logs and errors."""
    try:
        return mask_secrets(make_url(url).render_as_string(hide_password=True))
    except ArgumentError:
        return mask_secrets(url)


def no_secret_in_options(options: dict[str, Any]) -> dict[str, Any]:
    places = secrets_in_options(options)
    if places:
        raise ValueError(
            f"a secret does not belong in the config file ({', '.join(places)}): name the "
            "environment variable that holds it (url_env, or the connector's *_env option)"
        )
    return options


class StreamConfig(Strict):
    """One stream of a source: where its rows are and how to read them incrementally."""

    table: str | None = None
    db_schema: str | None = Field(default=None, alias="schema")
    query: str | None = None
    primary_key: list[str] = Field(min_length=1)
    cursor: list[str] = []
    batch_size: int | None = Field(default=None, gt=0, le=1_000_000)
    enabled: bool = True
    options: dict[str, Any] = {}
    #: how the stream's deletes are known (see DeletesConfig); default none
    deletes: DeletesConfig = DeletesConfig()

    @model_validator(mode="after")
    def _one_of_table_or_query(self) -> StreamConfig:
        if self.table and self.query:
            raise ValueError("give either table or query, not both")
        listed = self.deletes.deleted_since
        if listed is not None and listed.key and len(listed.key) != len(self.primary_key):
            raise ValueError(
                f"deletes.deleted_since.key names {len(listed.key)} field(s) "
                f"({', '.join(listed.key)}) for the primary key's {len(self.primary_key)} "
                f"({', '.join(self.primary_key)}): one per primary-key field, in its order"
            )
        return self

    @field_validator("options")
    @classmethod
    def _no_secret_in_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return no_secret_in_options(value)


class SourceConfig(Connection):
    """A back-office system: its connector kind, connection, mapping, schedule and streams.

    What a kind needs (a URL, say) its connector checks when the source is opened
    (``connectors.base``): this layer knows no connector."""

    kind: str = "sql"
    mapping: Path
    #: what people call the system (the page shows it instead of the source's name),
    #: and per language (``zh-CN: 旧版ERP``) where it differs
    display_name: str | None = Field(default=None, min_length=1, max_length=80)
    display_names: dict[str, Annotated[str, Field(min_length=1, max_length=80)]] = {}
    schedule: Schedule = "@hourly"
    batch_size: int | None = Field(default=None, gt=0, le=1_000_000)
    max_connections: int = Field(default=2, gt=0, le=64)
    options: dict[str, Any] = {}
    streams: dict[str, StreamConfig] = Field(min_length=1)

    @field_validator("options")
    @classmethod
    def _no_secret_in_options(cls, value: dict[str, Any]) -> dict[str, Any]:
        return no_secret_in_options(value)

    @field_validator("mapping")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        base = (info.context or {}).get("base_dir")
        return value if value.is_absolute() or base is None else (Path(base) / value).resolve()


#: Rows per batch unless the config says otherwise. Each batch is one store transaction
#: (its rows, its position, the run's counts), so fewer, larger batches cost less per row:
#: a full sync of 1,000,000 order lines PostgreSQL to PostgreSQL took 16-20% less time at
#: 50,000 than at 10,000, for about 100 MB more peak memory (docs/benchmarks.md).
DEFAULT_BATCH_SIZE = 50_000


class Defaults(Strict):
    """Values a source or stream takes unless it says otherwise."""

    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, gt=0, le=1_000_000)
    schedule: Schedule = "@hourly"
    quarantine_threshold: float = Field(default=0.5, ge=0, le=1)
    #: check every batch against its stream's contract (schemas/contracts) before loading
    contracts: bool = True
    #: ``auto``: expectations the hub evaluates in polars run there, others in GX;
    #: ``great_expectations``: every contract runs in GX (slower: see crm_core.pull.contracts)
    contracts_engine: Literal["auto", "great_expectations"] = "auto"


class StoreConfig(Connection):
    """The hub's own database. ``CRM_HUB_DATABASE_URL`` overrides what the file says."""

    url: str | None = "sqlite:///crm-hub.db"
    #: connections a large batch is written over on PostgreSQL, each taking the rows of
    #: its share of the keys at the same time (1: the batch's own connection only)
    load_connections: int = Field(default=2, ge=1, le=8)


class HubConfig(Strict):
    """The whole ``crm-hub.yaml``."""

    store: StoreConfig = StoreConfig()
    defaults: Defaults = Defaults()
    sources: dict[str, SourceConfig] = {}
    #: a folder of contract files that replace the packaged ones (relative to this file)
    contracts_dir: Path | None = None
    #: identity resolution and golden records; or the name of a YAML file holding them
    reconcile: ReconcileConfig = ReconcileConfig()
    #: CRM-side changes: field ownership, routing and retries (see schemas.pushback)
    push_back: PushBackConfig = PushBackConfig()
    #: what the HTTP API and the customer page show to whom (see schemas.api_settings)
    api: ApiConfig = ApiConfig()
    #: attribution of orders to marketing campaigns (see schemas.campaign_settings)
    campaigns: CampaignSettings = CampaignSettings()
    path: Path | None = Field(default=None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _source_names(cls, value: dict[str, SourceConfig]) -> dict[str, SourceConfig]:
        bad = [name for name in value if not re.match(NAME, name)]
        if bad:
            raise ValueError(f"source names must match {NAME} (letters, digits, _): {bad}")
        return value

    @model_validator(mode="after")
    def _push_back_systems(self) -> HubConfig:
        known = set(self.sources) | {CRM}
        for entity, rules in self.push_back.ownership.items():
            named = [(f"{entity}.{f}", r.owner) for f, r in rules.fields.items()]
            named += [(f"{entity}.{f}", t) for f, r in rules.fields.items() for t in r.targets]
            named += [(f"{entity} create_in", s) for s in rules.create_in]
            bad = [f"{where}: {system}" for where, system in named if system not in known]
            if bad:
                raise ValueError(
                    f"push_back names systems that are not sources ({', '.join(sorted(known))})"
                    f": {'; '.join(bad)}"
                )
        return self

    @field_validator("reconcile", mode="before")
    @classmethod
    def _reconcile_file(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        base = Path((info.context or {}).get("base_dir") or Path.cwd())
        file = Path(value) if Path(value).is_absolute() else base / value
        return load_model(file, ReconcileConfig, ConfigError, "reconcile file")

    @property
    def base_dir(self) -> Path:
        """The folder relative paths are taken from."""
        return self.path.parent if self.path else Path.cwd()

    def store_url(self) -> str:
        """The store's URL: ``$CRM_HUB_DATABASE_URL``, else the file's ``store``."""
        env = os.environ.get(STORE_URL_ENV)
        if env:
            return absolutize_sqlite(env, self.base_dir)
        return self.store.resolve_url(self.base_dir, "store")

    def environment_problems(self, sources: Iterable[str] | None = None) -> list[str]:
        """What the environment lacks for the store and ``sources`` (default: all): every
        ``url_env`` not set, every Airflow connection not found, reported together."""
        wanted: list[tuple[str, Connection]] = []
        if not os.environ.get(STORE_URL_ENV):
            wanted.append(("store", self.store))
        names = self.sources if sources is None else sources
        wanted += [(f"source {name!r}", self.source(name)) for name in names]
        problems = []
        for what, conn in wanted:
            if conn.url_env or conn.airflow_conn_id:
                try:
                    conn.resolve_url(self.base_dir, what)
                except ConfigError as exc:
                    problems.append(str(exc))
        return problems

    def source(self, name: str) -> SourceConfig:
        """One source by name, or a ConfigError that lists the known ones."""
        try:
            return self.sources[name]
        except KeyError:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"no source named {name!r} in {self.path} (known: {known})") from None

    def schedule_of(self, name: str) -> str:
        """A source's schedule: its own, else the file's default one."""
        src = self.source(name)
        return src.schedule if "schedule" in src.model_fields_set else self.defaults.schedule

    def contracts_folder(self) -> Path | None:
        """The folder of the contracts to use (None: the packaged ones)."""
        if self.contracts_dir is None:
            return None
        return (
            self.contracts_dir
            if self.contracts_dir.is_absolute()
            else self.base_dir / self.contracts_dir
        )

    def batch_size(self, source: str, stream: str) -> int:
        """The batch size for one stream: stream, then source, then defaults."""
        src = self.source(source)
        return src.streams[stream].batch_size or src.batch_size or self.defaults.batch_size


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, else ``$CRM_HUB_CONFIG``, else ``./crm-hub.yaml``."""
    return Path(explicit or os.environ.get("CRM_HUB_CONFIG") or DEFAULT_CONFIG)


def load_config(path: str | os.PathLike[str] | None = None) -> HubConfig:
    """Load and validate the config file, reporting every problem at once."""
    file = config_path(path).resolve()
    config = load_model(file, HubConfig, ConfigError, "config file", empty_ok=False)
    config.path = file
    return config
