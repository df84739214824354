"""The run ledger as Prometheus metrics (text exposition format).

Values are read from the ledger when scraped (a custom collector on a registry of its own),
so any process can serve them: ``crm-hub metrics`` for a node-exporter textfile or a cron
job, or an HTTP endpoint later. Counters are totals over the runs the ledger holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from crm_core.ledger import health
from crm_core.ledger.runs import SUCCESS
from crm_core.pushback.outbox import counts as outbox_counts
from crm_core.store.tables import conflicts, quarantine, unmapped_codes
from schemas.pushback import CHANGE_STATES, ConflictState
from schemas.settings import HubConfig

LABELS = ["source", "stream"]


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


class LedgerCollector(Collector):
    """Collects per-stream metrics from the run ledger at each scrape."""

    def __init__(self, config: HubConfig, store: Engine, failures: int = 3) -> None:
        self.config = config
        self.store = store
        self.failures = failures

    def collect(self) -> Iterator[Metric]:
        """Yield every metric family, read fresh from the store."""
        stats = health.stream_stats(self.store)
        runs = CounterMetricFamily(
            "crm_hub_runs", "Runs in the ledger by final status.", labels=[*LABELS, "status"]
        )
        totals = {
            name: CounterMetricFamily(
                f"crm_hub_rows_{name}", f"Rows {name}, all runs.", labels=LABELS
            )
            for name in ("read", "loaded", "quarantined", "deleted")
        }
        gauges = {
            "last_success": GaugeMetricFamily(
                "crm_hub_last_run_success", "1 if the newest finished run succeeded.", labels=LABELS
            ),
            "duration": GaugeMetricFamily(
                "crm_hub_last_run_duration_seconds",
                "Duration of the newest finished run.",
                labels=LABELS,
            ),
            "finished": GaugeMetricFamily(
                "crm_hub_last_run_finished_timestamp_seconds",
                "When the newest finished run ended (Unix time).",
                labels=LABELS,
            ),
            "last_rows": GaugeMetricFamily(
                "crm_hub_last_run_rows_loaded",
                "Rows loaded by the newest finished run.",
                labels=LABELS,
            ),
            "success_at": GaugeMetricFamily(
                "crm_hub_last_success_timestamp_seconds",
                "When the newest successful run ended (Unix time).",
                labels=LABELS,
            ),
            "failures": GaugeMetricFamily(
                "crm_hub_consecutive_failures", "Failed runs since the last success.", labels=LABELS
            ),
        }
        for (source, stream), s in sorted(stats.items()):
            labels = [source, stream]
            for status, count in sorted(s.runs.items()):
                runs.add_metric([*labels, status], count)
            totals["read"].add_metric(labels, s.rows_read)
            totals["loaded"].add_metric(labels, s.rows_loaded)
            totals["quarantined"].add_metric(labels, s.rows_quarantined)
            totals["deleted"].add_metric(labels, s.rows_deleted)
            gauges["failures"].add_metric(labels, s.consecutive_failures)
            if s.last_finished:
                last = s.last_finished
                gauges["last_success"].add_metric(labels, float(last["status"] == SUCCESS))
                gauges["duration"].add_metric(labels, health.duration_seconds(last) or 0.0)
                gauges["finished"].add_metric(labels, _ts(last["finished_at"]) or 0.0)
                gauges["last_rows"].add_metric(labels, last["rows_loaded"])
            if s.last_success_finished:
                gauges["success_at"].add_metric(labels, _ts(s.last_success_finished) or 0.0)
        yield runs
        yield from totals.values()
        yield from gauges.values()
        yield self._unhealthy(stats)
        yield self._open_quarantine()
        yield from self._unmapped_codes()
        yield from self._outbox()

    def _outbox(self) -> Iterator[Metric]:
        """Push-back: changes per outbox state (dead letters are ``failed``), open conflicts."""
        changes = GaugeMetricFamily(
            "crm_hub_outbox_changes",
            "CRM-side changes in the outbox, per state (failed: dead letters).",
            labels=["state"],
        )
        per_state = outbox_counts(self.store)
        with self.store.connect() as conn:
            open_conflicts = conn.execute(
                select(func.count())
                .select_from(conflicts)
                .where(conflicts.c.state == ConflictState.OPEN)
            ).scalar()
        for state in CHANGE_STATES:
            changes.add_metric([state], int(per_state.get(state, 0)))
        yield changes
        yield GaugeMetricFamily(
            "crm_hub_conflicts_open",
            "Push-back conflicts waiting for a person.",
            value=int(open_conflicts or 0),
        )

    def _unhealthy(self, stats: dict[tuple[str, str], health.StreamStats]) -> Metric:
        late = GaugeMetricFamily(
            "crm_hub_stream_unhealthy",
            "1 if the stream failed its last runs or is late for its schedule.",
            labels=LABELS,
        )
        for h in health.health(self.config, self.store, failures=self.failures, stats=stats):
            late.add_metric([h.source, h.stream], float(not h.ok))
        return late

    def _unmapped_codes(self) -> Iterator[Metric]:
        """Source codes without a crosswalk entry, per source, stream and field."""
        codes = GaugeMetricFamily(
            "crm_hub_unmapped_codes",
            "Distinct source codes kept without a canonical code (no crosswalk entry).",
            labels=[*LABELS, "field"],
        )
        rows = GaugeMetricFamily(
            "crm_hub_unmapped_code_rows",
            "Rows pulled with a source code that has no crosswalk entry.",
            labels=[*LABELS, "field"],
        )
        with self.store.connect() as conn:
            found = conn.execute(
                select(
                    unmapped_codes.c.source,
                    unmapped_codes.c.stream,
                    unmapped_codes.c.field,
                    func.count(),
                    func.sum(unmapped_codes.c.rows),
                ).group_by(unmapped_codes.c.source, unmapped_codes.c.stream, unmapped_codes.c.field)
            ).all()
        for source, stream, field, values, total in found:
            codes.add_metric([source, stream, field], int(values))
            rows.add_metric([source, stream, field], int(total or 0))
        yield codes
        yield rows

    def _open_quarantine(self) -> Metric:
        metric = GaugeMetricFamily(
            "crm_hub_quarantine_open_rows", "Quarantined rows not yet resolved.", labels=LABELS
        )
        with self.store.connect() as conn:
            for row in conn.execute(
                select(quarantine.c.source, quarantine.c.stream, func.count())
                .where(quarantine.c.status == "open")
                .group_by(quarantine.c.source, quarantine.c.stream)
                .order_by(quarantine.c.source, quarantine.c.stream)
            ):
                metric.add_metric([row[0], row[1]], row[2])
        return metric


def prometheus_text(config: HubConfig, store: Engine, failures: int = 3) -> str:
    """Every metric in the Prometheus text exposition format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(LedgerCollector(config, store, failures))
    return generate_latest(registry).decode("utf-8")
