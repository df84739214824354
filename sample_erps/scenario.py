"""The demo's files: three sample back offices, their mappings and a config, in one folder.

- ``legacy_erp``: a BPCS / JD Edwards style system as on DB2 for i (SQLite file here),
- ``modern_erp``: an Odoo-like system as on MariaDB or PostgreSQL (SQLite file here; in
  production it is read over ODBC),
- ``rest_erp``: a system that only has an HTTP API, served on loopback while the demo runs;
- ``service_desk``: a help desk behind its own JSON API (tickets filed under the legacy
  ERP's accounts and serial numbers, and a satisfaction survey), served like the REST ERP;
- ``marketing``: campaigns and the accounts and leads they reached, two SQL tables.

All three draw their customers from one universe of true customers, so many customers are
in two or three systems, spelled the way each system's users type them; ``truth.csv`` says
which records are truly the same customer, so the reconciliation can be scored.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine

from sample_erps import legacy_erp, marketing, modern_erp, rest_erp, service_desk, universe
from sample_erps.rest_erp.server import RestErpServer

SOURCE = "legacy_erp"
SOURCES = ("legacy_erp", "modern_erp", "rest_erp", "service_desk", "marketing")
#: the systems whose data draws on the legacy ERP's customers (generated after it)
NEEDS_LEGACY = ("service_desk", "marketing")
CONFIG_NAME = "crm-hub.yaml"
ERP_DB = "legacy_erp.db"
STORE_DB = "crm-hub.db"
TRUTH = "truth.csv"
#: The REST ERP's port in the written config (``python -m sample_erps.rest_erp serve``
#: serves it there again after the demo).
REST_PORT = 8766
#: The service desk's port in the written config (``python -m sample_erps.service_desk``).
SERVICE_DESK_PORT = 8767
#: Each system's data generator: create_schema, generate and apply_changes.
GENERATORS: dict[str, Any] = {
    "legacy_erp": legacy_erp,
    "modern_erp": modern_erp,
    "rest_erp": rest_erp,
}

DEMO_CONFIG = """\
# Written by 'crm-hub demo'. The sample ERPs are SQLite files here; real ones are reached
# with url_env naming an environment variable that holds the URL (and its password).
store:
  url: sqlite:///{store}

defaults:
  batch_size: 50000

{push_back}
sources:
{sources}"""

PUSH_BACK = """\
# CRM-side changes (crm-hub change ..., the API's POST/PATCH) and where they are written:
# the CRM owns contact data and writes it to every system that keeps a copy; the legacy
# ERP owns credit limits and books concessions (the CRM requests them).
push_back:
  max_attempts: 5
  backoff_seconds: 30
  schedule: "* * * * *"
  ownership:
    customers:
      fields:
        email: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        phone: {{owner: crm, targets: [{contact_targets}], on_conflict: manual}}
        street: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        street2: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        city: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        region: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        postcode: {{owner: crm, targets: [{contact_targets}], on_conflict: newest_wins}}
        name: {{owner: legacy_erp}}
        tax_id: {{owner: legacy_erp}}
      create_in: [legacy_erp]
    credit:
      fields:
        credit_limit: {{owner: legacy_erp, crm: request, on_conflict: owner_wins}}
        on_hold: {{owner: legacy_erp}}
    concessions:
      fields:
        "*": {{owner: legacy_erp, crm: request, on_conflict: manual}}
    # the installed base: the CRM corrects where a unit is installed; the legacy ERP owns
    # service contracts (the CRM requests a renewal) and everything else
    assets:
      fields:
        install_site: {{owner: crm, targets: [legacy_erp], on_conflict: newest_wins}}
        service_contract_id: {{owner: legacy_erp, crm: request, on_conflict: owner_wins}}
        service_contract_end: {{owner: legacy_erp, crm: request, on_conflict: owner_wins}}
        "*": {{owner: legacy_erp}}
"""

LEGACY_SOURCE = """\
  legacy_erp:
    kind: sql
    url: sqlite:///legacy_erp.db
    mapping: mappings/legacy_erp.yaml
    schedule: "*/15 * * * *"
    # a purge leaves no trace in these files: deletes are found by comparing keys
    # (deletes: detect, every run; {{detect: {{every: N}}}} for big files)
    streams:
      customers: {{table: RCM, primary_key: [CCUST], cursor: [CCHGD, CCHGT], deletes: detect}}
      orders: {{table: ECH, primary_key: [HORD], cursor: [HCHGD, HCHGT], deletes: detect}}
      order_lines:
        {{table: ECL, primary_key: [LORD, LLINE], cursor: [LCHGD, LCHGT], deletes: detect}}
      inventory: {{table: ILI, primary_key: [LPROD, LWHS], cursor: [LCHGD, LCHGT]}}
      credit: {{table: RCR, primary_key: [CCUST], cursor: [CCHGD, CCHGT], deletes: detect}}
      invoices: {{table: RAR, primary_key: [RINVN], cursor: [RCHGD, RCHGT], deletes: detect}}
      payments: {{table: RPY, primary_key: [PPAYN], cursor: [PCHGD, PCHGT], deletes: detect}}
      concessions: {{table: RCN, primary_key: [NREF], cursor: [NCHGD, NCHGT]}}
      assets: {{table: ISN, primary_key: [SSER], cursor: [SCHGD, SCHGT]}}
