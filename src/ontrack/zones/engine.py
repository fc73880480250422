"""The vectorised zone engine: a batch of fixes against each fix's own participant's zones.

Plain module (no Django, nothing of ours) so that the gateway, the services and the
benchmark share it. The shape of one evaluation:

1. ``ZoneSet`` holds one *slot* per (participant, zone) pair, laid out as a CSR index
   (participants sorted, each with a run of slots) plus per-slot numpy state arrays. A fix
   is expanded to its participant's slots with a lookup + ``repeat``: no Python loop per
   fix.
2. Each zone's geometry is projected once into a local metric plane around its own centre
   (equirectangular: metres east/north; errors are far below GPS accuracy at zone sizes)
   and prepared; prepared geometries are cached per (zone id, version), so an edit (which
   bumps the version) is picked up and an unchanged zone is never rebuilt.
3. Work shrinks at each step. Every pair gets four comparisons against its zone's bounding
   box in degrees (nearly every fix is far from nearly every zone of its participant); only
   pairs in the box are projected and tested exactly: circles by numpy distance, polygons
   by one element-wise ``shapely.contains_xy`` call on the prepared polygons.
4. The accuracy rule: a fix on the wrong side is a *certain* violation only when its whole
   accuracy circle (plus the zone's buffer) is on the wrong side, i.e. it is not within
   ``accuracy + buffer`` metres of the boundary (distance arithmetic for circles, the box
   and then ``shapely.dwithin`` for polygons, only for the wrong-side pairs in force).
   Otherwise it takes ``consecutive`` wrong-side fixes in a row.
5. The state machine runs in rounds: round k takes the k-th fix (in time order) of every
   slot, so it is vectorised even when a device reports several fixes in one batch. A fix
   not later than the slot's last fix is ignored, so a late or replayed fix never moves the
   state backwards. A slot *settled* on one side (no violation, no wrong-side run) whose
   fix finds it on the same side only has its last fix time moved.

Output is transitions (``entered`` / ``left`` when the side changes, ``violation`` /
``cleared`` when the rule's condition starts and ends), never one event per fix.

Schedules (curfews) are weekly intervals of local wall-clock time in the participant's time
zone, kept as one bit per minute of the week: the UTC offset comes from ``zoneinfo`` (once
per time zone and quarter hour present in a batch), so "20:00-06:00" is right across DST
changes. A zone only counts during its schedule; the side is tracked all the time, so a
participant already outside when the curfew starts is in violation at their next fix. A
violation that began during the schedule lasts until the person is back on the right side,
even past the schedule's end: the curfew ending does not excuse someone still out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import shapely

EARTH_M = 6_371_000.0
M_PER_DEG = math.pi / 180 * EARTH_M

INCLUSION = "inclusion"
EXCLUSION = "exclusion"

SIDE_UNKNOWN = 0
SIDE_INSIDE = 1
SIDE_OUTSIDE = 2
SIDE_NAMES = {SIDE_UNKNOWN: "unknown", SIDE_INSIDE: "inside", SIDE_OUTSIDE: "outside"}
SIDE_CODES = {name: code for code, name in SIDE_NAMES.items()}

TransitionKind = Literal["entered", "left", "violation", "cleared"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Interval:
    """Weekly interval of local time: ``days`` are ISO weekdays 0=Monday..6=Sunday on which
    the interval *starts*; ``end`` at or before ``start`` means it runs past midnight."""

    days: frozenset[int]
    start_min: int
    end_min: int

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Interval:
        return cls(
            days=frozenset(int(d) for d in data["days"]),
            start_min=_minutes(str(data["start"])),
            end_min=_minutes(str(data["end"])),
        )

    def covers(self, weekday: int, minute: int) -> bool:
        if self.start_min < self.end_min:
            return weekday in self.days and self.start_min <= minute < self.end_min
        return (weekday in self.days and minute >= self.start_min) or (
            (weekday - 1) % 7 in self.days and minute < self.end_min
        )


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 24 * 60:
        raise ValueError(f"time of day out of range: {hhmm!r}")
    return value


def schedule_covers(intervals: Sequence[Interval], when: datetime, zone: ZoneInfo) -> bool:
    """Whether an aware ``when`` falls inside any interval, in the wall-clock time of
    ``zone`` (so a curfew follows the clocks across DST changes)."""
    local = when.astimezone(zone)
    minute = local.hour * 60 + local.minute
    return any(interval.covers(local.weekday(), minute) for interval in intervals)


@dataclass(frozen=True, slots=True)
class ZoneSpec:
    """What the engine needs of a zone. ``geometry`` is a GeoJSON Polygon or MultiPolygon
    (lon, lat) or
    ``{"type": "Circle", "center": [lon, lat], "radius_m": r}``."""

    id: int
    version: int
    kind: str
    geometry: Mapping[str, Any]
    buffer_m: float = 0.0
    schedule: tuple[Interval, ...] = ()
    active_from: datetime | None = None
    active_to: datetime | None = None
    stamp: float = 0.0  # last-edit time: with the version, tells a re-used id apart
    # Wrong-side fixes in a row that make a violation (when none is wholly wrong); 0: the
    # ``consecutive`` given to ``evaluate`` (the installation's setting).
    consecutive: int = 0


@dataclass(frozen=True, slots=True)
class Assignment:
    """One zone in force for one participant, whose local time zone drives its schedule."""

    participant_id: int
    zone: ZoneSpec
    time_zone: str = "UTC"


@dataclass(slots=True)
class SlotState:
    side: str = "unknown"
    since: datetime | None = None
    last_fix_at: datetime | None = None
    consecutive: int = 0
    violating: bool = False


class Transition(NamedTuple):
    """A tuple, not a dataclass: a busy batch creates hundreds, and a tuple is built in a
    fraction of a frozen dataclass's time."""

    participant_id: int
    zone_id: int
    kind: TransitionKind
    epoch: float  # the fix's time, seconds since 1970 UTC
    lat: float
    lon: float
    accuracy_m: float
    zone_kind: str

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, UTC)


