"""Checking mapped batches against their stream's contract.

A contract's expectations are great-expectations expectations. With the engine ``auto``
(the default) the ones :mod:`crm_core.pull.contracts_polars` knows are evaluated there, on
the whole batch in polars, with GX's semantics; a contract using any other expectation,
or the engine ``great_expectations``, runs GX itself: imported once per process, on the
first batch that needs it, one validation of the whole batch (vectorised in pandas) with
the stream's suite, and only when a batch fails a second one with the failed expectations
alone, to learn which rows failed. Either way the failing rows go to quarantine with the
expectation and the offending value, and the rest are loaded. Checks across streams (an
order's customer must exist) are run by the hub on the whole batch with polars.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import polars as pl

from crm_core.pull import contracts_polars as polars_engine
from schemas.contract import Contract, Reference
from schemas.entities import ENTITIES, Entity

log = logging.getLogger("crm_hub.contracts")

ENGINES = ("auto", "great_expectations")
MAX_VALUE_SHOWN = 80
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
GX_NAME = "crm_hub"

#: Of the given values, the ones that are keys of the referenced entity for this source in
#: the store; None when that entity has not been loaded from this source at all: the
#: reference is then not checked (a first load may pull orders before customers).
KeyLoader = Callable[[Reference, list[Any]], pl.Series | None]


@dataclass
class CheckOutcome:
    """Which rows of a batch failed which check, and how long checking took."""

    failed_rows: dict[int, list[str]] = field(default_factory=dict)
    failures: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, check: str, rows: list[int], reasons: list[str]) -> None:
        """Record that ``rows`` failed ``check``, each with its reason."""
        self.failures[check] += len(rows)
        for row, reason in zip(rows, reasons, strict=True):
            self.failed_rows.setdefault(row, []).append(reason)


@cache
def _gx() -> tuple[Any, Any]:
    """The GX module and an ephemeral context with a pandas data source (once per process)."""
    started = time.perf_counter()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    context.data_sources.add_pandas(GX_NAME)
    log.debug("great-expectations ready in %.2fs", time.perf_counter() - started)
    return gx, context


def _resolve(value: Any, kind: str, today: date) -> Any:
    """A contract value made concrete: ``{today: N}`` and ISO dates for date columns, which
    GX is given as numbers (days, or microseconds since 1970) like the columns themselves."""
    if isinstance(value, dict) and set(value) <= {"today", "now"} and len(value) == 1:
        ((what, days),) = value.items()
        if what == "today":
            value = datetime.combine(today + timedelta(days=days), datetime.min.time())
        else:
            value = datetime.now(UTC) + timedelta(days=days)
    elif isinstance(value, str) and kind in ("date", "datetime"):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and kind == "datetime" and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if isinstance(value, datetime) and kind == "date":
        return (value.date() - EPOCH.date()).days
    if isinstance(value, datetime) and kind == "datetime":
        return (value - EPOCH) // timedelta(microseconds=1)
    return value


class ContractChecker:
    """Checks the batches of one stream against the contract of its entity."""

    def __init__(
        self,
        contract: Contract,
        key_loader: KeyLoader | None = None,
        today: date | None = None,
        engine: str = "auto",
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"contract engine must be one of {', '.join(ENGINES)}")
        self.contract = contract
        self.entity: Entity = ENTITIES[contract.entity]
        self.today = today or datetime.now(UTC).date()
        self.key_loader = key_loader
        self._suite: Any = None
        self._batch_definition: Any = None
        self._configs: dict[str, tuple[str, dict[str, Any]]] = {}
        listed = contract.expectation_list()
        #: (expectation, kwargs as written, kwargs with {today: N} and dates made concrete),
        #: resolved once per run of a stream
        self._expectations = [(n, k, self._kwargs(k)) for n, k in listed]
        self.engine = (
            "polars"
            if engine == "auto" and all(polars_engine.supports(n, k) for n, k in listed)
            else "great_expectations"
        )

    @property
    def label(self) -> str:
        """The contract's name and version, as the ledger shows it."""
        return f"{self.contract.entity} v{self.contract.version}"

    def _kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kind = self.entity.fields[kwargs["column"]].kind if "column" in kwargs else "str"
        return {
            k: _resolve(v, kind, self.today) if k in ("min_value", "max_value") else v
            for k, v in kwargs.items()
        }

    def _setup(self) -> None:
        gx, context = _gx()
        name = f"{self.contract.entity}-{id(self)}"
        asset = context.data_sources.get(GX_NAME).add_dataframe_asset(name)
        self._batch_definition = asset.add_batch_definition_whole_dataframe(name)
        self._suite = gx.ExpectationSuite(name=name)
        for i, (expectation, kwargs, resolved) in enumerate(self._expectations):
            cls_name = "".join(part.title() for part in expectation.split("_"))
            cls = getattr(gx.expectations, cls_name, None)
            if cls is None:
                raise ValueError(f"contract {self.label}: unknown expectation {expectation!r}")
            exp = cls(**resolved, meta={"index": i})
            self._suite.add_expectation(exp)
            self._configs[str(i)] = (expectation, kwargs)

    def check(self, records: pl.DataFrame) -> CheckOutcome:
        """Validate a mapped batch; return the failing row positions with their reasons."""
        outcome = CheckOutcome()
        if records.height == 0:
            return outcome
        started = time.perf_counter()
        if self.contract.expectations and self.engine == "polars":
            self._check_with_polars(records, outcome)
        elif self.contract.expectations:
            self._check_expectations(records, outcome)
        for ref in self.contract.references:
            self._check_reference(records, ref, outcome)
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _check_with_polars(self, records: pl.DataFrame, outcome: CheckOutcome) -> None:
        frame = numeric_view(records)
        for expectation, kwargs, resolved in self._expectations:
            rows = polars_engine.unexpected_rows(frame, expectation, resolved)
            if rows:
                self._add(records, outcome, expectation, kwargs, rows)

    def _add(
        self,
        records: pl.DataFrame,
        outcome: CheckOutcome,
        expectation: str,
        kwargs: dict[str, Any],
        rows: list[int],
    ) -> None:
        columns = kwargs.get("column_list") or [kwargs.get("column")]
        reasons = [
            f"contract {self.label}: {expectation} failed on "
            f"{'/'.join(columns)}: value {_shown(records, columns, row)}"
            for row in rows
        ]
        outcome.add(f"{expectation}({'/'.join(columns)})", rows, reasons)

    def _check_expectations(self, records: pl.DataFrame, outcome: CheckOutcome) -> None:
        if self._suite is None:
            self._setup()
        frame = numeric_view(records).to_pandas()
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self._suite, result_format="BOOLEAN_ONLY")
        if result.success:
            return
        gx, _ = _gx()
        failed = [r.expectation_config for r in result.results if not r.success]
        suite = gx.ExpectationSuite(name=f"{self._suite.name}-failed")
        for config in failed:
            suite.add_expectation(config.to_domain_obj())
        detail = batch.validate(suite, result_format={"result_format": "COMPLETE"})
        in_file_order = sorted(
            detail.results, key=lambda r: int(r.expectation_config.meta["index"])
        )
        for r in in_file_order:
            if r.success:
                continue
            expectation, kwargs = self._configs[str(r.expectation_config.meta["index"])]
            rows = [int(i) for i in (r.result.get("unexpected_index_list") or [])]
            if not rows and r.exception_info and r.exception_info.get("raised_exception"):
                message = r.exception_info.get("exception_message")
                raise ValueError(f"contract {self.label}: {expectation} could not run: {message}")
            self._add(records, outcome, expectation, kwargs, rows)

    def _check_reference(
        self, records: pl.DataFrame, ref: Reference, outcome: CheckOutcome
    ) -> None:
        if self.key_loader is None:
            return
        values = records.get_column(ref.column)
        wanted = values.drop_nulls().unique().to_list()
        if not wanted:
            return
        known = self.key_loader(ref, wanted)
        if known is None:
            return
        if self.contract.entity == ref.entity:
            known = pl.concat([known, records.get_column(ref.field).cast(known.dtype)])
        rows = (
            pl.DataFrame({"v": values})
            .with_row_index("row")
            .filter(pl.col("v").is_not_null())
            .join(pl.DataFrame({"v": known.unique()}), on="v", how="anti")
            .get_column("row")
            .sort()
            .to_list()
        )
        if rows:
            shown = values.gather(rows).to_list()
            reasons = [
                f"contract {self.label}: {ref.column} '{v}' is not a known "
                f"{ref.entity}.{ref.field} of this source"
                for v in shown
            ]
            outcome.add(f"reference({ref.column} -> {ref.entity}.{ref.field})", rows, reasons)


def numeric_view(records: pl.DataFrame) -> pl.DataFrame:
    """The batch as the checks see it (GX as pandas, with the row position as its index).

    Exact decimals become floats (they are only range-checked here; what is loaded stays
    exact); dates become days and timestamps microseconds since 1970, so that GX compares
    numbers in one vectorised step instead of calling Python for every date.
    """
    casts = []
    for name, dtype in records.schema.items():
        if isinstance(dtype, pl.Decimal):
            casts.append(pl.col(name).cast(pl.Float64))
        elif dtype == pl.Date:
            casts.append(pl.col(name).cast(pl.Int32))
        elif isinstance(dtype, pl.Datetime):
            casts.append(pl.col(name).dt.convert_time_zone("UTC").dt.epoch("us"))
    return records.with_columns(casts) if casts else records


def _shown(records: pl.DataFrame, columns: list[str], row: int) -> str:
    values = [records.get_column(c)[row] for c in columns]
    text = "/".join("NULL" if v is None else str(v) for v in values)
    if len(text) > MAX_VALUE_SHOWN:
        text = text[:MAX_VALUE_SHOWN] + "..."
    return f"'{text}'"
