"""The hub's few error types, split by how they are handled (see STYLE.md, point 4).

Only ``dags/`` turns these into Airflow retries or failures; the CLI turns them into one
clear line and an exit code. Every message is safe to show: it never carries a secret.
"""

from __future__ import annotations


class HubError(Exception):
    """Base of every error the hub raises on purpose, with an optional list of problems."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = list(problems or [])
        lines = [message] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class ConfigError(HubError):
    """The configuration (file, environment, connection) is wrong; retrying will not help."""


class MappingError(HubError):
    """A mapping file is invalid (unknown field, unknown transform, bad YAML)."""


class InvalidInput(HubError):
    """A value given to the hub (a change, a pin, a note) that it refuses as it is, e.g.
    text with control characters: the input must be fixed (the CLI exits 2, the API
    answers 422). ``field`` names the field at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RetriableError(HubError):
    """A transient failure (network, lock, timeout): the same run may succeed later."""


class FatalSyncError(HubError):
    """A sync cannot continue (schema drift, too many bad rows); a human must look."""


class InvalidRecord(HubError):
    """One record is bad: it is quarantined with this reason and the run goes on."""

    def __init__(self, reason: str, key: str | None = None, field: str | None = None) -> None:
        self.reason = reason
        self.key = key
        self.field = field
        where = ", ".join(
            part
            for part in (f"record {key}" if key else "", f"field {field}" if field else "")
            if part
        )
        super().__init__(f"{where}: {reason}" if where else reason)
