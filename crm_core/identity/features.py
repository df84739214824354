"""Source customer records -> the normalised columns they are matched on.

Input is a polars DataFrame with the store's ``customers`` columns (``source``,
``customer_id``, ``kind``, ``name``, ``tax_id``, ``email``, ``phone``, ``street``,
``city``, ``region``, ``postcode``, ``country``, ...) and optionally ``company``,
``given_name``, ``surname``, ``street_number``, ``street2`` and ``date_of_birth``;
missing columns are empty. Each normaliser runs once per distinct value (or distinct
combination of values), not once per row, so a million records with repeated cities
and names cost far less than a million calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, get_args

import polars as pl

from crm_core.identity.addresses import (
    city_key,
    house_number,
    postcode_key,
    region_key,
    street_keys,
)
from crm_core.identity.columns import ROLES
from crm_core.identity.config import Feature
from crm_core.identity.emails import normalise_email
from crm_core.identity.names import name_keys, person_part
from crm_core.identity.phones import normalise_phone
from crm_core.identity.tax_ids import normalise_tax_id
from crm_core.identity.text import fold

#: The columns :func:`prepare` reads (all optional but ``customer_id``): the record's
#: identity and every role a column of a file can have (:data:`columns.ROLES`).
INPUT_COLUMNS = ("source", "customer_id", *ROLES)
#: The columns :func:`prepare` makes, ``rid`` (row number) first.
FEATURES: tuple[str, ...] = get_args(Feature)
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%m/%d/%Y")


def prepare(records: pl.DataFrame, first_rid: int = 0) -> pl.DataFrame:
    """The normalised features of ``records``, one row per record in the same order,
    with ``rid`` numbering the rows from ``first_rid``."""
    if "customer_id" not in records.columns:
        raise ValueError("records need a customer_id column")
    if records.is_empty():
        return pl.DataFrame(schema={"rid": pl.Int64, **dict.fromkeys(FEATURES, pl.String)})
    raw = records.select(
        [
            (pl.col(c) if c in records.columns else pl.lit(None)).cast(pl.String).alias(c)
            for c in INPUT_COLUMNS
        ]
    ).with_columns(pl.col("source").fill_null(""))
    kind = _map(raw, ["kind", "company"], _kind)
    raw = raw.with_columns(kind=kind)
    names = _map(raw, ["name", "company", "given_name", "surname", "kind", "city", "region"], _name)
    streets = _map(raw, ["street"], lambda s: _struct(street_keys(s)))
    out = pl.DataFrame(
        {
            "rid": pl.int_range(first_rid, first_rid + raw.height, dtype=pl.Int64, eager=True),
            "source": raw["source"],
            "customer_id": raw["customer_id"],
            "kind": kind,
        }
    ).with_columns(
        name=names.struct.field("core"),
        name_key=names.struct.field("key"),
        name_latin=names.struct.field("latin"),
        given_name=_map(raw, ["given_name"], person_part),
        surname=_map(raw, ["surname"], person_part),
        tax_id=_map(raw, ["tax_id", "country"], normalise_tax_id),
        email=_map(raw, ["email"], normalise_email),
        phone=_map(raw, ["phone", "country"], normalise_phone),
        street=streets.struct.field("street"),
        street_number=pl.coalesce(
            _map(raw, ["street_number"], house_number), streets.struct.field("number")
        ),
        street2=_map(raw, ["street2"], lambda s: fold(s) or None),
        city=_map(raw, ["city"], city_key),
        region=_map(raw, ["region"], region_key),
        postcode=_map(raw, ["postcode", "country"], postcode_key),
        country=_map(raw, ["country"], lambda c: fold(c).upper() or None),
        date_of_birth=_map(raw, ["date_of_birth"], normalise_date),
    )
    return out.select("rid", *[pl.col(f).cast(pl.String) for f in FEATURES])


def normalise_date(raw: str | None) -> str | None:
    """A date as ``YYYY-MM-DD`` from the usual spellings (ISO, ``YYYYMMDD``,
    ``DD.MM.YYYY``, ``DD/MM/YYYY``...), or None when it is no valid date."""
    if not raw or not raw.strip():
        return None
    text = re.sub(r"\s+", "", raw)[:10] if "T" not in raw else raw.strip()[:10]
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _kind(kind: str | None, company: str | None) -> str | None:
    folded = fold(kind)
    if folded in ("company", "organisation", "organization", "business", "b2b", "org"):
        return "company"
    if folded in ("person", "individual", "private", "consumer", "b2c"):
        return "person"
    return "company" if company and company.strip() else None


def _name(
    name: str | None,
    company: str | None,
    given: str | None,
    surname: str | None,
    kind: str | None,
    city: str | None,
    region: str | None,
) -> dict[str, str | None]:
    if not (name and name.strip()):
        name = company if company and company.strip() else None
    if name is None:
        name = " ".join(p for p in (given, surname) if p and p.strip()) or None
        kind = kind or ("person" if name else None)
    keys = name_keys(name, kind=kind, city=city, region=region)
    return {"core": keys.core, "key": keys.key, "latin": keys.latin}


def _struct(value: Any) -> dict[str, Any]:
    return dict(vars(value))


def _map(frame: pl.DataFrame, columns: Sequence[str], fn: Callable[..., Any]) -> pl.Series:
    """``fn`` applied to each distinct combination of ``columns``, spread back to rows."""
    keys = frame.select(columns).unique(maintain_order=True)
    values = [fn(*row) for row in keys.iter_rows()]
    mapped = keys.with_columns(pl.Series("__value", values, strict=False))
    return (
        frame.select(columns)
        .join(mapped, on=list(columns), how="left", nulls_equal=True, maintain_order="left")
        .get_column("__value")
    )
