"""A zone's schedule in words. Apart from the zone services (and their shapely and numpy)
so that the pages and processes that only describe zones do not load the geometry engine:
it is a third of a second at every start of an ``ontrack`` process."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _day_runs(days: set[int]) -> list[str]:
    """Weekdays as runs round the week: {4, 5, 6, 0} is "Fri–Mon", {5, 6} "Sat, Sun"."""
    if len(days) == 7:
        return ["every day"]
    first = next(d for d in range(7) if d in days and (d - 1) % 7 not in days)
    runs: list[list[int]] = []
    for step in range(7):
        day = (first + step) % 7
        if day not in days:
            continue
        if runs and (runs[-1][-1] + 1) % 7 == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    words: list[str] = []
    for run in runs:
        if len(run) >= 3:
            words.append(f"{WEEKDAYS[run[0]]}–{WEEKDAYS[run[-1]]}")
        else:
            words.extend(WEEKDAYS[d] for d in run)
    return words


def schedule_describe(schedule: Sequence[Mapping[str, Any]]) -> str:
    """A zone's schedule in words, as staff read it beside a map: "always" when it has
    none, else each interval as "every day 21:00–06:00" or "Mon–Fri 20:00–06:00" (the days
    are those the interval starts on; an end at or before the start is the next morning)."""
    if not schedule:
        return "always"
    return "; ".join(
        f"{', '.join(_day_runs({int(d) for d in item['days']}))} {item['start']}–{item['end']}"
        for item in schedule
    )
