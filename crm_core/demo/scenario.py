"""The demo's files: a sample ERP database, its mapping and a config, in one folder."""

from __future__ import annotations

from datetime import date
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Engine, create_engine

from crm_core.demo import legacy_erp

SOURCE = "legacy_erp"
CONFIG_NAME = "crm-hub.yaml"
ERP_DB = "legacy_erp.db"
STORE_DB = "crm-hub.db"

DEMO_CONFIG = """\
# Written by 'crm-hub demo'. The sample ERP is a SQLite file here; a real one would be
# reached with url_env naming an environment variable that holds its URL.
store:
  url: sqlite:///{store}

defaults:
  batch_size: 10000

sources:
  legacy_erp:
    kind: sql
    url: sqlite:///{erp}
    mapping: mappings/legacy_erp.yaml
    schedule: "*/15 * * * *"
    streams:
      customers: {{table: RCM, primary_key: [CCUST], cursor: [CCHGD, CCHGT]}}
      orders: {{table: ECH, primary_key: [HORD], cursor: [HCHGD, HCHGT]}}
      order_lines: {{table: ECL, primary_key: [LORD, LLINE], cursor: [LCHGD, LCHGT]}}
      inventory: {{table: ILI, primary_key: [LPROD, LWHS], cursor: [LCHGD, LCHGT]}}
      credit: {{table: RCR, primary_key: [CCUST], cursor: [CCHGD, CCHGT]}}
      invoices: {{table: RAR, primary_key: [RINVN], cursor: [RCHGD, RCHGT]}}
      payments: {{table: RPY, primary_key: [PPAYN], cursor: [PCHGD, PCHGT]}}
"""


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def erp_engine(workdir: Path) -> Engine:
    """An engine on the demo's sample ERP."""
    return create_engine(f"sqlite:///{workdir / ERP_DB}")


def prepare(workdir: Path, *, seed: int, customers: int, as_of: date) -> dict[str, int]:
    """Create (or recreate) the sample ERP, the mapping copy and the config in ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    _remove_sqlite(workdir / ERP_DB)
    _remove_sqlite(workdir / STORE_DB)
    (workdir / "mappings").mkdir(exist_ok=True)
    mapping = files("mappings").joinpath("legacy_erp.yaml").read_text(encoding="utf-8")
    (workdir / "mappings" / "legacy_erp.yaml").write_text(mapping, encoding="utf-8")
    (workdir / CONFIG_NAME).write_text(
        DEMO_CONFIG.format(store=STORE_DB, erp=ERP_DB), encoding="utf-8"
    )
    engine = erp_engine(workdir)
    try:
        legacy_erp.create_schema(engine)
        return legacy_erp.generate(engine, seed=seed, as_of=as_of, customers=customers)
    finally:
        engine.dispose()


def change(workdir: Path, *, seed: int, as_of: date) -> dict[str, int]:
    """Apply a day of back-office activity to the sample ERP."""
    engine = erp_engine(workdir)
    try:
        return legacy_erp.apply_changes(engine, seed=seed + 1, as_of=as_of)
    finally:
        engine.dispose()
