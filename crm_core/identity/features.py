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
from datetime import date, datetime
from typing import Any, get_args

import polars as pl

from crm_core.identity.addresses import (
    city_key,
    house_number,
    postcode_key,
    region_key,
    street_keys,
)
from crm_core.identity.chinese import split_person_name
from crm_core.identity.columns import ROLES
from crm_core.identity.company_names import company_name
from crm_core.identity.config import Feature
from crm_core.identity.emails import normalise_email
from crm_core.identity.names import fold_name, name_keys, person_part
from crm_core.identity.phones import infer_region, phone_keys, record_region
from crm_core.identity.tax_ids import normalise_tax_id
from crm_core.identity.text import fold

#: The columns :func:`prepare` reads (all optional but ``customer_id``): the record's
#: identity and every role a column of a file can have (:data:`columns.ROLES`).
INPUT_COLUMNS = ("source", "customer_id", *ROLES)
#: The columns :func:`prepare` makes, ``rid`` (row number) first.
FEATURES: tuple[str, ...] = get_args(Feature)
_ISO_OR_COMPACT = re.compile(r"([0-9]{4})(-?)([0-9]{2})\2([0-9]{2})")
_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%d/%m/%Y", "%Y/%m/%d", "%m/%d/%Y")


def prepare(
    records: pl.DataFrame, first_rid: int = 0, *, default_country: str | None = None
) -> pl.DataFrame:
    """The normalised features of ``records``, one row per record in the same order,
    with ``rid`` numbering the rows from ``first_rid``. Phone numbers without a country
    code are read in the record's region (:func:`phone_regions`): its country, else
    ``default_country``, else what the record says, else its file's majority."""
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
    raw = raw.with_columns(phone_region=phone_regions(raw, default_country))
    phones = _map(raw, ["phone", "phone_region"], lambda p, r: _struct(phone_keys(p, r)))
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
        company_place=names.struct.field("place"),
        company_brand=names.struct.field("brand"),
        company_industry=names.struct.field("industry"),
        company_form=names.struct.field("form"),
        given_name=_map(raw, ["given_name"], person_part),
        surname=_map(raw, ["surname"], person_part),
        tax_id=_map(raw, ["tax_id", "country"], normalise_tax_id),
        email=_map(raw, ["email"], normalise_email),
        phone=phones.struct.field("phone"),
        phone_national=phones.struct.field("national"),
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


def phone_regions(raw: pl.DataFrame, default_country: str | None = None) -> pl.Series:
    """Each record's phone region: its ``country`` column (ISO code or a known name),
    else ``default_country``, else what its phone, name and address suggest
    (:func:`crm_core.identity.phones.infer_region`), else the region most records of
    its ``source`` (file) have; None when nothing says."""
    default = default_country.strip().upper() if default_country else None
    own = _map(raw, ["country"], lambda c: record_region(c, default))
    guessed = _map(
        raw.with_columns(own=own),
        ["own", "phone", "name", "company", "street", "city", "region"],
        lambda known, phone, name, company, street, city, region: (
            known or infer_region(phone, name or company, street, city, region)
        ),
    )
    frame = pl.DataFrame({"source": raw["source"], "region": guessed})
    majority = (
        frame.drop_nulls("region")
        .group_by("source", "region")
        .len()
        .sort(["source", "len", "region"], descending=[False, True, False])
        .group_by("source", maintain_order=True)
        .agg(pl.col("region").first().alias("majority"))
    )
    return (
        frame.join(majority, on="source", how="left", maintain_order="left")
        .select(pl.coalesce("region", "majority"))
        .to_series()
        .rename("phone_region")
    )


def normalise_date(raw: str | None) -> str | None:
    """A date as ``YYYY-MM-DD`` from the usual spellings (ISO, ``YYYYMMDD``,
    ``DD.MM.YYYY``, ``DD/MM/YYYY``...), or None when it is no valid date."""
    if not raw or not raw.strip():
        return None
    text = re.sub(r"\s+", "", raw)[:10] if "T" not in raw else raw.strip()[:10]
    quick = _ISO_OR_COMPACT.fullmatch(text)
    if quick:  # what the first two formats read, without strptime's cost
        try:
            year, _, month, day = quick.groups()
            return date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            pass
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
    out: dict[str, str | None] = {"core": keys.core, "key": keys.key, "latin": keys.latin}
    parts = company_name(name) if kind != "person" else company_name(None)
    bare = not (parts.place or parts.industry or parts.form)
    if kind is None and bare and split_person_name(fold_name(name)) is not None:
        parts = company_name(None)  # 周建华: a person's name, no company's
    out.update(place=parts.place, brand=parts.brand, industry=parts.industry, form=parts.form)
    return out


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


def clustered_features(
    existing: pl.DataFrame, *, prepared: bool, default_country: str | None
) -> pl.DataFrame:
    """The features of ``existing`` records (they have a ``cluster_id``), keeping their
    ``cluster_id``, with ``rid`` numbered from 0; ``prepared``: they are features already."""
    if prepared:
        old = existing.select(*FEATURES, "cluster_id")
    else:
        old = (
            prepare(existing, default_country=default_country)
            .drop("rid")
            .with_columns(existing.get_column("cluster_id"))
        )
    return old.with_row_index("rid").with_columns(pl.col("rid").cast(pl.Int64))
