"""``crm-hub init --from``: read a source's catalogue, propose streams and a mapping, write
both files. The command (``crm_core.cli.commands.init``) only prints what this returns."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from crm_core.discovery.catalogue import DB2_BACKENDS, Table, read_sqlalchemy
from crm_core.discovery.guess import Proposal, propose_all
from crm_core.discovery.write import SourceInfo, config_text, mapping_text
from schemas.errors import ConfigError
from schemas.settings import NAME, absolutize_sqlite, redact_url


@dataclass
class Written:
    """What ``init --from`` wrote and proposed."""

    config: Path
    mapping: Path
    source: SourceInfo
    proposed: list[Proposal]
    left_out: list[Proposal]


def source_name(location: str, given: str | None) -> str:
    """The source's name: ``--source``, else the database's (or document's) name, else erp."""
    if given:
        if not re.match(NAME, given):
            raise ConfigError(f"--source {given!r} must match {NAME} (letters, digits, _)")
        return given
    try:
        stem = make_url(location).database or ""
    except ArgumentError:
        stem = location
    stem = re.sub(r"[^a-z0-9_]+", "_", Path(stem.split("?")[0]).stem.lower()).strip("_")
    return stem if re.match(NAME, stem) else "erp"


def read_source(location: str, name: str, schema: str | None) -> tuple[SourceInfo, list[Table]]:
    """The source as the config will declare it, and its tables."""
    from crm_core.discovery import openapi

    env = f"{name.upper()}_URL"
    if openapi.is_openapi(location):
        doc = openapi.load_document(location)
        info = SourceInfo(name, "rest", url=openapi.base_url(doc))
        return info, openapi.read_openapi(doc)
    try:
        url = make_url(location)
    except ArgumentError:
        raise ConfigError(
            f"--from {location!r} is neither a database URL, an odbc:// URL, nor an "
            "OpenAPI document (a file, or an http(s) URL ending .json/.yaml)"
        ) from None
    full = absolutize_sqlite(location, Path.cwd())
    masked = shlex.quote(redact_url(full))
    if url.drivername == "odbc":
        from crm_core.discovery.odbc import read_odbc

        info = SourceInfo(name, "odbc", url_env=env, masked_url=masked, schema=schema)
        return info, read_odbc(full, schema)
    kind = "db2" if url.get_backend_name() in DB2_BACKENDS else "sql"
    info = SourceInfo(name, kind, url_env=env, masked_url=masked, schema=schema)
    return info, read_sqlalchemy(full, schema)


def init_from(
    location: str,
    config: Path,
    name: str | None = None,
    schema: str | None = None,
    force: bool = False,
) -> Written:
    """Read the source at ``location``, propose, and write the config and mapping files."""
    name = source_name(location, name)
    mapping = config.parent / "mappings" / f"{name}.yaml"
    existing = [str(p) for p in (config, mapping) if p.exists()]
    if existing and not force:
        raise ConfigError(f"{' and '.join(existing)} exist(s) already; use --force to overwrite")
    info, tables = read_source(location, name, schema)
    proposed, left = propose_all(tables)
    if not proposed:
        seen = ", ".join(f"{p.table.name} ({p.entity.name} {p.confidence:.2f})" for p in left)
        raise ConfigError(
            f"no table of {len(tables)} looks like a model entity; best guesses: {seen or 'none'}"
        )
    mapping.parent.mkdir(parents=True, exist_ok=True)
    rel = mapping.relative_to(config.parent).as_posix()
    config.write_text(config_text(info, proposed, rel), encoding="utf-8")
    mapping.write_text(mapping_text(info, proposed), encoding="utf-8")
    return Written(config, mapping, info, proposed, left)
