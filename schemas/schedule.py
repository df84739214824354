"""Schedules in the config: a five-field cron expression or one of Airflow's presets."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@continuous"}


def check_schedule(value: str) -> str:
    """``value`` if it is a cron expression or a preset, else ``ValueError``."""
    if value in PRESETS or len(value.split()) == 5:
        return value
    raise ValueError(
        f"schedule {value!r} is neither a cron expression nor one of {sorted(PRESETS)}"
    )


#: A config field holding a schedule.
Schedule = Annotated[str, AfterValidator(check_schedule)]