"""

SERVICE_DESK_SOURCE = """\
  # served by the demo while it runs; again later with:
  #   python -m sample_erps.service_desk --db service_desk.db --port {port}
{block}"""

MARKETING_SOURCE = """\
  marketing:
    kind: sql
    url: sqlite:///marketing.db
    mapping: mappings/marketing.yaml
    schedule: "0 * * * *"
    streams:
      campaigns: {{table: campaigns, primary_key: [campaign_code], cursor: [modified]}}
      campaign_touches: {{table: campaign_members, primary_key: [member_id], cursor: [modified]}}
"""

MODERN_SOURCE = """\
  # in production: kind: odbc, with the driver's connection string in url_env
  modern_erp:
    kind: sql
    url: sqlite:///modern_erp.db
    mapping: mappings/modern_erp.yaml
    schedule: "*/30 * * * *"
    streams:
{modern_streams}
"""

REST_SOURCE = """\
  # served by the demo while it runs; again later with:
  #   python -m sample_erps.rest_erp serve --db rest_erp.db --port {rest_port}
{rest_source}"""


#: What the demo's people call each system, in English and in Chinese (the page shows it).
DISPLAY_NAMES: dict[str, tuple[str, str]] = {
    "legacy_erp": ("Legacy ERP (AS/400)", "旧版ERP（AS/400）"),
    "modern_erp": ("Modern ERP", "新版ERP"),
    "rest_erp": ("Cloud ERP", "云端ERP"),
    "service_desk": ("Service desk", "客服系统"),
    "marketing": ("Marketing", "营销系统"),
}


def _named(block: str, source: str) -> str:
    """A source's YAML block with its display names after its first line."""
    english, chinese = DISPLAY_NAMES[source]
    head, _, rest = block.partition(f"  {source}:\n")
    names = f"    display_name: {english}\n    display_names: {{zh-CN: {chinese}}}\n"
    return f"{head}  {source}:\n{names}{rest}"


def _modern_streams() -> str:
    return "\n".join(
        f"      {name}: {{table: {table}, primary_key: {list(pk)}, cursor: {list(cursor)}}}"
        for name, (table, pk, cursor) in modern_erp.STREAMS.items()
    ).replace("'", "")


def _contact_targets(systems: tuple[str, ...]) -> list[str]:
    """The sample systems the demo writes CRM contact changes to: the databases (the REST
    ERP's write path is exercised by its own tests and the benchmark)."""
    return [s for s in systems if s in ("legacy_erp", "modern_erp")]


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _engine(workdir: Path, source: str) -> Engine:
    return create_engine(f"sqlite:///{workdir / f'{source}.db'}")


def erp_engine(workdir: Path) -> Engine:
    """An engine on the demo's legacy sample ERP."""
    return _engine(workdir, "legacy_erp")


