"""The REST connector's settings: what a source's and a stream's ``options`` may say.

A stream is declared in YAML, not in Python::

    sources:
      shop_api:
        kind: rest
        url: https://erp.example.com/api/v1      # no secrets here
        options:
          auth: {type: bearer, token_env: SHOP_API_TOKEN}
          timeout: {connect: 5, read: 30}
          retries: {attempts: 5, backoff: 0.5, max_retry_after: 120}
        streams:
          orders:
            primary_key: [id]
            cursor: [updated_at]
            options:
              path: /orders
              records_path: data
              params: {sort: updated_at}
              pagination: {style: cursor, cursor_path: meta.next_cursor, page_size: 200}
              incremental: {param: updated_since}
          customers:
            primary_key: [id]
            cursor: [updated_at]
            options:
              path: /customers                    # push-back: GET/PATCH /customers/{id},
              write_path: /customers/{id}         # POST /customers (write_path optional)

Every problem in these options is reported at once, each with its key path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator

from schemas.errors import ConfigError
from schemas.strict import FrozenStrict

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Scalar = str | int | float | bool


# -- authentication -------------------------------------------------------------------
class NoAuth(FrozenStrict):
    """An open API."""

    type: Literal["none"] = "none"


class BearerAuth(FrozenStrict):
    """A static bearer token, read from the environment variable ``token_env``."""

    type: Literal["bearer"]
    token_env: EnvName


class ApiKeyAuth(FrozenStrict):
    """An API key sent in a header, read from the environment variable ``key_env``."""

    type: Literal["api_key"]
    header: str = "X-API-Key"
    key_env: EnvName


class ClientCredentials(FrozenStrict):
    """OAuth2 client credentials: a token is fetched, cached and fetched again on expiry.

    ``token_url`` may be relative to the source's URL. The client id may sit in the file
    (``client_id``) or in the environment (``client_id_env``); the secret is always in the
    environment. ``leeway`` renews a token that many seconds before it expires.
    """

    type: Literal["oauth2_client_credentials"]
    token_url: str
    client_id: str | None = None
    client_id_env: EnvName | None = None
    client_secret_env: EnvName
    scope: str | None = None
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    leeway: float = Field(default=30.0, ge=0)


Auth = Annotated[NoAuth | BearerAuth | ApiKeyAuth | ClientCredentials, Field(discriminator="type")]


class Timeouts(FrozenStrict):
    """Seconds to wait for a connection and for each read of the answer."""

    connect: float = Field(default=5.0, gt=0)
    read: float = Field(default=30.0, gt=0)


class Retries(FrozenStrict):
    """Retries of one request on connection errors, timeouts, 5xx and 429.

    The wait before retry n is ``backoff * 2**(n-1)`` seconds (none before the first),
    plus up to ``jitter`` random seconds, at most ``backoff_max``; a 429 or 503 with
    ``Retry-After`` waits what the server says, at most ``max_retry_after``.
    ``page_attempts`` is how often a page whose body broke off or is not JSON is fetched.
    """

    attempts: int = Field(default=5, ge=0, le=20)
    backoff: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    jitter: float = Field(default=0.5, ge=0)
    max_retry_after: float = Field(default=120.0, ge=0)
    page_attempts: int = Field(default=3, ge=1, le=20)


class SourceOptions(FrozenStrict):
    """A REST source's ``options``."""

    auth: Auth = NoAuth()
    timeout: Timeouts = Timeouts()
    retries: Retries = Retries()
    headers: dict[str, str] = {}
    verify: bool | str = True


# -- pagination -----------------------------------------------------------------------
class NoPages(FrozenStrict):
    """One request returns everything."""

    style: Literal["none"] = "none"


class NextLink(FrozenStrict):
    """The body holds the next page's URL at ``next_path`` (absent or null at the end)."""

    style: Literal["next_link"]
    next_path: str = "links.next"
    size_param: str | None = None
    page_size: int = Field(default=100, gt=0)


class LinkHeader(FrozenStrict):
    """The ``Link: <url>; rel="next"`` header holds the next page's URL."""

    style: Literal["link_header"]
    size_param: str | None = None
    page_size: int = Field(default=100, gt=0)


