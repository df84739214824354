"""One delivery's steps in a push-back run, apart from sending it: its write prepared from
the change and what the hub last read of the record (or no write at all: the value is
there already, the record is gone), the values recorded once the target answered (written,
already applied, a conflict, gone), a failed attempt (retried with backoff, or a dead
letter), and the change's state settled from its deliveries'. The run that sends the
writes and records these values is :mod:`crm_core.pushback.deliver`."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.base import stamps_writes
from crm_core.pushback import routing
from crm_core.pushback.batch import ChunkState, printable
from crm_core.pushback.decide import Attempt
from crm_core.pushback.push_result import PushResult
from crm_core.pushback.values import jsonable, typed
from mappings.compile import CompiledStream
from mappings.inverse import to_source
from schemas.pushback import FINISHED_DELIVERIES, ConflictState, PushState
from schemas.settings import HubConfig
from schemas.source import Write, WriteOutcome, WriteRequest

log = logging.getLogger("crm_hub.pushback")


@dataclass
class PreparedWrite:
    """One delivery's write: the change, the delivery, its decision and request."""

    change: dict[str, Any]
    delivery: dict[str, Any]
    attempt: Attempt
    request: WriteRequest
    new: dict[str, Any]

    @property
    def pair(self) -> Write:
        """The request and its ``decide``, as a source's ``write`` takes them."""
        return self.request, self.attempt.decide


def backoff(config: HubConfig, attempts: int) -> timedelta:
    """How long a change waits after its ``attempts``-th failed attempt (doubling, capped,
    with jitter)."""
    base = config.push_back.backoff_seconds * 2 ** max(0, attempts - 1)
    capped = min(base, config.push_back.max_backoff_seconds)
    return timedelta(seconds=capped * random.uniform(0.5, 1.0))