@dataclass(slots=True)
class Prepared:
    """A zone's geometry in its local metric plane."""

    lon0: float
    lat0: float
    kx: float  # metres per degree of longitude at lat0
    polygon: Any | None  # prepared shapely Polygon in metres, or None for a circle
    boundary: Any | None
    radius_m: float
    bounds: tuple[float, float, float, float]  # x0, y0, x1, y1 in metres

    @property
    def numbers(self) -> tuple[float, ...]:
        """lon0, lat0, kx, radius, x0, y0, x1, y1: the slot columns ``compile_zones`` reads."""
        return (self.lon0, self.lat0, self.kx, self.radius_m, *self.bounds)


def _prepare(geometry: Mapping[str, Any]) -> Prepared:
    kind = geometry.get("type")
    if kind == "Circle":
        lon0, lat0 = (float(v) for v in geometry["center"])
        kx = M_PER_DEG * math.cos(math.radians(lat0))
        r = float(geometry["radius_m"])
        return Prepared(lon0, lat0, kx, None, None, r, (-r, -r, r, r))
    if kind == "Polygon":
        parts = [geometry["coordinates"]]
    elif kind == "MultiPolygon":  # e.g. a school's two sites, imported as one zone
        parts = list(geometry["coordinates"])
    else:
        raise ValueError(f"unsupported zone geometry {kind!r}")
    part_rings = [[np.asarray(ring, dtype=np.float64)[:, :2] for ring in part] for part in parts]
    shells = np.vstack([rings[0] for rings in part_rings])
    lon_min, lat_min = shells.min(axis=0)
    lon_max, lat_max = shells.max(axis=0)
    lon0, lat0 = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    shapes = []
    for rings in part_rings:
        metric = [
            np.column_stack(((r[:, 0] - lon0) * kx, (r[:, 1] - lat0) * M_PER_DEG)) for r in rings
        ]
        shapes.append(shapely.Polygon(metric[0], metric[1:]))
    polygon = shapes[0] if len(shapes) == 1 else shapely.MultiPolygon(shapes)
    boundary = polygon.boundary
    shapely.prepare(polygon)
    shapely.prepare(boundary)
    # GEOS builds a prepared polygon's point-in-area index on first use: build it now, once
    # per zone version, rather than inside the first batch that meets the zone.
    shapely.contains_xy(polygon, 0.0, 0.0)
    x0, y0, x1, y1 = polygon.bounds
    return Prepared(float(lon0), float(lat0), kx, polygon, boundary, 0.0, (x0, y0, x1, y1))