class PageNumber(FrozenStrict):
    """Numbered pages: ``?page=1&per_page=100``, until an empty page or ``total_path``."""

    style: Literal["page"]
    page_param: str = "page"
    size_param: str = "per_page"
    page_size: int = Field(default=100, gt=0)
    first_page: int = 1
    total_path: str | None = None


class Offset(FrozenStrict):
    """Offset and limit: ``?offset=0&limit=100``, until an empty page or ``total_path``."""

    style: Literal["offset"]
    offset_param: str = "offset"
    size_param: str = "limit"
    page_size: int = Field(default=100, gt=0)
    total_path: str | None = None


class CursorToken(FrozenStrict):
    """An opaque token for the next page at ``cursor_path``, sent back as ``cursor_param``."""

    style: Literal["cursor"]
    cursor_param: str = "cursor"
    cursor_path: str = "meta.next_cursor"
    size_param: str | None = "limit"
    page_size: int = Field(default=100, gt=0)


Pagination = Annotated[
    NoPages | NextLink | LinkHeader | PageNumber | Offset | CursorToken,
    Field(discriminator="style"),
]


class Incremental(FrozenStrict):
    """How an incremental read asks for changes since the saved position.

    The first cursor value of the position goes into the query parameter ``param`` as
    ``format`` (``iso``, ``epoch``, ``epoch_ms`` or a strftime pattern), made earlier by
    ``lookback_seconds``. The filter must be inclusive (``>=``); for an API whose filter
    is exclusive, set a lookback of at least the cursor's resolution. Rows at or before
    the position that come back anyway are dropped by the connector.
    """

    param: str = "updated_since"
    format: str = "iso"
    lookback_seconds: float = Field(default=0.0, ge=0)


class StreamOptions(FrozenStrict):
    """A REST stream's ``options``.

    ``sorted``: the API returns rows in cursor + key order (with the ``params`` given).
    Then batches are handed on as pages arrive; otherwise the whole read is gathered and
    sorted first (memory grows with the changes read). ``columns`` lists fields that every
    batch has, null where the API leaves them out. Nested objects become columns with
    dotted names (``address.city``).

    ``write_path`` is where push-back reads and changes one record: a path with the key
    fields in braces (``/order-lines/{order_id}/{line_no}``); by default ``path`` + ``/`` +
    the key's value, for a one-field key. New records are POSTed to ``path``.
    """

    path: str
    write_path: str | None = None
    records_path: str = "data"
    params: dict[str, Scalar] = {}
    pagination: Pagination = NoPages()
    incremental: Incremental = Incremental()
    cursor_type: Literal["datetime", "date", "int", "str"] = "datetime"
    cursor_timezone: str = "UTC"
    sorted: bool = True
    columns: list[str] = []

    @field_validator("cursor_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


SQL_KEYS = ("table", "schema", "query")


def _problems(exc: ValidationError, prefix: str) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        out.append(
            f"{prefix}{'.' + loc if loc else ''}: {err['msg'].removeprefix('Value error, ')}"
        )
    return out


def parse_options(
    source: str, raw_source: dict[str, Any], raw_streams: dict[str, dict[str, Any]]
) -> tuple[SourceOptions, dict[str, StreamOptions]]:
    """Validate a source's and its streams' options; one ConfigError lists every problem."""
    problems: list[str] = []
    source_options = SourceOptions()
    try:
        source_options = SourceOptions.model_validate(raw_source)
    except ValidationError as exc:
        problems += _problems(exc, "options")
    streams: dict[str, StreamOptions] = {}
    for name, raw in raw_streams.items():
        where = f"streams.{name}.options"
        sql = [k for k in SQL_KEYS if raw.get(k)]
        if sql:
            problems.append(f"streams.{name}: a REST stream has options.path, not {sql[0]}")
        try:
            streams[name] = StreamOptions.model_validate(
                {k: v for k, v in raw.items() if k not in SQL_KEYS}
            )
        except ValidationError as exc:
            problems += _problems(exc, where)
    if problems:
        raise ConfigError(f"source {source!r} has {len(problems)} problem(s):", problems)
    return source_options, streams
