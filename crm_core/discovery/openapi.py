"""Reading a REST source's OpenAPI document: each ``GET`` path without path parameters
that answers a list of objects (or an object holding one) is a table, its columns the
objects' properties."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
import yaml

from crm_core.discovery.catalogue import Column, Kind, Table
from schemas.errors import ConfigError

FORMATS: dict[tuple[str, str], Kind] = {
    ("string", "date-time"): "datetime",
    ("string", "date"): "date",
    ("string", "decimal"): "decimal",
    ("number", ""): "decimal",
    ("integer", ""): "int",
    ("boolean", ""): "bool",
}


def is_openapi(location: str) -> bool:
    """Whether ``--from`` names an OpenAPI document (a file, or a URL of a .json/.yaml)."""
    if location.startswith(("http://", "https://")):
        return location.rsplit("?", 1)[0].endswith((".json", ".yaml", ".yml"))
    return Path(location).is_file()


def load_document(location: str) -> dict[str, Any]:
    """The OpenAPI document at a path or an http(s) URL."""
    try:
        if location.startswith(("http://", "https://")):
            response = requests.get(location, timeout=30)
            response.raise_for_status()
            text = response.text
        else:
            text = Path(location).read_text(encoding="utf-8")
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (OSError, requests.RequestException, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the OpenAPI document {location}: {exc}") from None
    if not isinstance(data, dict) or "paths" not in data:
        raise ConfigError(f"{location} is not an OpenAPI document (it has no 'paths')")
    return data


def base_url(doc: dict[str, Any]) -> str | None:
    """The first server's URL, if the document names one."""
    servers = doc.get("servers") or []
    return str(servers[0].get("url")) if servers and isinstance(servers[0], dict) else None


def read_openapi(doc: dict[str, Any]) -> list[Table]:
    """The list endpoints of an OpenAPI document as tables."""
    tables = []
    for path, item in (doc.get("paths") or {}).items():
        get = (item or {}).get("get") if isinstance(item, dict) else None
        if not get or "{" in path:
            continue
        content = ((get.get("responses") or {}).get("200") or {}).get("content") or {}
        schema = _resolve(doc, (content.get("application/json") or {}).get("schema") or {})
        records_path, items = _records(doc, schema)
        if items is None:
            continue
        columns = [
            Column(name, _kind(_resolve(doc, prop)), str(_resolve(doc, prop).get("type", "")))
            for name, prop in (items.get("properties") or {}).items()
        ]
        name = path.strip("/").split("/")[-1] or "root"
        options = {"path": path} | ({"records_path": records_path} if records_path else {})
        tables.append(Table(name=name, columns=columns, options=options))
    return tables


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if not ref or not str(ref).startswith("#/"):
        return schema if isinstance(schema, dict) else {}
    node: Any = doc
    for part in str(ref)[2:].split("/"):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return _resolve(doc, node)


def _records(doc: dict[str, Any], schema: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    if schema.get("type") == "array":
        return "", _resolve(doc, schema.get("items") or {})
    for name, prop in (schema.get("properties") or {}).items():
        prop = _resolve(doc, prop)
        if prop.get("type") == "array":
            return name, _resolve(doc, prop.get("items") or {})
    return "", None


def _kind(prop: dict[str, Any]) -> Kind:
    kind = prop.get("type", "string")
    kind = next((k for k in kind if k != "null"), "string") if isinstance(kind, list) else kind
    return FORMATS.get((kind, prop.get("format", "")), FORMATS.get((kind, ""), "text"))
