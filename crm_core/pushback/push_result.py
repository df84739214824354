"""What one push-back run did, and how the ledger keeps it: the counts, the error naming
the changes that became dead letters, and the hour's no-op row that runs with nothing to
do are counted in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update

from crm_core.ledger import runs
from crm_core.ledger.names import HUB_SOURCE, PUSH_BACK
from crm_core.store.tables import runs as ledger

#: Dead letters a failed run's error names one by one.
DEAD_LETTERS_NAMED = 10


@dataclass
class PushResult:
    """What one push-back run did."""

    run_id: int | None = None
    changes: int = 0
    delivered: int = 0
    written: int = 0
    already_applied: int = 0
    conflicts: int = 0
    retrying: int = 0
    failed: int = 0
    gone: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for the CLI, the API and a scheduler's log."""
        return dict(self.__dict__)


def dead_letters_error(result: PushResult) -> str:
    """A run's error for the changes that became dead letters: each change, its target and
    the reason."""
    reasons = list(dict.fromkeys(result.errors))  # a change's reason may come twice
    shown = "; ".join(reasons[:DEAD_LETTERS_NAMED])
    more = len(reasons) - DEAD_LETTERS_NAMED
    if more > 0:
        shown += f"; and {more} more (crm-hub outbox list --failed)"
    return f"{result.failed} change(s) became dead letters: {shown or 'see crm-hub outbox list'}"


def fold_noop(store: Engine, run_id: int, checks: dict[str, Any]) -> int:
    """Close a push-back run that had nothing to do. When the newest push-back row before
    it is a no-op row of the same hour (UTC), the run is counted there (its ``checks.runs``
    goes up by one, its ``finished_at`` moves to now) and its own row goes; else its row is
    closed as the hour's no-op row (``checks.runs`` 1). Returns the id of the row that
    counts it."""
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    with store.begin() as conn:
        before = (
            conn.execute(
                select(ledger.c.id, ledger.c.status, ledger.c.started_at, ledger.c.checks)
                .where(
                    ledger.c.source == HUB_SOURCE,
                    ledger.c.stream == PUSH_BACK,
                    ledger.c.id < run_id,
                    ledger.c.status != runs.REFUSED,
                )
                .order_by(ledger.c.id.desc())
                .limit(1)
            )
            .mappings()
            .first()
        )
        kept: dict[str, Any] = dict(before["checks"] or {}) if before is not None else {}
        if (
            before is None
            or before["status"] != runs.SUCCESS
            or before["started_at"] < hour
            or kept.get("changes")
            or "runs" not in kept
        ):
            conn.execute(
                update(ledger)
                .where(ledger.c.id == run_id)
                .values(
                    status=runs.SUCCESS,
                    finished_at=now,
                    checks={**checks, "runs": 1},
                )
            )
            return run_id
        kept["runs"] = int(kept["runs"]) + 1
        conn.execute(
            update(ledger).where(ledger.c.id == before["id"]).values(finished_at=now, checks=kept)
        )
        conn.execute(delete(ledger).where(ledger.c.id == run_id))
        return int(before["id"])
