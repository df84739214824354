"""The mapping file format, validated with pydantic.

```yaml
system: legacy_erp            # the source system this mapping reads
timezone: Asia/Shanghai       # naive source timestamps are local times here
code_tables:
  order_status: {E: entered, C: confirmed, S: shipped}
crosswalks:                   # source codes -> the hub's canonical codes (mappings/codes.py)
  product_line: {BRG: BRG, Bearing: BRG}
  site: {SH1: SHA, WH/Stock: SHA}
streams:
  orders:                     # a stream of the source (as crm-hub.yaml declares it)
    entity: orders            # the model stream it loads into
    fields:
      order_id: {from: HORD, transforms: [to_str]}
      status: {from: HSTAT, transforms: [{code: order_status}]}
      currency: {from: HCUR, transforms: [trim], default: CNY}
      product_line: {from: LPLIN, transforms: [trim, {crosswalk: product_line}]}
      customer_id: HCUST      # shorthand for {from: HCUST}
      phone: {todo: [TEL1, TEL2]}   # left to choose: an error until replaced
```

``{todo: [columns]}`` is what ``crm-hub init --from`` writes where it could not choose a
column: loading the file reports it, at its line, until it is replaced by ``from``/``value``.

``{crosswalk: <list>}`` translates a source code to a canonical code of the code list
``<list>`` (``mappings/reference/codes.yaml``, or the file named by ``reference:``, relative
to the mapping file). A value that is already a canonical code passes; any other value
without an entry in ``crosswalks.<list>`` is kept as the source wrote it and flagged as
unmapped (``MappedBatch.unmapped``), never passed off as canonical.
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

from mappings.codes import CodeLists, load_code_lists
from mappings.transforms import TRANSFORMS, Transform
from schemas.entities import ENTITIES, FieldSpec
from schemas.errors import MappingError
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
    #: the canonical code list file (None: the hub's own, mappings/reference/codes.yaml)
    reference: str | None = None
    #: per code list: source code -> canonical code
    crosswalks: dict[str, dict[str, str]] = {}
    streams: dict[str, StreamMap] = Field(min_length=1)

    @field_validator("code_tables", "crosswalks")
    @classmethod
    def _keys_as_text(cls, value: dict[str, dict[Any, Any]]) -> dict[str, dict[str, Any]]:
        return {name: {str(k): v for k, v in table.items()} for name, table in value.items()}

    def code_lists(self) -> CodeLists:
        """The canonical code lists the crosswalks translate to."""
        return load_code_lists(self.reference)


def check_mapping(mapping: MappingFile) -> list[Problem]:
    """Cross-reference checks: entities, model fields, transform names, args, code tables."""
    problems: list[Problem] = []
    try:
        lists: CodeLists | None = mapping.code_lists()
    except MappingError as exc:
        problems.append((["reference"], str(exc)))
        lists = None
    if lists is not None:
        problems.extend(_check_crosswalks(mapping, lists))
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
            if lists is not None and field_name in entity.fields:
                problems.extend(_check_crosswalk_use(fmap, at, lists, entity.fields[field_name]))
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


def _check_crosswalks(mapping: MappingFile, lists: CodeLists) -> list[Problem]:
    """Every crosswalk names a code list and translates to canonical codes of it."""
    problems: list[Problem] = []
    for name, table in mapping.crosswalks.items():
        canonical = lists.codes(name)
        if not canonical:
            problems.append(
                (["crosswalks", name], f"no code list {name!r}; known: {', '.join(lists.lists)}")
            )
            continue
        for source_code, code in table.items():
            if code not in canonical:
                problems.append(
                    (
                        ["crosswalks", name, source_code],
                        f"{code!r} is not a code of list {name!r}; known: "
                        f"{', '.join(sorted(canonical))}",
                    )
                )
    return problems


def _check_crosswalk_use(
    fmap: FieldMap, at: list[str], lists: CodeLists, fspec: FieldSpec
) -> list[Problem]:
    """``{crosswalk: list}`` names a code list whose codes the field can hold."""
    problems: list[Problem] = []
    for i, ref in enumerate(fmap.transforms):
        if not (isinstance(ref, dict) and len(ref) == 1 and "crosswalk" in ref):
            continue
        name = ref["crosswalk"]
        if not isinstance(name, str):
            continue
        canonical = lists.codes(name)
        if not canonical:
            problems.append(
                (
                    [*at, "transforms", i],
                    f"no code list {name!r}; known: {', '.join(lists.lists)}",
                )
            )
        elif fspec.choices and not canonical <= set(fspec.choices):
            problems.append(
                (
                    [*at, "transforms", i],
                    f"code list {name!r} has codes the field cannot hold: "
                    f"{', '.join(sorted(canonical - set(fspec.choices)))}",
                )
            )
    return problems
