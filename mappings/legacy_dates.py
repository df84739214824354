"""Legacy date and time numbers (DB2 for i, JD Edwards, BPCS): dates and times to the
numbers such systems store them as.

- ``CYYDDD``: century flag (0 for 19xx, 1 for 20xx), year in century, day of year;
- ``YYYYMMDD``: the calendar date as one number;
- ``HHMMSS``: the time of day as one number.

The one owner of these encodings: the inverse mapping (push-back writes) and the sample
legacy ERP both use it. Reading them is done by the ``cyyddd``, ``yyyymmdd`` and
``*_hhmmss`` transforms (:mod:`mappings.transforms`).
"""

from __future__ import annotations

from datetime import date, datetime, time


def cyyddd(day: date) -> int:
    """A date as the CYYDDD number (century flag, year in century, day of year)."""
    return (day.year - 1900) // 100 * 100_000 + day.year % 100 * 1000 + day.timetuple().tm_yday


def yyyymmdd(day: date) -> int:
    """A date as the YYYYMMDD number."""
    return day.year * 10_000 + day.month * 100 + day.day


def hhmmss(moment: time) -> int:
    """A time of day as the HHMMSS number."""
    return moment.hour * 10_000 + moment.minute * 100 + moment.second


def stamp(moment: datetime) -> tuple[int, int]:
    """The (YYYYMMDD, HHMMSS) pair of a last-change stamp."""
    return yyyymmdd(moment.date()), hhmmss(moment.time())
