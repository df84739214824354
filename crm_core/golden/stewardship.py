"""Stewards' overrides: merge two golden customers, unmerge a source record, pin a field.

Each action takes effect at once (links moved, golden records rebuilt), is recorded with
who and when, can be undone, and binds later automatic runs: merges and unmerges are
replayed on their clusters (:mod:`crm_core.golden.constraints`), pins win survivorship.
A pinned value must be what the golden field holds (a country is two capital letters); no
text given to an action may hold a control character (a note may hold line breaks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, Engine, select, update

from crm_core.access.actors import who
from crm_core.golden.constraints import ACTIONS, MERGE, PIN, UNMERGE, UNPIN, Action
from crm_core.golden.ids import IdSequence
from crm_core.golden.records import mark_merged, rebuild
from crm_core.golden.store_io import active_pins, read_goldens, surviving_id
from crm_core.store.tables import golden_stewardship, source_links
from schemas.errors import HubError, InvalidInput
from schemas.model import Address, Customer
from schemas.reconcile import GOLDEN_FIELDS, Survivorship
from schemas.text import control_character

#: A source record as stored in an action: [source, stream, key].
Ref = list[str]


def in_force(conn: Connection, kinds: Iterable[str] = ACTIONS) -> list[Action]:
    """The actions of ``kinds`` not undone, oldest first."""
    stmt = (
        select(golden_stewardship)
        .where(
            golden_stewardship.c.action.in_(tuple(kinds)),
            golden_stewardship.c.undone_at.is_(None),
        )
        .order_by(golden_stewardship.c.id)
    )
    return [Action(r.id, r.action, r.golden_id, r.args) for r in conn.execute(stmt)]


def merge(
    store: Engine,
    into: str,
    other: str,
    rules: Survivorship,
    *,
    by: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Merge golden customer ``other`` into ``into`` (``into`` keeps its id). Either may be
    a golden id or a source record (``source:stream:key`` or ``source:key``)."""
    _check_text(into=into, other=other, by=by, note=note)
    now = datetime.now(UTC)
    with store.begin() as conn:
        keep, gone = golden_of(conn, into), golden_of(conn, other)
        if keep == gone:
            raise HubError(f"{into} and {other} are the same golden customer {keep}")
        moved = records_of(conn, gone)
        action = _record(
            conn,
            MERGE,
            keep,
            {
                "into": keep,
                "merged": gone,
                "records_into": records_of(conn, keep),
                "records": moved,
            },
            by,
            note,
            now,
        )
        _move(conn, gone, keep, "manual:merge", now)
        mark_merged(conn, {gone: keep}, now)
        rebuild(conn, [keep], rules, run_id=None, now=now)
    return action