class GeometryCache:
    """Prepared geometries per (zone id, version). Editing a zone bumps its version, so a
    stale entry is simply never asked for again; old versions are dropped on replacement."""

    def __init__(self) -> None:
        self._items: dict[int, tuple[tuple[int, float], Prepared]] = {}

    def get(self, zone: ZoneSpec) -> Prepared:
        key = (zone.version, zone.stamp)
        hit = self._items.get(zone.id)
        if hit is not None and hit[0] == key:
            return hit[1]
        prepared = _prepare(zone.geometry)
        self._items[zone.id] = (key, prepared)
        return prepared

    def __len__(self) -> int:
        return len(self._items)


def _epoch(when: datetime | None, default: float) -> float:
    return default if when is None else when.timestamp()


@dataclass
class FixArrays:
    participant_id: IntArray
    t: FloatArray
    lat: FloatArray
    lon: FloatArray
    accuracy_m: FloatArray

    @classmethod
    def from_fixes(cls, fixes: Iterable[Any]) -> FixArrays:
        """From objects with ``participant_id, time, lat, lon, accuracy_m`` (unassigned fixes,
        ``participant_id is None``, are dropped: nobody's zones apply to them)."""
        rows = [
            (f.participant_id, f.time.timestamp(), f.lat, f.lon, f.accuracy_m or 0.0)
            for f in fixes
            if f.participant_id is not None
        ]
        columns = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
        return cls(
            participant_id=np.asarray(columns[0], dtype=np.int64),
            t=np.asarray(columns[1], dtype=np.float64),
            lat=np.asarray(columns[2], dtype=np.float64),
            lon=np.asarray(columns[3], dtype=np.float64),
            accuracy_m=np.asarray(columns[4], dtype=np.float64),
        )


