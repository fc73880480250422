"""Check-in recurrence as plain date arithmetic (no Django): which local dates a cadence
falls on, and the UTC instants of a local window on such a date.

Dates are computed on the participant's calendar and only then turned into instants with
``zoneinfo``, so a Tuesday 08:00–20:00 window stays 08:00–20:00 on the wall clock across
the March and November daylight-saving changes (its length in UTC is 12 h either side, and
on the change day itself the wall-clock window is kept, not the 12 hours).

A local time that does not exist (02:30 on the spring-forward night) is read with the
offset in force before the change (PEP 495, ``fold=0``), i.e. it moves one hour later; a
time that happens twice (01:30 in November) is its first occurrence.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

WEEKLY = "weekly"
MONTHLY_WEEKDAY = "monthly_weekday"
MONTHLY_DAY = "monthly_day"
CUSTOM = "custom"

UTC = dt.UTC


@dataclass(frozen=True, slots=True)
class Cadence:
    """``weekly``: every ``interval`` weeks (counted from the week of ``starts_on``) on
    ``weekdays`` (0 = Monday). ``monthly_weekday``: the ``week``-th (1–4, or -1 for the
    last) ``weekdays[0]`` of each month. ``monthly_day``: day ``day`` of each month (the
    last day in shorter months). ``custom``: exactly ``dates``."""

    kind: str
    starts_on: dt.date
    ends_on: dt.date | None = None
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    week: int = 1
    day: int = 1
    dates: tuple[dt.date, ...] = ()


def _nth_weekday(year: int, month: int, weekday: int, week: int) -> dt.date | None:
    days = [
        dt.date(year, month, d)
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if dt.date(year, month, d).weekday() == weekday
    ]
    if week == -1:
        return days[-1]
    return days[week - 1] if 1 <= week <= len(days) else None


def _months(start: dt.date, end: dt.date) -> Iterator[tuple[int, int]]:
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        yield year, month
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _candidates(cadence: Cadence, start: dt.date, end: dt.date) -> Iterator[dt.date]:
    if cadence.kind == WEEKLY:
        step = 7 * max(cadence.interval, 1)
        monday = cadence.starts_on - dt.timedelta(days=cadence.starts_on.weekday())
        found: list[dt.date] = []
        for weekday in set(cadence.weekdays):
            first = monday + dt.timedelta(days=weekday)
            if first < start:
                first += dt.timedelta(days=-(-(start - first).days // step) * step)
            found.extend(
                first + dt.timedelta(days=k) for k in range(0, (end - first).days + 1, step)
            )
        yield from sorted(found)
    elif cadence.kind == MONTHLY_WEEKDAY:
        weekday = cadence.weekdays[0] if cadence.weekdays else 0
        for year, month in _months(start, end):
            nth = _nth_weekday(year, month, weekday, cadence.week)
            if nth is not None:
                yield nth
    elif cadence.kind == MONTHLY_DAY:
        for year, month in _months(start, end):
            yield dt.date(year, month, min(cadence.day, calendar.monthrange(year, month)[1]))
    elif cadence.kind == CUSTOM:
        yield from sorted(set(cadence.dates))
    else:
        raise ValueError(f"unknown cadence {cadence.kind!r}")


def occurrence_dates(cadence: Cadence, start: dt.date, end: dt.date) -> list[dt.date]:
    """The local dates in ``[start, end]`` (and within the cadence's own start and end) on
    which a window falls, in order."""
    lower = max(start, cadence.starts_on)
    upper = min(end, cadence.ends_on) if cadence.ends_on else end
    if upper < lower:
        return []
    return [d for d in _candidates(cadence, lower, upper) if lower <= d <= upper]


def local_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """``day`` at wall-clock ``at`` in ``zone``, as a UTC instant."""
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def window_instants(
    day: dt.date, opens: dt.time, closes: dt.time, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime]:
    """The UTC (opens_at, closes_at) of a local window on ``day``; a window whose closing
    time is not after its opening time closes on the next day (e.g. 20:00–02:00)."""
    close_day = day if closes > opens else day + dt.timedelta(days=1)
    return local_instant(day, opens, zone), local_instant(close_day, closes, zone)


def windows(
    cadence: Cadence,
    opens: dt.time,
    closes: dt.time,
    zone: ZoneInfo,
    start: dt.date,
    end: dt.date,
) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """Every (local date, opens_at, closes_at) of the cadence between two local dates."""
    return [
        (day, *window_instants(day, opens, closes, zone))
        for day in occurrence_dates(cadence, start, end)
    ]


def parse_dates(values: Sequence[str]) -> tuple[dt.date, ...]:
    return tuple(sorted({dt.date.fromisoformat(v) for v in values}))
