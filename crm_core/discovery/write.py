"""Writing what discovery proposes: ``crm-hub.yaml`` and the source's mapping file.

The config starts with the starter config's head (``crm_core.cli.starter``); the mapping has
every field of each proposed entity either mapped or left as ``{todo: [candidates]}``
(``mappings.spec`` reports those until they are chosen). Optional fields without any
candidate column are written as comments, to be filled in or left out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from crm_core.cli.starter import STARTER_HEAD
from crm_core.discovery.guess import FieldGuess, Proposal


@dataclass(frozen=True)
class SourceInfo:
    """The source the files declare: name, connector kind, how it is reached."""

    name: str
    kind: str
    url_env: str | None = None
    url: str | None = None  # only a URL without a secret (REST base URLs)
    masked_url: str = ""
    schema: str | None = None
    options: Mapping[str, Any] | None = None


def flow(value: Any) -> str:
    """A value as one line of YAML (quoted where YAML needs it)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10**6)
    return text.removesuffix("\n...\n").strip()


def stream_names(proposals: list[Proposal]) -> list[str]:
    """A unique stream name per proposal: the table's name in lower case, letters and ``_``."""
    names: list[str] = []
    for p in proposals:
        base = re.sub(r"[^a-z0-9_]+", "_", p.table.name.lower()).strip("_") or p.entity.name
        name, n = base, 2
        while name in names:
            name, n = f"{base}_{n}", n + 1
        names.append(name)
    return names


def config_text(source: SourceInfo, proposals: list[Proposal], mapping_rel: str) -> str:
    """The whole ``crm-hub.yaml``: the starter head, then the discovered source."""
    out = [STARTER_HEAD, "sources:", f"  {source.name}:", f"    kind: {source.kind}"]
    if source.url_env:
        out.append(f"    url_env: {source.url_env}   # export {source.url_env}={source.masked_url}")
    if source.url:
        out.append(f"    url: {flow(source.url)}")
    out.append(f"    mapping: {flow(mapping_rel)}")
    if source.options:
        out.append(f"    options: {flow(dict(source.options))}")
    out.append("    streams:")
    for name, p in zip(stream_names(proposals), proposals, strict=True):
        out += [
            f"      # {p.table.name} -> {p.entity.name} (confidence {p.confidence:.2f})",
            f"      {name}:",
        ]
        if p.table.options:
            out.append(f"        options: {flow(dict(p.table.options))}")
        else:
            out.append(f"        table: {flow(p.table.name)}")
            if p.table.schema and source.schema:
                out.append(f"        schema: {flow(p.table.schema)}")
        key_note = (
            "" if p.key_origin == "primary key" else f"   # {p.key_origin}: check it is unique"
        )
        out.append(f"        primary_key: {flow(p.primary_key)}{key_note}")
        others = [c for c in p.cursor_candidates if c != p.cursor]
        if p.cursor:
            note = f"   # other candidates: {flow(others)}" if others else ""
            out.append(f"        cursor: {flow(p.cursor)}{note}")
        else:
            hint = f" (candidates: {flow(others)})" if others else ""
            out.append(f"        # no change stamp found{hint}: read in full every run")
    return "\n".join(out) + "\n"


def _field_line(g: FieldGuess) -> str:
    if g.columns is not None:
        source = g.columns[0] if len(g.columns) == 1 else list(g.columns)
        others = [c for c in g.candidates if c != "+".join(g.columns)]
        note = f"   # or: {', '.join(others)}" if others else ""
        return f"      {g.name}: {flow({'from': source, 'transforms': g.transforms})}{note}"
    what = "required" if g.spec.required else "optional"
    if g.spec.choices:
        what += f"; one of {' | '.join(g.spec.choices)} (a code table maps source codes)"
    if not g.candidates and not g.spec.required:
        return f"      # {g.name}: {{from: ...}}   # TODO: {what}; no candidate column found"
    found = f"candidates {', '.join(g.candidates)}" if g.candidates else "no candidate column"
    todo = {"todo": [c.split("+")[0] if "+" not in c else c.split("+") for c in g.candidates]}
    return f"      {g.name}: {flow(todo)}   # TODO: {what}; {found}"


def mapping_text(source: SourceInfo, proposals: list[Proposal]) -> str:
    """The mapping file: every field of every proposed stream, mapped or a TODO."""
    out = [
        f"# Mapping of {source.name}, proposed by `crm-hub init --from`. Each {{todo: [...]}}",
        "# is an error until it says {from: column, transforms: [...]} or {value: constant};",
        "# `crm-hub check` lists them. The transforms are listed in README.md, 'Mappings'.",
        f"system: {flow(source.name)}",
        "version: 1",
        "timezone: UTC   # the zone of the source's naive timestamps: set the ERP's own",
        "",
        "streams:",
    ]
    for name, p in zip(stream_names(proposals), proposals, strict=True):
        out += [f"  {name}:", f"    entity: {p.entity.name}", "    fields:"]
        out += [_field_line(g) for g in p.fields]
        out.append("")
    return "\n".join(out)