class DeliverySteps:
    """A delivery's steps by the config's push-back rules (see the module's docstring)."""

    def __init__(self, config: HubConfig) -> None:
        self.config = config

    def prepare(
        self,
        change: dict[str, Any],
        delivery: dict[str, Any],
        result: PushResult,
        chunk: ChunkState,
    ) -> PreparedWrite | dict[str, Any]:
        """The write of one delivery, or its new values if it needs none (a pull read the
        value back already)."""
        entity, target = change["entity"], delivery["target"]
        stream = routing.target_stream(self.config, target, entity)
        create = change["op"] == "create"
        fields = [
            f
            for f in change["changes"]
            if f in stream.spec.fields and (create or self._routed(entity, f, target))
        ]
        new = {f: typed(entity, f, change["changes"][f]["new"]) for f in fields}
        if create:
            new.update(delivery["target_key"] or {})
        key_field = routing.key_field(entity)
        to_write = {f: v for f, v in new.items() if f != key_field}
        if self._stamps(target, stream):
            to_write["updated_at"] = datetime.now(UTC).replace(microsecond=0)
        key_value = delivery["record_key"]
        if delivery.get("echoed_at") is not None:
            # a pull found this value in the target already: the write was made (just
            # before a crash that kept it off the record) and whatever the back office did
            # to the record since came after it
            result.already_applied += 1
            now = datetime.now(UTC)
            return {
                "attempts": delivery["attempts"] + 1,
                "last_error": None,
                "updated_at": now,
                "state": PushState.DONE,
                "written": {f: jsonable(v) for f, v in new.items()},
                "written_at": delivery["echoed_at"],
            }
        pulled = chunk.pulled(entity, target, key_value)
        if not create and pulled.get("deleted_at") is not None:
            # a pull saw the record deleted in the target: nothing to write it to
            gone: dict[str, Any] = {
                "attempts": delivery["attempts"] + 1,
                "updated_at": datetime.now(UTC),
                "state": PushState.GONE,
                "last_error": f"the record no longer exists in {target} (deleted there, "
                f"seen by run {pulled.get('deleted_run_id')})",
            }
            log.warning(
                "push-back: %s %s %s: %s",
                change["change_id"],
                target,
                key_value,
                gone["last_error"],
            )
            return gone
        expected = {f: pulled.get(f) for f in fields if f in pulled}
        expected.update(chunk.own_writes(entity, target, key_value, change["change_id"], fields))
        attempt = Attempt(
            stream=stream,
            fields=[f for f in fields if f != key_field],
            new=new,
            expected=expected,
            rules={f: self.config.push_back.rule(entity, f) for f in fields},
            created_at=change["created_at"],
            create=create,
            force=delivery["state"] == PushState.FORCE,
        )
        raw = to_source(stream, to_write)
        stamp = stream.spec.fields.get("updated_at")
        request = WriteRequest(
            stream=stream.stream,
            key=to_source(stream, {key_field: key_value}),
            values=raw,
            idempotency_key=f"{change['change_id']}:{target}:{key_value}",
            create=create,
            # the record's change stamp, for newest_wins, where the hub does not write it
            also_read=tuple(c for c in (stamp.inputs if stamp else []) if c not in raw),
        )
        return PreparedWrite(change, delivery, attempt, request, new)

    def finish(
        self, write: PreparedWrite, outcome: WriteOutcome, result: PushResult
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """A written delivery's new values and any conflicts found."""
        change, delivery, attempt = write.change, write.delivery, write.attempt
        target, key_value = delivery["target"], delivery["record_key"]
        create = change["op"] == "create"
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "attempts": delivery["attempts"] + 1,
            "last_error": None,
            "updated_at": now,
        }
        if outcome.decision in ("write", "done"):
            if outcome.decision == "write":
                result.written += 1
            else:
                result.already_applied += 1
            values.update(
                state=PushState.APPLIED if outcome.decision == "write" else PushState.DONE,
                written={f: jsonable(v) for f, v in write.new.items()},
                written_at=now,
            )
            # written over a back-office change by the field's policy: still on record
            found = self._conflicts(change, delivery, attempt, "crm", now)
            return values, found
        if outcome.current is None and not create:
            values.update(
                state=PushState.GONE, last_error=f"the record no longer exists in {target}"
            )
            log.warning(
                "push-back: %s %s %s: %s",
                change["change_id"],
                target,
                key_value,
                values["last_error"],
            )
            return values, []
        resolution = attempt.policy_wins
        values["state"] = PushState.SKIPPED if resolution == "target" else PushState.CONFLICT
        result.conflicts += 1
        return values, self._conflicts(change, delivery, attempt, resolution, now)

    def _routed(self, entity: str, field: str, target: str) -> bool:
        """Whether ``target`` receives changes of ``entity.field``."""
        rule = self.config.push_back.rule(entity, field)
        return rule is not None and target in rule.targets

    def _stamps(self, target: str, stream: CompiledStream) -> bool:
        if not self.config.push_back.stamp_writes:
            return False
        if not stamps_writes(self.config.source(target).kind):
            return False
        stamp = stream.spec.fields.get("updated_at")
        return stamp is not None and stamp.source is not None

    def _conflicts(
        self,
        change: dict[str, Any],
        delivery: dict[str, Any],
        attempt: Attempt,
        resolution: str | None,
        now: datetime,
    ) -> list[dict[str, Any]]:
        """Conflict rows for the fields the target changed since the hub read them."""
        if not attempt.diverged:
            return []
        log.warning(
            "push-back: %s %s %s: %s changed since the hub read it (%s)",
            change["change_id"],
            delivery["target"],
            delivery["record_key"],
            ", ".join(attempt.diverged),
            f"kept the {resolution} value" if resolution else "left for a person to resolve",
        )
        rows = []
        for name, value in attempt.diverged.items():
            rule = attempt.rules[name]
            rows.append(
                {
                    "change_id": change["change_id"],
                    "golden_id": change["golden_id"],
                    "target": delivery["target"],
                    "stream": delivery["stream"],
                    "record_key": delivery["record_key"],
                    "field": name,
                    "crm_value": _text(attempt.new.get(name)),
                    "target_value": _text(value),
                    "pulled_value": _text(attempt.expected.get(name)),
                    "crm_at": change["created_at"],
                    "target_at": attempt.target_at,
                    "policy": rule.on_conflict if rule else "manual",
                    "state": ConflictState.RESOLVED if resolution else ConflictState.OPEN,
                    "resolution": resolution,
                    "resolved_by": f"policy:{rule.on_conflict}" if resolution and rule else None,
                    "resolved_at": now if resolution else None,
                    "created_at": now,
                }
            )
        return rows

    def failure(
        self, change: dict[str, Any], delivery: dict[str, Any], message: str, retry: bool
    ) -> dict[str, Any]:
        """A failed attempt's values: still pending if it may be retried, else failed."""
        attempts = delivery["attempts"] + 1
        final = not retry or attempts >= self.config.push_back.max_attempts
        log.warning(
            "push-back: %s -> %s attempt %s failed%s: %s",
            change["change_id"],
            delivery["target"],
            attempts,
            " (dead letter)" if final else "",
            message,
        )
        return {
            "attempts": attempts,
            "last_error": printable(message)[:2000],
            "state": PushState.FAILED if final else delivery["state"],
            "updated_at": datetime.now(UTC),
        }

    def settle(
        self,
        change: dict[str, Any],
        deliveries: list[dict[str, Any]],
        transient: bool,
        result: PushResult,
    ) -> dict[str, Any]:
        """The change's new values from its deliveries' states."""
        now = datetime.now(UTC)
        states = [d["state"] for d in deliveries]
        errors = [d["last_error"] for d in deliveries if d.get("last_error")]
        attempts = change["attempts"] + 1
        values: dict[str, Any] = {
            "attempts": attempts,
            "updated_at": now,
            "last_error": errors[0] if errors else None,
        }
        if PushState.FAILED in states:
            values.update(state=PushState.FAILED, finished_at=None)
            result.failed += 1
        elif PushState.CONFLICT in states:
            values.update(state=PushState.CONFLICT)
        elif all(s in FINISHED_DELIVERIES for s in states) and PushState.GONE in states:
            values.update(state=PushState.GONE, finished_at=now)
            result.gone += 1
        elif all(s in FINISHED_DELIVERIES for s in states):
            values.update(state=PushState.DELIVERED, finished_at=now, last_error=None)
            result.delivered += 1
        else:
            values.update(
                state=PushState.PENDING, next_attempt_at=now + backoff(self.config, attempts)
            )
            if transient:
                result.retrying += 1
        return values


def _text(value: Any) -> str | None:
    return None if value is None else str(jsonable(value))
