"""What the track page's playback draws, as one JSON-able dict for ``json_script``: the
track split into segments, gaps and stops (``tracking.stops``), the participant's zones with
their schedules in words, and the office's clock over the window.

The browser shows times on the office's wall clock with its zone's abbreviation, as the rest
of the console does (``office_time``). Browsers name zones their own way ("GMT-5" for
"EST" in some locales), so the server sends the clock itself: the UTC offset and
abbreviation in force from each instant of the window (one entry, or two across a DST
change), and the page only adds an offset.

Times in the dict are milliseconds since the epoch (what ``Date`` and a slider take);
coordinates are [lat, lon] as Leaflet takes them. The caller has read the participant
through the gate: nothing here checks or logs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ontrack.accounts.templatetags.office_time import office_local, office_time
from ontrack.tracking.queries import TrackItem
from ontrack.tracking.stops import (
    MIN_DWELL,
    SILENCE_AFTER,
    STOP_RADIUS_M,
    Fix,
    GapKind,
    Report,
    TrackShape,
    speed_at,
    track_shape,
)
from ontrack.zones.models import Zone
from ontrack.zones.queries import zone_feature

GAP_LABELS = {GapKind.NO_FIX: "No GPS fix", GapKind.SILENCE: "No report"}
_CLOCK_PROBE = dt.timedelta(hours=1)  # no zone changes its clock twice within an hour


@dataclass(frozen=True, slots=True)
class Playback:
    shape: TrackShape
    data: dict[str, Any]


def _ms(when: dt.datetime) -> int:
    return round(when.timestamp() * 1000)


def duration_words(duration: dt.timedelta) -> str:
    """``6 min``, ``1 h 05 min``."""
    minutes = int(duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _clock_key(when: dt.datetime, time_zone: str) -> tuple[int, str]:
    local = office_local(when, time_zone)
    offset = local.utcoffset() or dt.timedelta(0)
    return round(offset.total_seconds() * 1000), local.tzname() or ""


def clock_periods(start: dt.datetime, end: dt.datetime, time_zone: str) -> list[list[Any]]:
    """``[from_ms, offset_ms, abbreviation]`` for each change of the office's clock within
    [start, end], the first at ``start``: probed hourly, each change then found to the
    second by bisection."""
    key = _clock_key(start, time_zone)
    periods: list[list[Any]] = [[_ms(start), *key]]
    before = start
    while before < end:
        after = min(before + _CLOCK_PROBE, end)
        if _clock_key(after, time_zone) != key:
            low, high = before, after
            while high - low > dt.timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (
                    (low, middle) if _clock_key(middle, time_zone) != key else (middle, high)
                )
            key = _clock_key(high, time_zone)
            periods.append([_ms(high), *key])
        before = after
    return periods


def track_reports(items: Iterable[TrackItem]) -> list[Report]:
    """The position reports of a track (device events left out), in time order."""
    return [
        Report(
            time=item.time,
            lat=_float(item.position["lat"]),
            lon=_float(item.position["lon"]),
            valid=bool(item.position["valid"]),
            speed_kmh=_float(item.position["speed_kmh"]),
            accuracy_m=_float(item.position["accuracy_m"]),
        )
        for item in items
        if item.position is not None
    ]


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _point(segment: Sequence[Fix], index: int) -> list[Any]:
    fix = segment[index]
    speed = speed_at(segment, index)
    return [
        _ms(fix.time),
        fix.lat,
        fix.lon,
        fix.accuracy_m,
        None if speed is None else round(speed, 1),
    ]


def track_playback(
    items: Sequence[TrackItem],
    *,
    start: dt.datetime,
    end: dt.datetime,
    at: dt.datetime | None,
    time_zone: str,
    zones: Iterable[Zone],
    min_dwell: dt.timedelta = MIN_DWELL,
    radius_m: float = STOP_RADIUS_M,
    silence_after: dt.timedelta = SILENCE_AFTER,
) -> Playback:
    shape = track_shape(
        track_reports(items), min_dwell=min_dwell, radius_m=radius_m, silence_after=silence_after
    )
    ends = {fix.time: fix for segment in shape.segments for fix in (segment[0], segment[-1])}

    def place(when: dt.datetime) -> list[float] | None:
        fix = ends.get(when)
        return None if fix is None else [fix.lat, fix.lon]

    features = [zone_feature(zone) for zone in zones]
    data = {
        "start": _ms(start),
        "end": _ms(end),
        "at": None if at is None else _ms(at),
        "clock": clock_periods(start, end, time_zone),
        "silence_after": round(silence_after.total_seconds() * 1000),
        "segments": [
            [_point(segment, i) for i in range(len(segment))] for segment in shape.segments
        ],
        "gaps": [
            {
                "start": _ms(gap.start),
                "end": _ms(gap.end),
                "label": f"{GAP_LABELS[gap.kind]} from {office_time(gap.start, time_zone)} "
                f"to {office_time(gap.end, time_zone)}",
                "from": place(gap.start),
                "to": place(gap.end),
            }
            for gap in shape.gaps
        ],
        "stops": [
            {
                "start": _ms(stop.start),
                "end": _ms(stop.end),
                "lat": stop.lat,
                "lon": stop.lon,
                "duration": duration_words(stop.duration),
                "label": stop_words(stop.start, stop.end, time_zone),
            }
            for stop in shape.stops
        ],
        "zones": features,
    }
    return Playback(shape=shape, data=data)


def stop_words(start: dt.datetime, end: dt.datetime, time_zone: str) -> str:
    """``Stopped 6 min, 16:04–16:10 EST``, on the office's clock."""
    first, last = office_local(start, time_zone), office_local(end, time_zone)
    return f"Stopped {duration_words(end - start)}, {first:%H:%M}–{last:%H:%M} {last.tzname()}"
