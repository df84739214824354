"""An unseen test for identity resolution: Chinese customers in four systems (ERP, CRM,
finance, e-commerce shop), generated from a fixed seed by code that shares nothing with the
matcher it tests, with the truth kept beside the exports.

``write(folder)`` writes each system's export as it comes (its own headers, Chinese or
English), ``truth.csv`` (system, record_id, entity_id), and ``resolve/``: the same exports
with their columns renamed to the ERP's headers, as a user does before running one
``crm-hub resolve`` over files from several systems (it takes one name per role);
``RESOLVE_ARGS`` are the options that run uses. Do not change the generator to suit the
matcher: the seed and the variation were fixed before the first measurement.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

from bench.unseen_cjk.entities import Entity, build
from bench.unseen_cjk.systems import HEADERS, PRESENCE, ROLES, WRITERS, record_id

SEED = 20261204
DEFAULT_ENTITIES = 4_000
SYSTEMS = ("erp", "crm", "finance", "shop")

#: the headers of the renamed copies (the ERP's, and 国家 for the CRM's country)
COMMON = {**ROLES["erp"], "country": "国家"}
RESOLVE_ARGS: tuple[str, ...] = (
    "--id-column",
    COMMON["record_id"],
    *(
        arg
        for role, header in COMMON.items()
        if role != "record_id"
        for arg in ("--column", f"{role}={header}")
    ),
)


@dataclass(frozen=True)
class UnseenSet:
    """Where one generated set is."""

    exports: dict[str, Path]
    resolve_files: list[Path]
    truth: Path
    records: int
    entities: list[Entity]


def _systems_of(e: Entity, rng: random.Random) -> list[str]:
    k = rng.choices((2, 3, 4), (45, 35, 20))[0]
    weights = {s: PRESENCE[s][0 if e.kind == "company" else 1] for s in SYSTEMS}
    chosen: list[str] = []
    while len(chosen) < k:
        left = [s for s in SYSTEMS if s not in chosen and weights[s] > 0]
        chosen.append(rng.choices(left, [weights[s] for s in left])[0])
    return chosen


def generate(
    n: int = DEFAULT_ENTITIES, seed: int = SEED
) -> tuple[dict[str, list[dict[str, str]]], list[tuple[str, str, str]], list[Entity]]:
    """Rows per system (native headers), truth rows (system, record_id, entity_id), and the
    true entities."""
    rng = random.Random(seed)
    entities = build(n, rng)
    by_id = {e.entity_id: e for e in entities}
    placed: dict[str, list[tuple[dict[str, str], str]]] = {s: [] for s in SYSTEMS}
    for e in entities:
        parent = by_id.get(e.branch_of) if e.branch_of else None
        systems = _systems_of(e, rng)
        if rng.random() < 0.04:  # entered twice in one system
            systems.append(rng.choice(systems))
        for s in systems:
            placed[s].append((WRITERS[s](e, rng, parent), e.entity_id))
    rows: dict[str, list[dict[str, str]]] = {}
    truth: list[tuple[str, str, str]] = []
    for s in SYSTEMS:
        rng.shuffle(placed[s])
        rows[s] = []
        for n_, (row, eid) in enumerate(placed[s]):
            rid = record_id(s, n_, rng)
            rows[s].append({ROLES[s]["record_id"]: rid, **row})
            truth.append((s, rid, eid))
    return rows, truth, entities


def write(folder: Path, n: int = DEFAULT_ENTITIES, seed: int = SEED) -> UnseenSet:
    """Write the exports, the truth and the renamed copies for ``crm-hub resolve``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "resolve").mkdir(exist_ok=True)
    rows, truth, entities = generate(n, seed)
    exports, renamed = {}, []
    for s in SYSTEMS:
        exports[s] = folder / f"{s}.csv"
        _write_csv(exports[s], HEADERS[s], rows[s])
        back = {header: role for role, header in ROLES[s].items()}
        common_rows = [{COMMON[back[k]]: v for k, v in r.items() if k in back} for r in rows[s]]
        renamed.append(folder / "resolve" / f"{s}.csv")
        _write_csv(renamed[-1], tuple(COMMON.values()), common_rows)
    path = folder / "truth.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(("system", "record_id", "entity_id"))
        w.writerows(truth)
    return UnseenSet(exports, renamed, path, len(truth), entities)


def _write_csv(path: Path, header: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, restval="")
        w.writeheader()
        w.writerows(rows)
