"""The model streams: which record model each stream loads into and its natural key.

Everything else about a stream's storage (columns, types, upsert key) is derived from the
record model here, so the pydantic model stays the one place a field is declared.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from typing import Literal

from pydantic import AwareDatetime, BaseModel

from schemas import model

FieldKind = Literal["str", "int", "decimal", "date", "datetime", "bool"]


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record model as the store and the mappings see it."""

    name: str
    kind: FieldKind
    required: bool
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Entity:
    """A model stream: its name, record model and natural key (unique within a source)."""

    name: str
    model: type[BaseModel]
    key: tuple[str, ...]

    @cached_property
    def fields(self) -> dict[str, FieldSpec]:
        """The model's fields in declaration order."""
        return {
            name: _field_spec(name, info.annotation, info.is_required())
            for name, info in self.model.model_fields.items()
        }

    @property
    def required(self) -> list[str]:
        """Fields a mapping must fill: the key and every field without a default."""
        return [f.name for f in self.fields.values() if f.required or f.name in self.key]


def _field_spec(name: str, annotation: object, required: bool) -> FieldSpec:
    kind, choices = _kind_of(annotation)
    return FieldSpec(name=name, kind=kind, required=required, choices=choices)


def _kind_of(annotation: object) -> tuple[FieldKind, tuple[str, ...] | None]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _kind_of(inner[0])
    if origin is typing.Annotated:
        return _kind_of(typing.get_args(annotation)[0])
    if origin is Literal:
        return "str", tuple(str(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return "str", tuple(str(m.value) for m in annotation)
    simple: dict[object, FieldKind] = {
        str: "str",
        int: "int",
        Decimal: "decimal",
        bool: "bool",
        date: "date",
        datetime: "datetime",
        AwareDatetime: "datetime",
    }
    if annotation in simple:
        return simple[annotation], None
    raise TypeError(f"unsupported field type {annotation!r}")


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("customers", model.CustomerRecord, ("customer_id",)),
        Entity("contacts", model.Contact, ("contact_id",)),
        Entity("orders", model.Order, ("order_id",)),
        Entity("order_lines", model.OrderLine, ("order_id", "line_no")),
        Entity("inventory", model.InventoryItem, ("item_id", "warehouse")),
        Entity("credit", model.CreditProfile, ("customer_id",)),
        Entity("invoices", model.Invoice, ("invoice_id",)),
        Entity("payments", model.Payment, ("payment_id",)),
        Entity("concessions", model.Concession, ("concession_id",)),
        Entity("assets", model.Asset, ("asset_id",)),
        Entity("service_requests", model.ServiceRequest, ("request_id",)),
        Entity("service_surveys", model.ServiceSurvey, ("survey_id",)),
        Entity("campaigns", model.Campaign, ("campaign_id",)),
        Entity("campaign_touches", model.CampaignTouch, ("touch_id",)),
    )
}
