"""Config and mapping files: every problem reported at once, with file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings import load_mapping
from schemas.errors import ConfigError, MappingError
from schemas.settings import load_config


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_config_reports_every_problem_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "crm-hub.yaml",
        """\
store:
  url: sqlite:///x.db
sources:
  erp:
    kind: sql
    url: postgresql://sync:Sup3rSecret@db/erp
    mapping: m.yaml
    schedule: every now and then
    streams:
      orders: {table: T, query: select 1, primary_key: [ID]}
  Bad-Name:
    url: sqlite:///a.db
    mapping: m.yaml
    streams:
      x: {table: X}
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert "Sup3rSecret" not in text
    problems = info.value.problems
    assert any(
        p.startswith(f"{path}:6: sources.erp.url: a password does not belong") for p in problems
    )
    assert any(":8: sources.erp.schedule" in p for p in problems)
    assert any(":10: sources.erp.streams.orders" in p and "not both" in p for p in problems)
    assert any(":15: sources.Bad-Name.streams.x.primary_key" in p for p in problems)


def test_config_relative_paths_and_env_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "crm-hub.yaml",
        """\
store: {url: sqlite:///store.db}
sources:
  erp:
    url_env: ERP_URL
    mapping: maps/erp.yaml
    streams: {orders: {table: T, primary_key: [ID]}}
""",
    )
    config = load_config(path)
    assert config.source("erp").mapping == tmp_path / "maps" / "erp.yaml"
    assert config.store_url() == f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.delenv("ERP_URL", raising=False)
    with pytest.raises(ConfigError, match="environment variable ERP_URL is not set"):
        config.source("erp").resolve_url(tmp_path, "source 'erp'")
    monkeypatch.setenv("ERP_URL", "postgresql+psycopg://u:pw@h/db")
    assert config.source("erp").resolve_url(tmp_path, "x") == "postgresql+psycopg://u:pw@h/db"
    monkeypatch.setenv("CRM_HUB_DATABASE_URL", "sqlite:///other.db")
    assert config.store_url() == f"sqlite:///{tmp_path / 'other.db'}"


def test_config_file_missing_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = write(tmp_path, "bad.yaml", "sources:\n  erp: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: not valid YAML"):
        load_config(bad)


def test_unknown_source_lists_the_known_ones(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "c.yaml", "sources: {}\n"))
    with pytest.raises(ConfigError, match=r"no source named 'erp'.*known: none"):
        config.source("erp")


def test_mapping_errors_at_load_time_name_line_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.yaml",
        """\
system: erp
timezone: Mars/Base
code_tables:
  status: {A: entered}
streams:
  orders:
    entity: orders
    fields:
      order_id: {from: ID, transforms: [trimm]}
      colour: COLOUR
      status: {from: ST, transforms: [{code: nope}]}
      total_amount: {from: AMT, transforms: [{implied_decimals: two}]}
      updated_at: {from: [D, T]}
  stock:
    entity: warehouse
    fields: {a: b}
""",
    )
    with pytest.raises(MappingError) as info:
        load_mapping(path)
    problems = "\n".join(info.value.problems)
    assert f"{path}:2: timezone: unknown time zone 'Mars/Base'" in problems
    assert ":9: streams.orders.fields.order_id.transforms[0]: unknown transform 'trimm'" in problems
    assert ":10: streams.orders.fields.colour: orders has no field 'colour'" in problems
    assert ":11: streams.orders.fields.status.transforms[0]: no code table 'nope'" in problems
    assert "implied_decimals takes a int, not 'two'" in problems
    assert "several source columns need a transform" in problems
    assert "required field(s) of orders not mapped: customer_id, order_date, currency" in problems
    assert ":15: streams.stock.entity: unknown entity 'warehouse'" in problems


def test_the_shipped_mappings_are_valid() -> None:
    from importlib.resources import files

    for path in files("mappings").iterdir():
        if path.name.endswith(".yaml"):
            assert load_mapping(Path(str(path))).streams
