"""Data contracts: what every batch of a model stream must satisfy before it is loaded.

A contract is a YAML file per model stream under ``schemas/contracts/``, versioned with the
model. Its ``expectations`` are great-expectations 1.x expectations by their snake-case
name (``expect_column_values_to_not_be_null``) with their keyword arguments, so anyone who
knows GX reads them as they are. Two values are filled in when a run starts: ``{today:
N}`` (today plus N days, for "not in the future beyond a tolerance") and ``{now: N}``
(the current time plus N days). ``references`` are checks across streams that GX cannot
run on one batch: a value must exist as a key of another stream of the same source.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from schemas.entities import ENTITIES
from schemas.errors import ConfigError
from schemas.strict import Strict
from schemas.yamlfile import Problem, load_model

CONTRACTS_DIR = Path(str(files("schemas").joinpath("contracts")))
_EXPECTATION = re.compile(r"^expect_[a-z0-9_]+$")


class Reference(Strict):
    """A value of this stream that must be a key of another stream of the same source."""

    column: str
    entity: str
    field: str


class Contract(Strict):
    """The expectations and references of one model stream."""

    entity: str
    version: int = Field(ge=1)
    expectations: list[dict[str, dict[str, Any]]] = []
    references: list[Reference] = []

    @field_validator("entity")
    @classmethod
    def _known_entity(cls, value: str) -> str:
        if value not in ENTITIES:
            raise ValueError(f"unknown entity {value!r} (known: {', '.join(ENTITIES)})")
        return value

    @field_validator("expectations")
    @classmethod
    def _one_expectation_each(cls, value: list[dict[str, dict[str, Any]]]) -> Any:
        for item in value:
            if len(item) != 1:
                raise ValueError("each expectation is one 'expect_...: {kwargs}' entry")
            (name,) = item
            if not _EXPECTATION.match(name):
                raise ValueError(f"{name!r} is not a great-expectations expectation name")
        return value

    def expectation_list(self) -> list[tuple[str, dict[str, Any]]]:
        """The expectations as (name, kwargs) pairs, in file order."""
        return [next(iter(item.items())) for item in self.expectations]


def _problems(path: Path) -> Any:
    """Checks that need the whole file: its entity, and the fields it names."""

    def check(contract: Contract) -> list[Problem]:
        if contract.entity != path.stem:
            return [(["entity"], f"the file {path.name} must describe entity {path.stem!r}")]
        fields = ENTITIES[contract.entity].fields
        found: list[Problem] = []
        for i, (name, kwargs) in enumerate(contract.expectation_list()):
            named = [("column", kwargs.get("column"))]
            named += [("column_list", c) for c in kwargs.get("column_list", [])]
            for key, column in named:
                if column is not None and column not in fields:
                    found.append(
                        (
                            ["expectations", i, name, key],
                            f"{contract.entity} has no field {column!r}",
                        )
                    )
        for i, ref in enumerate(contract.references):
            if ref.column not in fields:
                found.append((["references", i, "column"], f"no field {ref.column!r}"))
            if ref.entity not in ENTITIES or ref.field not in ENTITIES[ref.entity].fields:
                found.append((["references", i, "field"], f"no field {ref.entity}.{ref.field}"))
        return found

    return check


def contract_path(entity: str, folder: Path | None = None) -> Path:
    """Where the contract of ``entity`` lives (the packaged contracts by default)."""
    return (folder or CONTRACTS_DIR) / f"{entity}.yaml"


def load_contract(entity: str, folder: Path | None = None) -> Contract | None:
    """The contract of ``entity``, or None if there is none."""
    path = contract_path(entity, folder)
    if not path.exists():
        return None
    return load_model(path, Contract, ConfigError, "contract", _problems(path))
