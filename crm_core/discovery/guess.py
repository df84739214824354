"""Guessing which model entity a table holds, its key, its cursor, and each field's column.

Every guess is scored from the names in ``hints.yaml`` and the column types; a field is
mapped only when its best column scores at least ``MAP_AT``, otherwise it is left as a TODO
listing the candidates, for the user to choose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_core.discovery.catalogue import Column, Kind, Table
from crm_core.discovery.names import best_match, hints, split_suffix
from schemas.entities import ENTITIES, Entity, FieldSpec

#: a table is proposed for its best entity from this confidence on
PROPOSE_AT = 0.5
#: a field is mapped to its best column from this score on; below, it is a TODO
MAP_AT = 0.5
#: columns scoring less are not even listed as candidates
CANDIDATE_AT = 0.25
#: how well a column kind suits a field kind (missing pairs: 0.3)
FIT: dict[str, dict[Kind, float]] = {
    "str": {"char": 1, "text": 1, "int": 0.8, "decimal": 0.5},
    "int": {"int": 1, "decimal": 0.7, "char": 0.6, "text": 0.6},
    "decimal": {"decimal": 1, "float": 0.9, "int": 0.7, "char": 0.3, "text": 0.3},
    "date": {"date": 1, "datetime": 0.8, "int": 0.7, "char": 0.5, "text": 0.5},
    "datetime": {"datetime": 1, "date": 0.6, "text": 0.4, "char": 0.4},
    "bool": {"bool": 1, "char": 0.8, "int": 0.6, "text": 0.5},
}


@dataclass
class FieldGuess:
    """One model field: the column(s) chosen with their transforms, or None and candidates."""

    name: str
    spec: FieldSpec
    columns: tuple[str, ...] | None = None
    transforms: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class Proposal:
    """One table proposed as a stream of one entity."""

    table: Table
    entity: Entity
    confidence: float
    primary_key: list[str]
    key_origin: str  # "primary key", "unique index" or "guessed"
    cursor: list[str]
    cursor_candidates: list[list[str]]
    fields: list[FieldGuess]

    @property
    def todo(self) -> int:
        """Fields left to choose (written ``{todo: [...]}``): required ones, or with candidates."""
        return sum(
            1 for f in self.fields if f.columns is None and (f.spec.required or f.candidates)
        )

    @property
    def left_out(self) -> int:
        """Optional fields without any candidate column (written as comments)."""
        return sum(1 for f in self.fields if f.columns is None) - self.todo


def cursor_candidates(table: Table) -> list[tuple[float, tuple[str, ...]]]:
    """Timestamps and date+time change-stamp pairs, the likeliest change stamp first."""
    words = hints()["cursor"]
    found: list[tuple[float, tuple[str, ...]]] = []
    for col in table.columns:
        if col.kind == "datetime":
            found.append((0.5 + 0.5 * best_match(col.name, words), (col.name,)))
    for date_col in table.columns:
        stem = split_suffix(date_col.name, hints()["date_suffix"])
        if stem is None or date_col.kind not in ("int", "decimal", "char", "text"):
            continue
        for time_col in table.columns:
            if (
                time_col is not date_col
                and split_suffix(time_col.name, hints()["time_suffix"]) == stem
                and time_col.kind in ("int", "decimal", "char", "text")
            ):
                found.append((0.4 + 0.6 * best_match(stem, words), (date_col.name, time_col.name)))
    return sorted(found, key=lambda f: -f[0])


def transforms_for(spec: FieldSpec, cols: list[Column]) -> list[str]:
    """The transforms that turn the column(s) into the field's type."""
    col = cols[0]
    if len(cols) == 2:
        return ["cyyddd_hhmmss" if col.length == 7 else "yyyymmdd_hhmmss"]
    if spec.kind == "str":
        steps = ["trim"] if col.kind in ("char", "text") else ["to_str"]
        if spec.name in ("currency", "country"):
            steps.append("upper")
        elif spec.name == "email":
            steps.append("lower")
        return steps
    if spec.kind == "date" and col.kind in ("int", "decimal"):
        return ["cyyddd" if col.length == 7 else "yyyymmdd"]
    return [spec.kind]


