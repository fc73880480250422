"""Stops and gaps of a day's track, for its playback: where the person stayed, and when
nobody can say where they were.

Plain module (no Django, nothing of ours): the track page reads the reports and hands them
here. The rules, in one place:

- A **gap** lies between two consecutive valid fixes when the device sent reports without a
  fix between them (``no_fix``: it reported but could not tell where it was) or, failing
  that, when they are more than ``silence_after`` apart (``silence``: it said nothing). A
  gap runs from the last fix before it to the first fix after it, the time the person's
  place is unknown; reports without a fix at the start or the end of the day make a gap
  from or to their own first or last time. A map must never join a gap's two ends as if the
  person had travelled between them.
- A **segment** is a run of valid fixes with no gap inside; gaps break the track into them.
- A **stop** is a dwell within one segment: fixes that all lie within ``radius_m`` of the
  first for at least ``min_dwell`` (from the first fix to the last). A stop never spans a
  gap (where the person went meanwhile is unknown), and a dwell still going when the track
  ends is a stop up to its last fix.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

EARTH_M = 6_371_000.0
MIN_DWELL = dt.timedelta(minutes=5)
STOP_RADIUS_M = 50.0
SILENCE_AFTER = dt.timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Report:
    """One position report of the device; ``lat``/``lon`` are None when it had no fix."""

    time: dt.datetime
    lat: float | None
    lon: float | None
    valid: bool = True
    speed_kmh: float | None = None
    accuracy_m: float | None = None


@dataclass(frozen=True, slots=True)
class Fix:
    """A valid fix of a segment: a report with a place."""

    time: dt.datetime
    lat: float
    lon: float
    speed_kmh: float | None = None
    accuracy_m: float | None = None


class GapKind(enum.StrEnum):
    NO_FIX = "no_fix"
    SILENCE = "silence"


@dataclass(frozen=True, slots=True)
class Gap:
    start: dt.datetime
    end: dt.datetime
    kind: GapKind


@dataclass(frozen=True, slots=True)
class Stop:
    start: dt.datetime
    end: dt.datetime
    lat: float  # the mean of the stop's fixes
    lon: float
    fixes: int

    @property
    def duration(self) -> dt.timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class TrackShape:
    """A track split for drawing: the segments of valid fixes, the gaps between them and
    the stops within them, each in time order."""

    segments: list[list[Fix]] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(math.sqrt(a))


def _fix(report: Report) -> Fix | None:
    if not report.valid or report.lat is None or report.lon is None:
        return None
    return Fix(report.time, report.lat, report.lon, report.speed_kmh, report.accuracy_m)


def track_gaps_and_segments(
    reports: Sequence[Report], *, silence_after: dt.timedelta = SILENCE_AFTER
) -> tuple[list[list[Fix]], list[Gap]]:
    """The segments and gaps of ``reports`` (in time order), as the module docstring says."""
    segments: list[list[Fix]] = []
    gaps: list[Gap] = []
    last_fix: Fix | None = None
    unfixed: list[Report] = []  # reports without a fix since ``last_fix``
    for report in reports:
        fix = _fix(report)
        if fix is None:
            unfixed.append(report)
            continue
        if last_fix is None:
            if unfixed:
                gaps.append(Gap(unfixed[0].time, fix.time, GapKind.NO_FIX))
            segments.append([fix])
        elif unfixed:
            gaps.append(Gap(last_fix.time, fix.time, GapKind.NO_FIX))
            segments.append([fix])
        elif fix.time - last_fix.time > silence_after:
            gaps.append(Gap(last_fix.time, fix.time, GapKind.SILENCE))
            segments.append([fix])
        else:
            segments[-1].append(fix)
        last_fix = fix
        unfixed = []
    if unfixed:
        start = unfixed[0].time if last_fix is None else last_fix.time
        gaps.append(Gap(start, unfixed[-1].time, GapKind.NO_FIX))
    return segments, gaps


def segment_stops(
    segment: Sequence[Fix],
    *,
    min_dwell: dt.timedelta = MIN_DWELL,
    radius_m: float = STOP_RADIUS_M,
) -> list[Stop]:
    """The stops of one segment (valid fixes with no gap inside, in time order)."""
    stops: list[Stop] = []
    i = 0
    while i < len(segment):
        first = segment[i]
        j = i + 1
        while j < len(segment):
            fix = segment[j]
            if distance_m(first.lat, first.lon, fix.lat, fix.lon) > radius_m:
                break
            j += 1
        dwell = segment[i:j]
        if dwell[-1].time - first.time >= min_dwell:
            stops.append(
                Stop(
                    start=first.time,
                    end=dwell[-1].time,
                    lat=sum(f.lat for f in dwell) / len(dwell),
                    lon=sum(f.lon for f in dwell) / len(dwell),
                    fixes=len(dwell),
                )
            )
            i = j
        else:
            i += 1
    return stops


def track_shape(
    reports: Sequence[Report],
    *,
    min_dwell: dt.timedelta = MIN_DWELL,
    radius_m: float = STOP_RADIUS_M,
    silence_after: dt.timedelta = SILENCE_AFTER,
) -> TrackShape:
    """Segments, gaps and stops of a track's reports (in time order)."""
    segments, gaps = track_gaps_and_segments(reports, silence_after=silence_after)
    stops = [
        stop
        for segment in segments
        for stop in segment_stops(segment, min_dwell=min_dwell, radius_m=radius_m)
    ]
    return TrackShape(segments=segments, gaps=gaps, stops=stops)


def speed_at(segment: Sequence[Fix], index: int) -> float | None:
    """The speed at a fix in km/h: as the device reported it, else from the distance and
    time since the segment's previous fix (None for a segment's first fix)."""
    fix = segment[index]
    if fix.speed_kmh is not None:
        return fix.speed_kmh
    if index == 0:
        return None
    before = segment[index - 1]
    seconds = (fix.time - before.time).total_seconds()
    if seconds <= 0:
        return None
    return distance_m(before.lat, before.lon, fix.lat, fix.lon) / seconds * 3.6
