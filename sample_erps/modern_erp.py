"""Data for the sample modern ERP: a younger system of the same group, three years of it.

:func:`generate` fills the six tables of :mod:`sample_erps.modern_erp_schema` with
customers drawn from :mod:`sample_erps.universe`, a different part of it than the legacy
ERP's: by default it samples ``customers`` of the first ``1.5 * customers`` true customers,
so about two thirds of them are also in the legacy ERP (which takes the first
``customers``), and 1% are entered twice. Customers look as this system's users type them
(:mod:`sample_erps.modern_erp_style`: traditional characters, full-width phone digits,
missing tax ids). About 6 orders per customer with 3 lines each, invoices and payments,
stock quants per location and a credit limit per partner. :func:`apply_changes` is one day
of activity, stamped later than anything before. The same seed gives the same rows.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import Engine

from sample_erps import universe
from sample_erps.modern_erp_build import HISTORY_DAYS, LABELS, TABLES, Builder
from sample_erps.modern_erp_changes import apply_changes
from sample_erps.modern_erp_schema import create_schema
from sample_erps.modern_erp_style import as_entered
from sample_erps.universe import TrueCustomer

__all__ = ["STREAMS", "apply_changes", "create_schema", "generate"]

#: The ERP's streams as a source declares them: stream -> (table, primary key, cursor).
STREAMS = {
    "customers": ("res_partner", ["id"], ["updated_at"]),
    "credit": ("res_partner", ["id"], ["updated_at"]),
    "orders": ("sale_order", ["id"], ["updated_at"]),
    "order_lines": ("sale_order_line", ["id"], ["updated_at"]),
    "inventory": ("stock_quant", ["id"], ["updated_at"]),
    "invoices": ("account_move", ["id"], ["updated_at"]),
    "payments": ("account_payment", ["id"], ["updated_at"]),
}
OVERLAP_POOL = 1.5
DUPLICATE_SHARE = 0.01


def pick(people: list[TrueCustomer], customers: int, rng: random.Random) -> list[TrueCustomer]:
    """``customers`` of ``people``, sampled, in universe order."""
    chosen = sorted(rng.sample(range(len(people)), min(customers, len(people))))
    return [people[i] for i in chosen]


def generate(
    engine: Engine,
    *,
    seed: int,
    as_of: date,
    customers: int,
    population: list[TrueCustomer] | None = None,
    truth: list[tuple[str, str]] | None = None,
) -> dict[str, int]:
    """Fill the sample modern ERP with ``customers`` customers and their history to ``as_of``.

    ``population`` is the list of true customers to sample from (default: the first
    ``1.5 * customers`` of the universe of ``seed``); ``truth``, when given, receives
    (partner id as text, true id) for every partner, duplicates included. Returns the rows
    written per table.
    """
    rng = random.Random(f"modern_erp:{seed}")
    if population is None:
        population = universe.build(seed, round(customers * OVERLAP_POOL))
    builder = Builder(rng, as_of)
    for true in pick(population, customers, rng):
        copies = [true]
        if rng.random() < DUPLICATE_SHARE:
            copies.append(universe.variant(true, rng))
        for record in copies:
            entered = as_entered(record, rng)
            terms = rng.choice(["30 Days", "30 Days", "45 Days", "60 Days", "Immediate Payment"])
            pid = builder.partner(entered, terms)
            for _ in range(max(1, round(rng.gauss(6, 2.5)))):
                day = as_of - timedelta(days=int(rng.triangular(0, HISTORY_DAYS, 45)))
                builder.order(pid, entered.currency, day, terms)
            if truth is not None:
                truth.append((str(pid), true.true_id))
    for partner in builder.rows["res_partner"]:
        builder.credit(partner)
    builder.quants()
    with engine.begin() as conn:
        for table in TABLES:
            if builder.rows[table.name]:
                conn.execute(table.insert(), builder.rows[table.name])
    return {LABELS[name]: len(rows) for name, rows in builder.rows.items()}
