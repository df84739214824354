"""Where a change goes: the owners' systems, the stream there, and the records it touches."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from crm_core.pull import filecache
from crm_core.pushback.errors import ChangeRejected
from crm_core.store.tables import source_links
from mappings import compile_mapping, load_mapping
from mappings.compile import CompiledStream
from mappings.inverse import writable
from schemas.entities import ENTITIES
from schemas.errors import MappingError
from schemas.pushback import FieldOwnership
from schemas.settings import HubConfig


def target_stream(config: HubConfig, target: str, entity: str) -> CompiledStream:
    """The enabled stream of ``target`` that maps ``entity`` (``MappingError`` if none)."""
    cfg = config.source(target)
    path = cfg.mapping
    mapping = filecache.cached("mapping", path, lambda: compile_mapping(load_mapping(path)))
    for name, stream in mapping.streams.items():
        declared = cfg.streams.get(name)
        if stream.entity.name == entity and declared is not None and declared.enabled:
            return stream
    raise MappingError(
        f"source {target!r} has no enabled stream that maps {entity}, so changes to "
        f"{entity} cannot be written there"
    )


@dataclass(frozen=True)
class Route:
    """One target of a change: the system, its stream, and the fields it receives."""

    target: str
    stream: CompiledStream
    fields: tuple[str, ...]


def rules_for(config: HubConfig, entity: str, fields: list[str]) -> dict[str, FieldOwnership]:
    """The ownership rule of each field, or ``ChangeRejected`` for the first field the CRM
    side may not change."""
    rules = {}
    for field in fields:
        rule = config.push_back.rule(entity, field)
        if rule is None:
            raise ChangeRejected(
                f"{entity}.{field}: no system is declared its owner (push_back.ownership), "
                "so the CRM side may not change it",
                field,
            )
        if not rule.crm_may_change:
            raise ChangeRejected(
                f"{entity}.{field} is owned by {rule.owner}; the CRM side may not change it "
                f"(change it in {rule.owner})",
                field,
            )
        rules[field] = rule
    return rules


def routes(config: HubConfig, entity: str, rules: dict[str, FieldOwnership]) -> list[Route]:
    """The targets of a change to these fields, each with the fields it receives; every
    field must be writable through the target's mapping."""
    by_target: dict[str, list[str]] = {}
    for field, rule in rules.items():
        for target in rule.targets:
            by_target.setdefault(target, []).append(field)
    out = []
    for target, fields in by_target.items():
        stream = target_stream(config, target, entity)
        for field in fields:
            try:
                writable(stream, field)
            except MappingError as exc:
                raise ChangeRejected(f"{target}: {exc}", field) from None
        out.append(Route(target, stream, tuple(fields)))
    return out


def customer_keys(conn: Connection, golden_id: str, target: str) -> list[str]:
    """The customer records of ``target`` linked to a golden customer, oldest link first."""
    rows = conn.execute(
        select(source_links.c.source_key)
        .where(source_links.c.golden_id == golden_id, source_links.c.source == target)
        .order_by(source_links.c.linked_at, source_links.c.source_key)
    )
    return [r[0] for r in rows]


def key_field(entity: str) -> str:
    """The one key field of a model stream push-back writes to (customers, credit and
    concessions each have a single-field key)."""
    return ENTITIES[entity].key[0]
