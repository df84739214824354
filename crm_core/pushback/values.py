"""Model values of CRM-side changes: checked against the model's field types, kept as JSON."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from crm_core.pushback.errors import ChangeRejected, InvalidValue
from schemas.entities import ENTITIES
from schemas.exact_json import to_json
from schemas.text import control_character


@cache
def _adapter(entity: str, field: str) -> TypeAdapter[Any]:
    annotation = ENTITIES[entity].model.model_fields[field].annotation
    assert annotation is not None  # every field of an entity's model is annotated
    return TypeAdapter(annotation)


def typed(entity: str, field: str, value: Any) -> Any:
    """``value`` as the model's type for ``entity.field`` (text is parsed: dates, amounts),
    or ``ChangeRejected`` naming the field and the reason."""
    fields = ENTITIES[entity].model.model_fields
    if field not in fields:
        raise ChangeRejected(
            f"{entity} has no field {field!r} (fields: {', '.join(fields)})", field=field
        )
    try:
        checked = _adapter(entity, field).validate_python(value)
    except ValidationError as exc:
        reason = "; ".join(e["msg"] for e in exc.errors())
        raise ChangeRejected(f"{entity}.{field}: {value!r} is not valid: {reason}", field) from None
    return plain_text(entity, field, checked)


#: fields of free text, where tabs and line breaks are allowed (never another control
#: character); every other text field of a change holds one line
FREE_TEXT = frozenset({("concessions", "reason")})


def plain_text(entity: str, field: str, value: Any) -> Any:
    """``value`` unchanged, or ``InvalidValue`` naming ``entity.field`` if it is text with
    a control character (only :data:`FREE_TEXT` fields may hold tabs and line breaks).
    Every value of a change passes here before it is stored."""
    if isinstance(value, str):
        problem = control_character(value, free_text=(entity, field) in FREE_TEXT)
        if problem:
            raise InvalidValue(f"{entity}.{field}: the value {problem}", field)
    return value


def jsonable(value: Any) -> Any:
    """A model value as JSON: amounts as text (exact), dates and times in ISO 8601."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | datetime | date):
        return to_json(value)
    return value


def same(a: Any, b: Any) -> bool:
    """Whether two model values are the same value (blank text is no value; amounts compare
    by number, not by how many zeros they carry)."""
    if isinstance(a, str) and not a.strip():
        a = None
    if isinstance(b, str) and not b.strip():
        b = None
    if isinstance(a, Enum):
        a = a.value
    if isinstance(b, Enum):
        b = b.value
    if isinstance(a, Decimal | int | float) and isinstance(b, Decimal | int | float):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return False
    return bool(a == b)