@dataclass
class ZoneSet:
    """The zones in force for a set of participants, with their per-slot state."""

    slot_participant: IntArray
    slot_zone_id: IntArray
    slot_exclusion: BoolArray
    slot_circle: BoolArray
    slot_lon0: FloatArray
    slot_lat0: FloatArray
    slot_kx: FloatArray
    slot_radius: FloatArray
    slot_x0: FloatArray  # bounding box in the zone's metric plane
    slot_x1: FloatArray
    slot_y0: FloatArray
    slot_y1: FloatArray
    slot_buffer: FloatArray
    slot_from: FloatArray
    slot_to: FloatArray
    slot_polygon: npt.NDArray[np.object_]
    slot_boundary: npt.NDArray[np.object_]
    slot_schedule: IntArray  # -1: always in force; else a row of week_masks
    slot_time_zone: IntArray  # index into time_zones
    slot_consecutive: IntArray  # the zone's own run length, 0: evaluate's
    week_masks: npt.NDArray[np.uint8]  # one packed bit per minute of the week, Monday 00:00 on
    time_zones: list[ZoneInfo]
    slot_zone_kind: list[str]
    participants: IntArray  # sorted unique participant ids
    offsets: IntArray  # slots of participants[i] are offsets[i]:offsets[i+1]
    box: FloatArray = field(init=False)  # per slot: lon_lo, lon_hi, lat_lo, lat_hi (degrees)
    row_of: IntArray = field(init=False)  # participant id -> index into participants, or -1
    side: npt.NDArray[np.int8] = field(init=False)
    since: FloatArray = field(init=False)
    last_t: FloatArray = field(init=False)
    consecutive: IntArray = field(init=False)
    violating: BoolArray = field(init=False)
    # The side while nothing else is going on (not violating, no wrong-side run), else -1:
    # a pair whose fix finds its slot settled on the same side, and is not judged, changes
    # only the slot's last fix time, so the state machine skips it with one comparison.
    settled: npt.NDArray[np.int8] = field(init=False)

    def __post_init__(self) -> None:
        n = len(self.slot_zone_id)
        # A direct lookup (one gather per batch) rather than a binary search per fix, when
        # the ids are dense enough for the table to stay small.
        size = int(self.participants.max()) + 1 if len(self.participants) else 0
        if size > 8 * len(self.participants) + 100_000:
            size = 0
        self.row_of = np.full(size, -1, dtype=np.int32)
        if size:
            self.row_of[self.participants] = np.arange(len(self.participants), dtype=np.int32)
        # The metric bounding box taken back to degrees (padded far beyond rounding), so the
        # first test of a pair needs neither projection nor anything but four comparisons:
        # nearly every fix is far from nearly every zone of its participant.
        pad = 1e-9
        with np.errstate(divide="ignore", invalid="ignore"):
            kx = np.where(self.slot_kx > 0, self.slot_kx, np.nan)
            lon_lo = np.where(np.isnan(kx), -np.inf, self.slot_lon0 + self.slot_x0 / kx - pad)
            lon_hi = np.where(np.isnan(kx), np.inf, self.slot_lon0 + self.slot_x1 / kx + pad)
        self.box = np.column_stack(
            (
                lon_lo,
                lon_hi,
                self.slot_lat0 + self.slot_y0 / M_PER_DEG - pad,
                self.slot_lat0 + self.slot_y1 / M_PER_DEG + pad,
            )
        ).reshape(n, 4)
        self.side = np.zeros(n, dtype=np.int8)
        self.since = np.full(n, np.nan)
        self.last_t = np.full(n, -np.inf)
        self.consecutive = np.zeros(n, dtype=np.int64)
        self.violating = np.zeros(n, dtype=np.bool_)
        self.settled = np.zeros(n, dtype=np.int8)

    def __len__(self) -> int:
        return len(self.slot_zone_id)

    def state_set(self, slot: int, state: SlotState) -> None:
        self.side[slot] = SIDE_CODES[state.side]
        self.since[slot] = _epoch(state.since, np.nan)
        self.last_t[slot] = _epoch(state.last_fix_at, -np.inf)
        self.consecutive[slot] = state.consecutive
        self.violating[slot] = state.violating
        quiet = not state.violating and state.consecutive == 0
        self.settled[slot] = self.side[slot] if quiet else -1

    def slots_of(self, participant_ids: IntArray) -> IntArray:
        """Every slot of these participants (each participant once, in slot order)."""
        ids = np.unique(participant_ids)
        found = np.searchsorted(self.participants, ids)
        inside = found < len(self.participants)
        found, ids = found[inside], ids[inside]
        rows = found[self.participants[found] == ids]
        return _runs(self.offsets[rows], self.offsets[rows + 1] - self.offsets[rows])

    def states_reset(self, slots: IntArray) -> None:
        """Forget what these slots knew (before the state kept elsewhere is loaded)."""
        self.side[slots] = SIDE_UNKNOWN
        self.since[slots] = np.nan
        self.last_t[slots] = -np.inf
        self.consecutive[slots] = 0
        self.violating[slots] = False
        self.settled[slots] = SIDE_UNKNOWN

    def states_load(
        self,
        slots: IntArray,
        *,
        side: npt.NDArray[np.int8],
        since: FloatArray,
        last_t: FloatArray,
        consecutive: IntArray,
        violating: BoolArray,
    ) -> None:
        """``state_set`` for many slots at once (epochs: NaN for "never")."""
        self.side[slots] = side
        self.since[slots] = since
        self.last_t[slots] = np.where(np.isnan(last_t), -np.inf, last_t)
        self.consecutive[slots] = consecutive
        self.violating[slots] = violating
        self.settled[slots] = np.where(violating | (consecutive != 0), -1, side)

    def state_get(self, slot: int) -> SlotState:
        return SlotState(
            side=SIDE_NAMES[int(self.side[slot])],
            since=_datetime(self.since[slot]),
            last_fix_at=_datetime(self.last_t[slot]),
            consecutive=int(self.consecutive[slot]),
            violating=bool(self.violating[slot]),
        )


def _runs(starts: IntArray, counts: IntArray) -> IntArray:
    """The concatenation of ``arange(start, start + count)`` for each pair."""
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return np.arange(int(counts.sum()), dtype=np.int64) + shift


def _datetime(epoch: float) -> datetime | None:
    return None if not math.isfinite(epoch) else datetime.fromtimestamp(epoch, UTC)


MINUTES_PER_WEEK = 7 * 24 * 60


