"""The mapping file format, validated with pydantic.

```yaml
system: legacy_erp            # the source system this mapping reads
timezone: Asia/Shanghai       # naive source timestamps are local times here
code_tables:
  order_status: {E: entered, C: confirmed, S: shipped}
streams:
  orders:                     # a stream of the source (as crm-hub.yaml declares it)
    entity: orders            # the model stream it loads into
    fields:
      order_id: {from: HORD, transforms: [to_str]}
      status: {from: HSTAT, transforms: [{code: order_status}]}
      currency: {from: HCUR, transforms: [trim], default: CNY}
      customer_id: HCUST      # shorthand for {from: HCUST}
      phone: {todo: [TEL1, TEL2]}   # left to choose: an error until replaced
```

``{todo: [columns]}`` is what ``crm-hub init --from`` writes where it could not choose a
column: loading the file reports it, at its line, until it is replaced by ``from``/``value``.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from mappings.transforms import TRANSFORMS, Transform
from schemas.entities import ENTITIES
from schemas.strict import Strict
from schemas.yamlfile import Problem


class FieldMap(Strict):
    """How one model field is filled: from source column(s) or a constant, then transforms."""

    model_config = ConfigDict(populate_by_name=True)

    source: str | list[str] | None = Field(default=None, alias="from")
    value: Any = None
    transforms: list[str | dict[str, Any]] = []
    default: Any = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and "todo" in data:
            found = data["todo"]
            names = ", ".join(map(str, found)) if isinstance(found, list) else str(found or "")
            raise ValueError(
                f"TODO: choose a column (candidates: {names or 'none found'}) "
                "or a constant ({value: ...})"
            )
        return {"from": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _source_or_value(self) -> FieldMap:
        if (self.source is None) == (self.value is None):
            raise ValueError("give exactly one of 'from' (source column) or 'value' (constant)")
        return self

    @property
    def inputs(self) -> list[str]:
        """The source columns this field reads."""
        if self.source is None:
            return []
        return [self.source] if isinstance(self.source, str) else list(self.source)

    def steps(self) -> list[tuple[Transform, Any]]:
        """The transforms with their arguments (valid after ``check_mapping``)."""
        out = []
        for ref in self.transforms:
            name, arg = (ref, None) if isinstance(ref, str) else next(iter(ref.items()))
            out.append((TRANSFORMS[name], arg))
        return out


class StreamMap(Strict):
    """Which model stream a source stream loads into, field by field."""

    entity: str
    fields: dict[str, FieldMap] = Field(min_length=1)


class MappingFile(Strict):
    """A whole mapping file for one source system."""

    system: str
    version: int = 1
    timezone: str = "UTC"
    code_tables: dict[str, dict[str, Any]] = {}
    streams: dict[str, StreamMap] = Field(min_length=1)

    @field_validator("code_tables")
    @classmethod
    def _keys_as_text(cls, value: dict[str, dict[Any, Any]]) -> dict[str, dict[str, Any]]:
        return {name: {str(k): v for k, v in table.items()} for name, table in value.items()}


def check_mapping(mapping: MappingFile) -> list[Problem]:
    """Cross-reference checks: entities, model fields, transform names, args, code tables."""
    problems: list[Problem] = []
    try:
        ZoneInfo(mapping.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            (["timezone"], f"unknown time zone {mapping.timezone!r} (use an IANA name)")
        )
    for stream_name, stream in mapping.streams.items():
        here = ["streams", stream_name]
        entity = ENTITIES.get(stream.entity)
        if entity is None:
            problems.append(
                (
                    [*here, "entity"],
                    f"unknown entity {stream.entity!r}; known: {', '.join(ENTITIES)}",
                )
            )
            continue
        for field_name, fmap in stream.fields.items():
            at = [*here, "fields", field_name]
            if field_name not in entity.fields:
                problems.append(
                    (
                        at,
                        f"{stream.entity} has no field {field_name!r}; known: "
                        f"{', '.join(entity.fields)}",
                    )
                )
            problems.extend(_check_transforms(fmap, at, mapping))
        missing = [f for f in entity.required if f not in stream.fields]
        if missing:
            problems.append(
                (
                    [*here, "fields"],
                    f"required field(s) of {stream.entity} not mapped: {', '.join(missing)}",
                )
            )
    return problems


def _check_transforms(fmap: FieldMap, at: list[str], mapping: MappingFile) -> list[Problem]:
    problems: list[Problem] = []
    width = len(fmap.inputs) or 1
    for i, ref in enumerate(fmap.transforms):
        loc: list[int | str] = [*at, "transforms", i]
        if isinstance(ref, dict) and len(ref) != 1:
            problems.append((loc, "a transform is a name or {name: argument}"))
            continue
        name, arg = (ref, None) if isinstance(ref, str) else next(iter(ref.items()))
        spec = TRANSFORMS.get(name)
        if spec is None:
            problems.append((loc, f"unknown transform {name!r}; known: {', '.join(TRANSFORMS)}"))
            continue
        if spec.inputs != width:
            problems.append((loc, f"{name} takes {spec.inputs} input column(s), gets {width}"))
        width = 1
        if arg is None and spec.needs_arg:
            problems.append((loc, f"{name} needs an argument: {{{name}: ...}}"))
        elif arg is not None and spec.arg is None:
            problems.append((loc, f"{name} takes no argument"))
        elif arg is not None and spec.arg is not None:
            try:
                TypeAdapter(spec.arg).validate_python(arg, strict=True)
            except ValidationError:
                problems.append((loc, f"{name} takes a {spec.arg.__name__}, not {arg!r}"))
        if name == "code" and isinstance(arg, str) and arg not in mapping.code_tables:
            problems.append((loc, f"no code table {arg!r} in code_tables"))
    if len(fmap.inputs) > 1 and not fmap.transforms:
        problems.append((at, "several source columns need a transform that combines them"))
    return problems
