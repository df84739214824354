"""Stream positions (watermarks) to and from JSON, keeping their types exact.

A position is a tuple of cursor and key values: numbers, text, dates or timestamps. JSON
alone would turn a Decimal into a float and a date into text that compares differently,
so each value is stored with its type.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

_ENCODE: list[tuple[type, str]] = [
    (bool, "bool"),
    (int, "int"),
    (Decimal, "decimal"),
    (float, "float"),
    (datetime, "datetime"),
    (date, "date"),
    (time, "time"),
    (str, "str"),
]
_DECODE: dict[str, Callable[[Any], Any]] = {
    "bool": bool,
    "int": int,
    "decimal": Decimal,
    "float": float,
    "str": str,
    "datetime": datetime.fromisoformat,
    "date": date.fromisoformat,
    "time": time.fromisoformat,
}


def encode(position: Sequence[Any] | None) -> list[dict[str, Any]] | None:
    """A position as JSON-safe data."""
    if position is None:
        return None
    out: list[dict[str, Any]] = []
    for value in position:
        if value is None:
            out.append({"t": "null", "v": None})
            continue
        for typ, tag in _ENCODE:
            if isinstance(value, typ):
                text = value.isoformat() if hasattr(value, "isoformat") else value
                out.append({"t": tag, "v": str(text) if tag == "decimal" else text})
                break
        else:
            raise TypeError(f"cannot store a position value of type {type(value).__name__}")
    return out


def decode(data: list[dict[str, Any]] | None) -> tuple[Any, ...] | None:
    """A position back from ``encode``'s output."""
    if data is None:
        return None
    return tuple(None if item["t"] == "null" else _DECODE[item["t"]](item["v"]) for item in data)


def describe(position: Sequence[Any] | None) -> str:
    """A short human form of a position, for status tables."""
    if position is None:
        return "-"
    return ", ".join(str(v).strip() if v is not None else "null" for v in position)