def _week_mask(intervals: tuple[Interval, ...]) -> npt.NDArray[np.uint8]:
    """The schedule as one bit per minute of the week (Monday 00:00 first), packed: a
    batch's schedule test is then one lookup per pair, whatever the intervals."""
    minutes = np.zeros(MINUTES_PER_WEEK, dtype=np.bool_)
    for interval in intervals:
        for day in interval.days:
            start = day * 1440
            if interval.start_min < interval.end_min:
                minutes[start + interval.start_min : start + interval.end_min] = True
            else:
                minutes[start + interval.start_min : start + 1440] = True
                after = (day + 1) % 7 * 1440
                minutes[after : after + interval.end_min] = True
    return np.packbits(minutes)


def compile_zones(assignments: Sequence[Assignment], cache: GeometryCache) -> ZoneSet:
    """Lay the assignments out as slots (grouped by participant) with prepared geometry.

    Runs for every batch the gateway stores, so each slot is read in one pass into rows
    of numbers that numpy turns into columns at once."""
    ordered = sorted(assignments, key=lambda a: (a.participant_id, a.zone.id))
    n = len(ordered)
    prepared = [cache.get(a.zone) for a in ordered]
    schedules: dict[tuple[Interval, ...], int] = {}
    time_zones: dict[str, int] = {}
    ints = np.array(
        [
            (
                a.participant_id,
                a.zone.id,
                a.zone.kind == EXCLUSION,
                p.polygon is None,
                schedules.setdefault(a.zone.schedule, len(schedules)) if a.zone.schedule else -1,
                time_zones.setdefault(a.time_zone, len(time_zones)),
                a.zone.consecutive,
            )
            for a, p in zip(ordered, prepared, strict=True)
        ],
        dtype=np.int64,
    ).reshape(n, 7)
    floats = np.array(
        [
            (
                *p.numbers,
                a.zone.buffer_m,
                _epoch(a.zone.active_from, -np.inf),
                _epoch(a.zone.active_to, np.inf),
            )
            for a, p in zip(ordered, prepared, strict=True)
        ],
        dtype=np.float64,
    ).reshape(n, 11)
    polygons = np.empty(n, dtype=object)
    boundaries = np.empty(n, dtype=object)
    polygons[:] = [p.polygon for p in prepared]
    boundaries[:] = [p.boundary for p in prepared]
    masks = [_week_mask(intervals) for intervals in schedules]
    pids = np.ascontiguousarray(ints[:, 0])
    participants, starts = np.unique(pids, return_index=True)
    column = [np.ascontiguousarray(floats[:, i]) for i in range(11)]
    return ZoneSet(
        slot_participant=pids,
        slot_zone_id=np.ascontiguousarray(ints[:, 1]),
        slot_exclusion=ints[:, 2].astype(np.bool_),
        slot_circle=ints[:, 3].astype(np.bool_),
        slot_lon0=column[0],
        slot_lat0=column[1],
        slot_kx=column[2],
        slot_radius=column[3],
        slot_x0=column[4],
        slot_y0=column[5],
        slot_x1=column[6],
        slot_y1=column[7],
        slot_buffer=column[8],
        slot_from=column[9],
        slot_to=column[10],
        slot_polygon=polygons,
        slot_boundary=boundaries,
        slot_schedule=np.ascontiguousarray(ints[:, 4]),
        slot_time_zone=np.ascontiguousarray(ints[:, 5]),
        slot_consecutive=np.ascontiguousarray(ints[:, 6]),
        week_masks=(
            np.stack(masks) if masks else np.zeros((0, MINUTES_PER_WEEK // 8), dtype=np.uint8)
        ),
        time_zones=[ZoneInfo(tz) for tz in time_zones],
        slot_zone_kind=[a.zone.kind for a in ordered],
        participants=participants.astype(np.int64),
        offsets=np.append(starts, n).astype(np.int64),
    )


_OFFSET_STEP_S = 900.0  # UTC offsets change only on quarter hours (all current zones)


def _in_schedule(zones: ZoneSet, pair_slot: IntArray, t: FloatArray) -> BoolArray:
    """Whether each pair's zone is in force at its fix's time. The zone's UTC offset is
    looked up once per time zone and quarter hour present in the batch (``zoneinfo``, so DST
    is right); the minute of the local week is then plain arithmetic and the schedule one
    bit lookup."""
    out = np.ones(len(pair_slot), dtype=np.bool_)
    schedule = zones.slot_schedule[pair_slot]
    idx = np.flatnonzero(schedule >= 0)
    if not len(idx):
        return out
    tt = t[idx]
    local = tt + _utc_offsets(zones.time_zones, zones.slot_time_zone[pair_slot[idx]], tt)
    days = np.floor(local / 86_400.0)
    minute = np.clip(np.floor((local - days * 86_400.0) / 60.0), 0, 1439)
    week_minute = (((days + 3) % 7) * 1440 + minute).astype(np.int64)  # 1970-01-01: Thursday
    packed = zones.week_masks[schedule[idx], week_minute >> 3]
    out[idx] = (packed >> (7 - (week_minute & 7)).astype(np.uint8)) & 1 == 1
    return out


def _utc_offsets(time_zones: list[ZoneInfo], tz_index: IntArray, t: FloatArray) -> FloatArray:
    """UTC offset in seconds of each ``t`` in its time zone, one ``zoneinfo`` call per time
    zone and quarter hour (a batch spans a few minutes: a short table per time zone)."""
    out = np.empty(len(t), dtype=np.float64)
    buckets = np.floor(t / _OFFSET_STEP_S).astype(np.int64)
    present = np.flatnonzero(np.bincount(tz_index, minlength=len(time_zones)))
    for z in present.tolist():
        sel = slice(None) if len(present) == 1 else np.flatnonzero(tz_index == z)
        b = buckets[sel]
        low, high = int(b.min()), int(b.max())
        if high - low < 256:
            table = np.array([_bucket_offset(time_zones[z], k) for k in range(low, high + 1)])
            out[sel] = table[b - low]
        else:
            keys, inverse = np.unique(b, return_inverse=True)
            table = np.array([_bucket_offset(time_zones[z], int(k)) for k in keys])
            out[sel] = table[inverse]
    return out


@lru_cache(maxsize=8192)
def _bucket_offset(tz: ZoneInfo, bucket: int) -> float:
    return _utc_offset_s(tz, bucket * _OFFSET_STEP_S)


def _utc_offset_s(tz: ZoneInfo, epoch: float) -> float:
    offset = datetime.fromtimestamp(epoch, UTC).astimezone(tz).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _pairs(zones: ZoneSet, fixes: FixArrays) -> tuple[IntArray, IntArray]:
    """(fix index, slot index) for every fix and every slot of its participant."""
    pair_fix, pair_slot, _ = _expand(zones, fixes)
    return pair_fix, pair_slot


def _expand(zones: ZoneSet, fixes: FixArrays) -> tuple[IntArray, IntArray, bool]:
    """``_pairs``, and whether any participant has more than one fix in the batch."""
    pids = fixes.participant_id
    empty = np.zeros(0, dtype=np.int64)
    if not len(pids) or not len(zones.participants):
        return empty, empty, False
    if len(zones.row_of) and pids.min() >= 0 and pids.max() < len(zones.row_of):
        row = zones.row_of[pids].astype(np.int64)
    elif len(zones.row_of):
        in_range = (pids >= 0) & (pids < len(zones.row_of))
        row = np.full(len(pids), -1, dtype=np.int64)
        row[in_range] = zones.row_of[pids[in_range]]
    else:
        found = np.searchsorted(zones.participants, pids)
        clipped = np.minimum(found, len(zones.participants) - 1)
        row = np.where(zones.participants[clipped] == pids, clipped, -1)
    fix_index = np.flatnonzero(row >= 0)
    known = row if len(fix_index) == len(row) else row[fix_index]
    if not len(known):
        return empty, empty, False
    repeated = bool(np.bincount(known, minlength=len(zones.participants)).max() > 1)
    starts = zones.offsets[known]
    counts = zones.offsets[known + 1] - starts
    if counts.min() == counts.max():  # the usual case: everyone has as many zones
        per = int(counts[0])
        pair_fix = np.repeat(fix_index, per)
        pair_slot = (starts[:, None] + np.arange(per)).ravel()
        return pair_fix, pair_slot, repeated
    pair_fix = np.repeat(fix_index, counts)
    # slot = start of the participant's run + position within the run
    shift = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    pair_slot = np.arange(len(pair_fix), dtype=np.int64) + shift
    return pair_fix, pair_slot, repeated


def _plane(
    zones: ZoneSet, slots: IntArray, lon: FloatArray, lat: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Points in each slot's zone's local metric plane (metres east, north of its centre)."""
    x = (lon - zones.slot_lon0[slots]) * zones.slot_kx[slots]
    y = (lat - zones.slot_lat0[slots]) * M_PER_DEG
    return x, y


def evaluate(zones: ZoneSet, fixes: FixArrays, *, consecutive: int) -> list[Transition]:
    """Run one batch through the zones, updating ``zones``' state in place.

    ``consecutive`` is how many wrong-side fixes in a row make a violation when none of them
    is wholly (accuracy circle + buffer) on the wrong side.

    Work shrinks at each step: every pair gets the degree bounding-box test; only pairs in
    the box are projected and tested exactly (circles by distance, polygons by one
    element-wise ``contains_xy``); only wrong-side pairs get the dates and the schedule;
    only wrong-side pairs in force get the accuracy rule."""
    pair_fix, pair_slot, repeated = _expand(zones, fixes)
    n = len(pair_fix)
    if n == 0:
        return []
    lon = fixes.lon[pair_fix]
    lat = fixes.lat[pair_fix]
    box = np.take(zones.box, pair_slot, axis=0)
    inbox = np.flatnonzero(
        (lon >= box[:, 0]) & (lon <= box[:, 1]) & (lat >= box[:, 2]) & (lat <= box[:, 3])
    )
    inside = np.zeros(n, dtype=np.bool_)
    if len(inbox):
        slots = pair_slot[inbox]
        x, y = _plane(zones, slots, lon[inbox], lat[inbox])
        hit = np.hypot(x, y) <= zones.slot_radius[slots]
        polygon = np.flatnonzero(~zones.slot_circle[slots])
        if len(polygon):
            hit[polygon] = shapely.contains_xy(
                zones.slot_polygon[slots[polygon]], x[polygon], y[polygon]
            )
        inside[inbox] = hit

    # Outside its dates a zone does not count (and a violation it had ends); outside its
    # schedule it starts no violation, but one already under way is *held* while the fix
    # stays on the wrong side: a curfew breach does not end because the curfew period did,
    # only by coming back (or by a person). The side is tracked all the time, so the first
    # fix once the zone counts again decides.
    t = fixes.t[pair_fix]
    wrong = np.flatnonzero(inside == zones.slot_exclusion[pair_slot])
    slots = pair_slot[wrong]
    tw = t[wrong]
    in_dates = (tw >= zones.slot_from[slots]) & (tw < zones.slot_to[slots])
    scheduled = _in_schedule(zones, slots, tw)
    in_force = in_dates & scheduled
    judged_idx = wrong[in_force]
    judged = np.zeros(n, dtype=np.bool_)
    judged[judged_idx] = True
    held = np.zeros(n, dtype=np.bool_)
    held[wrong[in_dates & ~scheduled]] = True
    certain = np.zeros(n, dtype=np.bool_)
    if len(judged_idx):
        certain[judged_idx] = _wholly_wrong(
            zones, pair_slot[judged_idx], fixes, pair_fix[judged_idx]
        )

    pairs = _Pairs(pair_slot, pair_fix, t, inside, judged, certain, held)
    if not repeated:  # the usual batch: at most one fix per device
        return _step(zones, None, pairs, fixes, consecutive)
    order = np.lexsort((t, pair_slot))
    sorted_slot = pair_slot[order]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = sorted_slot[1:] != sorted_slot[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - group_start
    transitions: list[Transition] = []
    for k in range(int(rank.max()) + 1):
        transitions.extend(_step(zones, order[rank == k], pairs, fixes, consecutive))
    return transitions


def _wholly_wrong(zones: ZoneSet, slots: IntArray, fixes: FixArrays, fix: IntArray) -> BoolArray:
    """The accuracy rule for wrong-side pairs: a *certain* violation when the fix is not
    within ``accuracy + buffer`` metres of the boundary. Circles: distance arithmetic;
    polygons: the bounding box settles those far from it, ``shapely.dwithin`` the rest."""
    x, y = _plane(zones, slots, fixes.lon[fix], fixes.lat[fix])
    margin = fixes.accuracy_m[fix] + zones.slot_buffer[slots]
    circle = zones.slot_circle[slots]
    box_d = np.hypot(
        np.maximum(np.maximum(zones.slot_x0[slots] - x, x - zones.slot_x1[slots]), 0),
        np.maximum(np.maximum(zones.slot_y0[slots] - y, y - zones.slot_y1[slots]), 0),
    )
    certain = np.where(
        circle, np.abs(np.hypot(x, y) - zones.slot_radius[slots]) > margin, box_d > margin
    )
    near = np.flatnonzero(~circle & (box_d <= margin))
    if len(near):
        points = shapely.points(x[near], y[near])
        # types-shapely types distance as one float; the ufunc broadcasts a per-pair array.
        within = shapely.dwithin(  # type: ignore[call-overload]
            zones.slot_boundary[slots[near]], points, margin[near]
        )
        certain[near] = ~within
    return certain


@dataclass(slots=True)
class _Pairs:
    slot: IntArray
    fix: IntArray
    t: FloatArray
    inside: BoolArray
    judged: BoolArray  # on the wrong side while the zone is in force
    certain: BoolArray  # ... and wholly so (accuracy circle + buffer)
    held: BoolArray  # on the wrong side within its dates but outside its schedule


def _step(
    zones: ZoneSet, sel: IntArray | None, pairs: _Pairs, fixes: FixArrays, consecutive: int
) -> list[Transition]:
    """One round: at most one pair per slot (``sel``; None: every pair), applied at once."""
    if sel is None:
        slots, tt, inside, judged = pairs.slot, pairs.t, pairs.inside, pairs.judged
        held = pairs.held
    else:
        slots, tt = pairs.slot[sel], pairs.t[sel]
        inside, judged, held = pairs.inside[sel], pairs.judged[sel], pairs.held[sel]
    fresh = tt > zones.last_t[slots]
    if not fresh.all():
        slots, tt, inside, judged = slots[fresh], tt[fresh], inside[fresh], judged[fresh]
        held = held[fresh]
        sel = np.flatnonzero(fresh) if sel is None else sel[fresh]
    if len(slots) == 0:
        return []
    zones.last_t[slots] = tt
    new_side = (SIDE_OUTSIDE - inside).astype(np.int8)
    busy = np.flatnonzero(judged | (zones.settled[slots] != new_side))
    sel = busy if sel is None else sel[busy]
    slots, tt, new_side, judged = slots[busy], tt[busy], new_side[busy], judged[busy]
    held = held[busy]
    old_side = zones.side[slots]
    moved = np.flatnonzero(new_side != old_side)
    old_run = zones.consecutive[slots]
    was = zones.violating[slots]
    kept = held & was  # a violation under way, out of schedule but still on the wrong side
    run = np.where(judged, old_run + 1, np.where(kept, old_run, 0))
    own = zones.slot_consecutive[slots]
    needed = np.where(own > 0, own, consecutive)
    now = (judged & (was | pairs.certain[sel] | (run >= needed))) | kept

    zones.since[slots[moved]] = tt[moved]
    zones.side[slots[moved]] = new_side[moved]
    zones.consecutive[slots] = run
    zones.violating[slots] = now
    # Neither judged nor held: no run, no violation, settled on its side.
    zones.settled[slots] = np.where(judged | kept, -1, new_side)
    flipped = np.flatnonzero(now != was)

    known = old_side[moved] != SIDE_UNKNOWN
    entering = new_side[moved] == SIDE_INSIDE
    events = (
        ("entered", moved[known & entering]),
        ("left", moved[known & ~entering]),
        ("violation", flipped[now[flipped]]),
        ("cleared", flipped[~now[flipped]]),
    )
    out: list[Transition] = []
    for kind, hit in events:
        if not len(hit):
            continue
        fix = pairs.fix[sel[hit]]
        slot = slots[hit]
        kinds = [zones.slot_zone_kind[s] for s in slot.tolist()]
        out.extend(
            map(
                Transition._make,
                zip(
                    zones.slot_participant[slot].tolist(),
                    zones.slot_zone_id[slot].tolist(),
                    [kind] * len(hit),
                    tt[hit].tolist(),
                    fixes.lat[fix].tolist(),
                    fixes.lon[fix].tolist(),
                    fixes.accuracy_m[fix].tolist(),
                    kinds,
                    strict=True,
                ),
            )
        )
    out.sort(key=attrgetter("epoch"))
    return out