def unmerge(
    store: Engine,
    golden_id: str,
    record: str,
    rules: Survivorship,
    *,
    by: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Take source ``record`` out of golden customer ``golden_id`` into a new golden
    customer of its own; automatic runs never merge it back."""
    _check_text(golden_id=golden_id, record=record, by=by, note=note)
    now = datetime.now(UTC)
    with store.begin() as conn:
        golden = golden_of(conn, golden_id)
        ref = find_record(conn, record)
        members = records_of(conn, golden)
        if ref not in members:
            raise HubError(f"{':'.join(ref)} is not a record of golden customer {golden}")
        if len(members) == 1:
            raise HubError(f"{':'.join(ref)} is the only record of {golden}: nothing to unmerge")
        new_id = next(IdSequence(read_goldens(conn)))
        apart = [m for m in members if m != ref]
        action = _record(
            conn,
            UNMERGE,
            golden,
            {"from": golden, "record": ref, "new_golden": new_id, "apart_from": apart},
            by,
            note,
            now,
        )
        _relink(conn, [ref], new_id, "manual:unmerge", now)
        rebuild(conn, [golden, new_id], rules, run_id=None, now=now)
    return action


def pin(
    store: Engine,
    golden_id: str,
    field: str,
    value: str,
    rules: Survivorship,
    *,
    by: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Make ``field`` of a golden customer keep ``value``, whatever its sources say
    (``InvalidInput`` if the field cannot hold it)."""
    _check_field(field)
    _check_text(golden_id=golden_id, by=by, note=note)
    _check_pin(field, value)
    now = datetime.now(UTC)
    with store.begin() as conn:
        golden = golden_of(conn, golden_id)
        action = _record(conn, PIN, golden, {"field": field, "value": value}, by, note, now)
        rebuild(conn, [golden], rules, run_id=None, now=now)
    return action


def unpin(
    store: Engine,
    golden_id: str,
    field: str,
    rules: Survivorship,
    *,
    by: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Let survivorship choose ``field`` of a golden customer again."""
    _check_field(field)
    _check_text(golden_id=golden_id, by=by, note=note)
    now = datetime.now(UTC)
    with store.begin() as conn:
        golden = golden_of(conn, golden_id)
        if (golden, field) not in active_pins(conn):
            raise HubError(f"{field} of {golden} is not pinned")
        action = _record(conn, UNPIN, golden, {"field": field}, by, note, now)
        rebuild(conn, [golden], rules, run_id=None, now=now)
    return action


def undo(
    store: Engine, action_id: int, rules: Survivorship, *, by: str | None = None
) -> dict[str, Any]:
    """Undo a steward's action: a merge is split again, an unmerged record goes back, a
    pin or unpin is withdrawn. The action stays on record, marked undone."""
    _check_text(by=by)
    now = datetime.now(UTC)
    with store.begin() as conn:
        row = conn.execute(
            select(golden_stewardship).where(golden_stewardship.c.id == action_id)
        ).first()
        if row is None:
            raise HubError(f"no stewardship action {action_id} (see `crm-hub stewardship list`)")
        if row.undone_at is not None:
            raise HubError(f"action {action_id} was already undone by {row.undone_by}")
        goldens = read_goldens(conn)
        touched: list[str] = [surviving_id(goldens, row.golden_id)]
        if row.action == MERGE:
            keep, gone = surviving_id(goldens, row.args["into"]), row.args["merged"]
            back = [r for r in row.args["records"] if r in records_of(conn, keep)]
            mark_merged(conn, {gone: None}, now)
            _relink(conn, back, gone, "manual:undo", now)
            touched.append(gone)
        elif row.action == UNMERGE:
            alone = surviving_id(goldens, row.args["new_golden"])
            home = surviving_id(goldens, row.args["from"])
            if alone != home:
                _move(conn, alone, home, "manual:undo", now)
                mark_merged(conn, {alone: home}, now)
        conn.execute(
            update(golden_stewardship)
            .where(golden_stewardship.c.id == action_id)
            .values(undone_at=now, undone_by=who(by))
        )
        rebuild(conn, touched, rules, run_id=None, now=now)
        done = conn.execute(
            select(golden_stewardship).where(golden_stewardship.c.id == action_id)
        ).one()
    return dict(done._mapping)


def list_actions(
    store: Engine, golden_id: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Steward's actions, newest first (those on ``golden_id`` only, if given)."""
    stmt = select(golden_stewardship).order_by(golden_stewardship.c.id.desc()).limit(limit)
    if golden_id:
        stmt = stmt.where(golden_stewardship.c.golden_id == golden_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def golden_of(conn: Connection, text: str) -> str:
    """The standing golden id meant by ``text``: a golden id (followed through merges) or
    a source record."""
    goldens = read_goldens(conn)
    if text in goldens:
        return surviving_id(goldens, text)
    if ":" in text:
        source, _stream, key = find_record(conn, text)
        linked = conn.execute(
            select(source_links.c.golden_id).where(
                source_links.c.source == source, source_links.c.source_key == key
            )
        ).scalar_one()
        return surviving_id(goldens, linked)
    raise HubError(f"no golden customer {text} (run `crm-hub reconcile` first?)")


def find_record(conn: Connection, text: str) -> Ref:
    """[source, stream, key] of a linked source record named ``source:stream:key`` or
    ``source:key``."""
    parts = text.split(":")
    tries: list[tuple[str, str | None, str]] = []
    if len(parts) >= 3:
        tries.append((parts[0], parts[1], ":".join(parts[2:])))
    if len(parts) >= 2:
        tries.append((parts[0], None, ":".join(parts[1:])))
    for source, stream, key in tries:
        stmt = select(
            source_links.c.source, source_links.c.stream, source_links.c.source_key
        ).where(source_links.c.source == source, source_links.c.source_key == key)
        if stream is not None:
            stmt = stmt.where(source_links.c.stream == stream)
        found = conn.execute(stmt).all()
        if len(found) == 1:
            return list(found[0])
        if len(found) > 1:
            raise HubError(f"{text} is ambiguous: give source:stream:key")
    raise HubError(
        f"no linked source record {text}: give source:stream:key or source:key "
        "(see `crm-hub golden show`)"
    )


def records_of(conn: Connection, golden_id: str) -> list[Ref]:
    """The source records linked to a golden customer, as [source, stream, key]."""
    stmt = (
        select(source_links.c.source, source_links.c.stream, source_links.c.source_key)
        .where(source_links.c.golden_id == golden_id)
        .order_by(source_links.c.source, source_links.c.source_key)
    )
    return [list(r) for r in conn.execute(stmt)]


def _check_field(field: str) -> None:
    if field not in GOLDEN_FIELDS:
        raise HubError(f"no golden field {field!r}: one of {', '.join(GOLDEN_FIELDS)}")


def _check_text(**given: str | None) -> None:
    """``InvalidInput`` naming the first of ``given`` that holds a control character (a
    ``note`` may hold tabs and line breaks)."""
    for name, value in given.items():
        problem = control_character(value, free_text=name == "note") if value else None
        if problem:
            raise InvalidInput(f"{name}: the value {problem}", name)


@cache
def _golden_type(field: str) -> TypeAdapter[Any]:
    model = Customer if field in Customer.model_fields else Address
    annotation = model.model_fields[field].annotation
    assert annotation is not None  # every model field is annotated
    return TypeAdapter(annotation)


def _check_pin(field: str, value: str) -> None:
    """``InvalidInput`` unless golden ``field`` can hold ``value`` (one line of text; a
    kind or a country as the model has them)."""
    problem = control_character(value)
    if problem is None and not value.strip():
        problem = "is empty"
    if problem is None:
        try:
            _golden_type(field).validate_python(value)
        except ValidationError as exc:
            problem = f"{value!r} is not valid: " + "; ".join(e["msg"] for e in exc.errors())
    if problem:
        raise InvalidInput(f"{field}: the value {problem}", field)


def _record(
    conn: Connection,
    action: str,
    golden_id: str,
    args: dict[str, Any],
    by: str | None,
    note: str | None,
    now: datetime,
) -> dict[str, Any]:
    values = {
        "action": action,
        "golden_id": golden_id,
        "args": args,
        "who": who(by),
        "at": now,
        "note": note,
    }
    result = conn.execute(golden_stewardship.insert().values(**values))
    key = result.inserted_primary_key
    assert key is not None  # an INSERT into a table with a primary key
    return {"id": int(key[0]), **values}


def _move(conn: Connection, gone: str, keep: str, rule: str, now: datetime) -> None:
    conn.execute(
        update(source_links)
        .where(source_links.c.golden_id == gone)
        .values(golden_id=keep, rule=rule, linked_at=now)
    )


def _relink(
    conn: Connection, refs: Sequence[Ref], golden_id: str, rule: str, now: datetime
) -> None:
    for source, stream, key in refs:
        conn.execute(
            update(source_links)
            .where(
                source_links.c.source == source,
                source_links.c.stream == stream,
                source_links.c.source_key == key,
            )
            .values(golden_id=golden_id, rule=rule, linked_at=now)
        )