def _field_candidates(
    spec: FieldSpec, table: Table, entity: Entity, cursors: list[tuple[float, tuple[str, ...]]]
) -> list[tuple[float, tuple[str, ...]]]:
    names = hints()["entities"][entity.name]["fields"].get(spec.name, [])
    found: list[tuple[float, tuple[str, ...]]] = []
    for col in table.columns:
        score = best_match(col.name, names) if names else 0.0
        keyed = spec.name in entity.key and len(table.primary_key) == len(entity.key)
        if keyed and table.primary_key[entity.key.index(spec.name)] == col.name:
            score = max(score, 0.75)
        score *= FIT[spec.kind].get(col.kind, 0.3)
        if spec.kind == "date" and col.kind in ("int", "decimal") and not score:
            continue
        if score >= CANDIDATE_AT:
            found.append((score, (col.name,)))
    if spec.name == "updated_at":
        found += [(min(0.95, s + 0.2), cols) for s, cols in cursors[:1] if s >= 0.6]
    return sorted(found, key=lambda f: -f[0])


def propose(table: Table, entity: Entity) -> Proposal:
    """The best mapping of a table onto an entity, with its confidence."""
    cursors = cursor_candidates(table)
    scored = {s.name: _field_candidates(s, table, entity, cursors) for s in entity.fields.values()}
    guesses = {name: FieldGuess(name, spec) for name, spec in entity.fields.items()}
    used: set[str] = set()
    ranked = sorted(
        ((score, name, cols) for name, found in scored.items() for score, cols in found),
        key=lambda r: -r[0],
    )
    for score, name, cols in ranked:
        guess = guesses[name]
        if guess.columns is not None or score < MAP_AT or used & set(cols):
            continue
        if guess.spec.choices:
            guess.note = f"map its codes to {' | '.join(guess.spec.choices)} with a code table"
            continue
        guess.columns = cols
        guess.transforms = transforms_for(guess.spec, [table.column(c) for c in cols])
        used |= set(cols)
    for name, guess in guesses.items():
        guess.candidates = list(dict.fromkeys("+".join(c) for _, c in scored[name]))[:5]
    best = {name: found[0][0] if found else 0.0 for name, found in scored.items()}
    key_weight = {f: 2.0 if f in entity.key else 1.0 for f in entity.required}
    required = sum(key_weight[f] * best[f] for f in key_weight) / sum(key_weight.values())
    optional = [f for f in entity.fields if f not in key_weight]
    extra = sum(1 for f in optional if best[f] >= MAP_AT) / max(1, len(optional))
    table_names = hints()["entities"][entity.name]["tables"]
    confidence = min(1.0, 0.3 * best_match(table.name, table_names) + 0.7 * required + 0.1 * extra)
    key, origin = _primary_key(table, entity, guesses)
    cursor = list(cursors[0][1]) if cursors and cursors[0][0] >= 0.6 else []
    return Proposal(
        table=table,
        entity=entity,
        confidence=round(confidence, 2),
        primary_key=key,
        key_origin=origin,
        cursor=cursor,
        cursor_candidates=[list(c) for _, c in cursors],
        fields=list(guesses.values()),
    )


def _primary_key(
    table: Table, entity: Entity, guesses: dict[str, FieldGuess]
) -> tuple[list[str], str]:
    if table.primary_key:
        return list(table.primary_key), "primary key"
    if table.unique_keys:
        shortest: list[str] = sorted(table.unique_keys, key=len)[0]
        return list(shortest), "unique index"
    mapped = [guesses[k].columns for k in entity.key]
    if all(c is not None and len(c) == 1 for c in mapped):
        return [c[0] for c in mapped if c], "guessed"
    return [table.columns[0].name], "guessed"


def propose_all(tables: list[Table]) -> tuple[list[Proposal], list[Proposal]]:
    """Each table's best entity: those proposed, and the best guesses left out."""
    entities = [ENTITIES[name] for name in hints()["entities"]]
    proposed: list[Proposal] = []
    left: list[Proposal] = []
    for table in tables:
        if not table.columns:
            continue
        best = max((propose(table, e) for e in entities), key=lambda p: p.confidence)
        (proposed if best.confidence >= PROPOSE_AT else left).append(best)
    return proposed, left