def sizes(customers: int) -> dict[str, int]:
    """Customers per system: the legacy ERP is the big one."""
    return {
        "legacy_erp": customers,
        "modern_erp": max(5, customers // 2),
        "rest_erp": max(5, customers // 3),
    }


def prepare(
    workdir: Path,
    *,
    seed: int,
    customers: int,
    as_of: date,
    systems: tuple[str, ...] = ("legacy_erp",),
    rest_port: int = REST_PORT,
    service_desk_port: int = SERVICE_DESK_PORT,
) -> dict[str, dict[str, int]]:
    """Create (or recreate) the sample ERPs named in ``systems`` (of :data:`SOURCES`), their
    mappings, the config and truth.csv in ``workdir``; return the rows written per system
    and table."""
    unknown = [s for s in systems if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown sample systems {unknown} (known: {', '.join(SOURCES)})")
    if any(s in NEEDS_LEGACY for s in systems) and "legacy_erp" not in systems:
        raise ValueError(f"{', '.join(NEEDS_LEGACY)} draw on legacy_erp: name it too")
    workdir.mkdir(parents=True, exist_ok=True)
    for name in (*SOURCES, "crm-hub"):
        _remove_sqlite(workdir / f"{name}.db")
    (workdir / "mappings").mkdir(exist_ok=True)
    for source in systems:
        text = files("mappings").joinpath(f"{source}.yaml").read_text(encoding="utf-8")
        (workdir / "mappings" / f"{source}.yaml").write_text(text, encoding="utf-8")
    blocks = {
        "legacy_erp": LEGACY_SOURCE.format(),
        "modern_erp": MODERN_SOURCE.format(modern_streams=_modern_streams()),
        "rest_erp": REST_SOURCE.format(
            rest_port=rest_port,
            rest_source=rest_erp.source_config(f"http://127.0.0.1:{rest_port}/api/v1"),
        ),
        "service_desk": SERVICE_DESK_SOURCE.format(
            port=service_desk_port,
            block=service_desk.source_config(f"http://127.0.0.1:{service_desk_port}/api/v2"),
        ),
        "marketing": MARKETING_SOURCE.format(),
    }
    (workdir / CONFIG_NAME).write_text(
        DEMO_CONFIG.format(
            store=STORE_DB,
            sources="\n".join(_named(blocks[s], s) for s in systems),
            push_back=PUSH_BACK.format(contact_targets=", ".join(_contact_targets(systems)))
            if "legacy_erp" in systems
            else "",
        ),
        encoding="utf-8",
    )
    people = universe.build(seed, 2 * customers)
    counts: dict[str, dict[str, int]] = {}
    truth: list[tuple[str, str, str]] = []
    for source in (s for s in systems if s in GENERATORS):
        module = GENERATORS[source]
        engine = _engine(workdir, source)
        found: list[tuple[str, str]] = []
        try:
            module.create_schema(engine)
            counts[source] = module.generate(
                engine,
                seed=seed,
                as_of=as_of,
                customers=sizes(customers)[source],
                population=people,
                truth=found,
            )
        finally:
            engine.dispose()
        truth.extend((source, key, true_id) for key, true_id in found)
    counts.update(_generate_dependents(workdir, systems, seed=seed, as_of=as_of))
    with (workdir / TRUTH).open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["source", "customer_id", "true_id"])
        writer.writerows(truth)
    return counts


def _generate_dependents(
    workdir: Path, systems: tuple[str, ...], *, seed: int, as_of: date
) -> dict[str, dict[str, int]]:
    """The service desk and the marketing system, drawn from the ERPs' records."""
    counts: dict[str, dict[str, int]] = {}
    legacy = _engine(workdir, "legacy_erp")
    modern = _engine(workdir, "modern_erp") if "modern_erp" in systems else None
    try:
        if "service_desk" in systems:
            desk = _engine(workdir, "service_desk")
            try:
                service_desk.create_schema(desk)
                counts["service_desk"] = service_desk.generate(desk, legacy, seed=seed, as_of=as_of)
            finally:
                desk.dispose()
        if "marketing" in systems:
            market = _engine(workdir, "marketing")
            try:
                marketing.create_schema(market)
                counts["marketing"] = marketing.generate(
                    market, legacy, modern, seed=seed, as_of=as_of
                )
            finally:
                market.dispose()
    finally:
        legacy.dispose()
        if modern is not None:
            modern.dispose()
    return counts


def read_truth(workdir: Path) -> list[tuple[tuple[str, str], str]]:
    """truth.csv as ((source, customer_id), true id) pairs."""
    with (workdir / TRUTH).open(encoding="utf-8") as f:
        return [((r["source"], r["customer_id"]), r["true_id"]) for r in csv.DictReader(f)]


@contextmanager
def rest_server(workdir: Path, port: int = REST_PORT) -> Iterator[RestErpServer]:
    """The REST sample ERP served on loopback for the duration of a ``with`` block."""
    with rest_erp.serve(workdir / "rest_erp.db", port=port) as server:
        yield server


@contextmanager
def servers(
    workdir: Path, rest_port: int = REST_PORT, service_desk_port: int = SERVICE_DESK_PORT
) -> Iterator[None]:
    """The sample systems that are HTTP APIs (those in ``workdir``), served on loopback
    for the duration of a ``with`` block."""
    with ExitStack() as stack:
        if (workdir / "rest_erp.db").exists():
            stack.enter_context(rest_server(workdir, rest_port))
        if (workdir / "service_desk.db").exists():
            stack.enter_context(
                service_desk.serve(workdir / "service_desk.db", port=service_desk_port)
            )
        yield


def change(workdir: Path, *, seed: int, as_of: date) -> dict[str, dict[str, int]]:
    """Apply a day of back-office activity to every sample system in ``workdir``."""
    out: dict[str, dict[str, int]] = {}
    for offset, (source, module) in enumerate(GENERATORS.items()):
        if not (workdir / f"{source}.db").exists():
            continue
        engine = _engine(workdir, source)
        try:
            out[source] = module.apply_changes(engine, seed=seed + 1 + offset, as_of=as_of)
        finally:
            engine.dispose()
    out.update(_change_dependents(workdir, seed=seed, as_of=as_of))
    return out


def _change_dependents(workdir: Path, *, seed: int, as_of: date) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    if not (workdir / "legacy_erp.db").exists():
        return out
    legacy = _engine(workdir, "legacy_erp")
    modern = _engine(workdir, "modern_erp") if (workdir / "modern_erp.db").exists() else None
    try:
        if (workdir / "service_desk.db").exists():
            desk = _engine(workdir, "service_desk")
            try:
                out["service_desk"] = service_desk.apply_changes(
                    desk, legacy, seed=seed + 11, as_of=as_of
                )
            finally:
                desk.dispose()
        if (workdir / "marketing.db").exists():
            market = _engine(workdir, "marketing")
            try:
                out["marketing"] = marketing.apply_changes(
                    market, legacy, modern, seed=seed + 12, as_of=as_of
                )
            finally:
                market.dispose()
    finally:
        legacy.dispose()
        if modern is not None:
            modern.dispose()
    return out
