"""Push-back settings: who owns which field, where CRM-side changes go, how hard to retry.

A field's ``owner`` is the system of record for it: ``crm`` or the name of a source. The
CRM side may change a field it owns (``crm`` owner) or one it may ``request`` a change of
(a credit limit, a concession: the owner books it); every other field is refused when the
change is submitted, not queued. A change is written to the field's ``targets`` (for a
field the CRM owns, the back-office systems that keep a copy; by default the owner).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from schemas.entities import ENTITIES
from schemas.push_states import (  # noqa: F401 - re-exported (defined apart, no pydantic)
    CHANGE_STATES,
    FINISHED_DELIVERIES,
    UNFINISHED_CHANGES,
    UNWRITTEN_DELIVERIES,
    WRITTEN_DELIVERIES,
    ConflictState,
    PushState,
)
from schemas.schedule import Schedule
from schemas.strict import Strict

CRM = "crm"
ConflictPolicy = Literal["owner_wins", "newest_wins", "manual"]


class FieldOwnership(Strict):
    """Who owns one field, whether the CRM side may change it, and where changes go."""

    owner: str
    #: ``edit``: the CRM changes it (it must own it); ``request``: the CRM asks the owner to
    #: book a change; ``read``: the CRM may not change it
    crm: Literal["edit", "request", "read"] | None = None
    targets: list[str] = []
    #: what happens when the target changed the value since the hub last read it
    on_conflict: ConflictPolicy = "manual"

    @model_validator(mode="after")
    def _consistent(self) -> FieldOwnership:
        if self.crm is None:
            self.crm = "edit" if self.owner == CRM else "read"
        if self.crm == "edit" and self.owner != CRM:
            raise ValueError(
                f"the CRM cannot edit a field {self.owner} owns: say crm: request (the owner "
                "books the change) or make crm the owner"
            )
        if self.owner == CRM and self.crm != "read" and not self.targets:
            raise ValueError("a field the CRM owns needs targets: the systems that keep a copy")
        if not self.targets and self.owner != CRM:
            self.targets = [self.owner]
        return self

    @property
    def crm_may_change(self) -> bool:
        """Whether a change from the CRM side is accepted."""
        return self.crm in ("edit", "request")


class EntityOwnership(Strict):
    """Ownership of one model stream's fields; ``*`` stands for every field not listed."""

    fields: dict[str, FieldOwnership] = Field(min_length=1)
    #: systems a customer created on the CRM side is created in (customers only)
    create_in: list[str] = []

    def field(self, name: str) -> FieldOwnership | None:
        """The rule for one field (the ``*`` rule if it has none of its own)."""
        return self.fields.get(name) or self.fields.get("*")


class PushBackConfig(Strict):
    """The ``push_back`` section of crm-hub.yaml."""

    ownership: dict[str, EntityOwnership] = {}
    #: attempts per change and target before it goes to the dead letters
    max_attempts: int = Field(default=5, ge=1, le=100)
    #: seconds before the first retry; doubled each attempt (with jitter), up to max_backoff
    backoff_seconds: float = Field(default=30.0, ge=0)
    max_backoff_seconds: float = Field(default=3600.0, ge=0)
    #: changes delivered per push-back run at most
    batch_size: int = Field(default=1000, gt=0, le=1_000_000)
    #: when the push_back DAG runs (cron or preset): a change waits half of it on average
    schedule: Schedule = "*/5 * * * *"
    #: whether the hub stamps the record's change time (its cursor) when it writes to a
    #: database target, so the next incremental pull reads the change back
    stamp_writes: bool = True

    @model_validator(mode="after")
    def _known_fields(self) -> PushBackConfig:
        problems = []
        for entity, rules in self.ownership.items():
            if entity not in ENTITIES:
                problems.append(f"unknown model stream {entity!r} (known: {', '.join(ENTITIES)})")
                continue
            fields = ENTITIES[entity].fields
            problems += [
                f"{entity} has no field {name!r}"
                for name in rules.fields
                if name != "*" and name not in fields
            ]
            if rules.create_in and entity != "customers":
                problems.append(f"{entity}: create_in applies to customers only")
        if problems:
            raise ValueError("push_back.ownership: " + "; ".join(problems))
        return self

    def rule(self, entity: str, field: str) -> FieldOwnership | None:
        """The ownership rule of ``entity.field`` (None: nobody declared it)."""
        rules = self.ownership.get(entity)
        return rules.field(field) if rules else None
