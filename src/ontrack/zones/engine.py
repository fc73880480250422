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
3. A numpy pass over each pair's bounding box (in the zone's plane) settles most pairs;
   point-in-polygon for the rest is one element-wise ``shapely.contains_xy`` call on the
   array of prepared polygons; circles are plain numpy distance arithmetic.
4. The accuracy rule: a fix on the wrong side is a *certain* violation only when its whole
   accuracy circle (plus the zone's buffer) is on the wrong side, i.e. it is not within
   ``accuracy + buffer`` metres of the boundary (``shapely.dwithin``, only computed for the
   few wrong-side pairs). Otherwise it takes ``consecutive`` wrong-side fixes in a row.
5. The state machine runs in rounds: round k takes the k-th fix (in time order) of every
   slot, so it is vectorised even when a device reports several fixes in one batch. A fix
   not later than the slot's last fix is ignored, so a late or replayed fix never moves the
   state backwards.

Output is transitions (``entered`` / ``left`` when the side changes, ``violation`` /
``cleared`` when the rule's condition starts and ends), never one event per fix.

Schedules (curfews) are weekly intervals of local wall-clock time in the participant's time
zone: the UTC offset comes from ``zoneinfo`` (once per quarter hour present in a batch), so
"20:00-06:00" is right across DST changes. A
zone only counts during its schedule; the side is tracked all the time, so a participant
already outside when the curfew starts is in violation at their next fix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
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
    """What the engine needs of a zone. ``geometry`` is a GeoJSON Polygon (lon, lat) or
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


@dataclass(frozen=True, slots=True)
class Transition:
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


def _prepare(geometry: Mapping[str, Any]) -> Prepared:
    kind = geometry.get("type")
    if kind == "Circle":
        lon0, lat0 = (float(v) for v in geometry["center"])
        kx = M_PER_DEG * math.cos(math.radians(lat0))
        r = float(geometry["radius_m"])
        return Prepared(lon0, lat0, kx, None, None, r, (-r, -r, r, r))
    if kind != "Polygon":
        raise ValueError(f"unsupported zone geometry {kind!r}")
    rings = [np.asarray(ring, dtype=np.float64)[:, :2] for ring in geometry["coordinates"]]
    lon_min, lat_min = rings[0].min(axis=0)
    lon_max, lat_max = rings[0].max(axis=0)
    lon0, lat0 = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    kx = M_PER_DEG * math.cos(math.radians(lat0))
    metric = [np.column_stack(((r[:, 0] - lon0) * kx, (r[:, 1] - lat0) * M_PER_DEG)) for r in rings]
    polygon = shapely.Polygon(metric[0], metric[1:])
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
    slot_schedule_group: IntArray  # -1: always in force; else an index into schedule_groups
    schedule_groups: list[tuple[ZoneInfo, tuple[Interval, ...]]]
    slot_zone_kind: list[str]
    participants: IntArray  # sorted unique participant ids
    offsets: IntArray  # slots of participants[i] are offsets[i]:offsets[i+1]
    table: FloatArray = field(init=False)
    row_of: IntArray = field(init=False)  # participant id -> index into participants, or -1
    side: npt.NDArray[np.int8] = field(init=False)
    since: FloatArray = field(init=False)
    last_t: FloatArray = field(init=False)
    consecutive: IntArray = field(init=False)
    violating: BoolArray = field(init=False)

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
        flags = self.slot_circle * _CIRCLE + self.slot_exclusion * _EXCLUSION
        self.table = np.column_stack(
            (
                self.slot_lon0,
                self.slot_lat0,
                self.slot_kx,
                self.slot_x0,
                self.slot_x1,
                self.slot_y0,
                self.slot_y1,
                self.slot_radius,
                self.slot_buffer,
                self.slot_from,
                self.slot_to,
                flags.astype(np.float64),
            )
        ).reshape(n, 12)
        self.side = np.zeros(n, dtype=np.int8)
        self.since = np.full(n, np.nan)
        self.last_t = np.full(n, -np.inf)
        self.consecutive = np.zeros(n, dtype=np.int64)
        self.violating = np.zeros(n, dtype=np.bool_)

    def __len__(self) -> int:
        return len(self.slot_zone_id)

    def state_set(self, slot: int, state: SlotState) -> None:
        self.side[slot] = SIDE_CODES[state.side]
        self.since[slot] = _epoch(state.since, np.nan)
        self.last_t[slot] = _epoch(state.last_fix_at, -np.inf)
        self.consecutive[slot] = state.consecutive
        self.violating[slot] = state.violating

    def state_get(self, slot: int) -> SlotState:
        return SlotState(
            side=SIDE_NAMES[int(self.side[slot])],
            since=_datetime(self.since[slot]),
            last_fix_at=_datetime(self.last_t[slot]),
            consecutive=int(self.consecutive[slot]),
            violating=bool(self.violating[slot]),
        )


def _datetime(epoch: float) -> datetime | None:
    return None if not math.isfinite(epoch) else datetime.fromtimestamp(epoch, UTC)


def compile_zones(assignments: Sequence[Assignment], cache: GeometryCache) -> ZoneSet:
    """Lay the assignments out as slots (grouped by participant) with prepared geometry."""
    ordered = sorted(assignments, key=lambda a: (a.participant_id, a.zone.id))
    prepared = [cache.get(a.zone) for a in ordered]
    pids = np.fromiter((a.participant_id for a in ordered), dtype=np.int64, count=len(ordered))
    participants, starts = np.unique(pids, return_index=True)
    groups: dict[tuple[str, tuple[Interval, ...]], int] = {}

    def group(a: Assignment) -> int:
        if not a.zone.schedule:
            return -1
        return groups.setdefault((a.time_zone, a.zone.schedule), len(groups))

    polygons = np.empty(len(ordered), dtype=object)
    boundaries = np.empty(len(ordered), dtype=object)
    polygons[:] = [p.polygon for p in prepared]
    boundaries[:] = [p.boundary for p in prepared]
    return ZoneSet(
        slot_participant=pids,
        slot_zone_id=np.fromiter((a.zone.id for a in ordered), dtype=np.int64, count=len(ordered)),
        slot_exclusion=np.array([a.zone.kind == EXCLUSION for a in ordered], dtype=np.bool_),
        slot_circle=np.array([p.polygon is None for p in prepared], dtype=np.bool_),
        slot_lon0=np.array([p.lon0 for p in prepared], dtype=np.float64),
        slot_lat0=np.array([p.lat0 for p in prepared], dtype=np.float64),
        slot_kx=np.array([p.kx for p in prepared], dtype=np.float64),
        slot_radius=np.array([p.radius_m for p in prepared], dtype=np.float64),
        slot_x0=np.array([p.bounds[0] for p in prepared], dtype=np.float64),
        slot_y0=np.array([p.bounds[1] for p in prepared], dtype=np.float64),
        slot_x1=np.array([p.bounds[2] for p in prepared], dtype=np.float64),
        slot_y1=np.array([p.bounds[3] for p in prepared], dtype=np.float64),
        slot_buffer=np.array([a.zone.buffer_m for a in ordered], dtype=np.float64),
        slot_from=np.array([_epoch(a.zone.active_from, -np.inf) for a in ordered]),
        slot_to=np.array([_epoch(a.zone.active_to, np.inf) for a in ordered]),
        slot_polygon=polygons,
        slot_boundary=boundaries,
        slot_schedule_group=np.array([group(a) for a in ordered], dtype=np.int64),
        schedule_groups=[(ZoneInfo(tz), intervals) for tz, intervals in groups],
        slot_zone_kind=[a.zone.kind for a in ordered],
        participants=participants.astype(np.int64),
        offsets=np.append(starts, len(ordered)).astype(np.int64),
    )


_OFFSET_STEP_S = 900.0  # UTC offsets change only on quarter hours (all current zones)


def _in_schedule(zones: ZoneSet, pair_slot: IntArray, t: FloatArray) -> BoolArray:
    """Whether each pair's zone is in force at its fix's time. Vectorised per (time zone,
    schedule) group: the zone's UTC offset is looked up once per quarter hour present in
    the batch (``zoneinfo``, so DST is right), then weekday and minute of local wall-clock
    time are plain arithmetic."""
    out = np.ones(len(pair_slot), dtype=np.bool_)
    group_of_pair = zones.slot_schedule_group[pair_slot]
    present = np.bincount(group_of_pair + 1, minlength=len(zones.schedule_groups) + 1)[1:]
    for g in np.flatnonzero(present):
        tz, intervals = zones.schedule_groups[int(g)]
        idx = np.flatnonzero(group_of_pair == g)
        buckets, inverse = np.unique(np.floor(t[idx] / _OFFSET_STEP_S), return_inverse=True)
        offsets = np.array(
            [_utc_offset_s(tz, float(b) * _OFFSET_STEP_S) for b in buckets], dtype=np.float64
        )
        local = t[idx] + offsets[inverse]
        days = np.floor(local / 86_400.0)
        weekday = ((days + 3) % 7).astype(np.int64)  # 1970-01-01 was a Thursday (3)
        minute = np.floor((local - days * 86_400.0) / 60.0)
        covered = np.zeros(len(idx), dtype=np.bool_)
        for interval in intervals:
            on_day = np.array([d in interval.days for d in range(7)], dtype=np.bool_)
            if interval.start_min < interval.end_min:
                covered |= (
                    on_day[weekday] & (minute >= interval.start_min) & (minute < interval.end_min)
                )
            else:
                covered |= (on_day[weekday] & (minute >= interval.start_min)) | (
                    on_day[(weekday - 1) % 7] & (minute < interval.end_min)
                )
        out[idx] = covered
    return out


def _utc_offset_s(tz: ZoneInfo, epoch: float) -> float:
    offset = datetime.fromtimestamp(epoch, UTC).astimezone(tz).utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _pairs(zones: ZoneSet, fixes: FixArrays) -> tuple[IntArray, IntArray]:
    """(fix index, slot index) for every fix and every slot of its participant."""
    pids = fixes.participant_id
    if len(zones.row_of):
        in_range = (pids >= 0) & (pids < len(zones.row_of))
        row = np.where(in_range, zones.row_of[np.where(in_range, pids, 0)], -1)
    else:
        found = np.searchsorted(zones.participants, pids)
        clipped = np.minimum(found, max(len(zones.participants) - 1, 0))
        hit = (found < len(zones.participants)) & (zones.participants[clipped] == pids)
        row = np.where(hit, found, -1) if len(zones.participants) else np.full(len(pids), -1)
    known = row >= 0
    idx = np.maximum(row, 0)
    fix_index = np.flatnonzero(known)
    starts = zones.offsets[idx[fix_index]]
    counts = zones.offsets[idx[fix_index] + 1] - starts
    pair_fix = np.repeat(fix_index, counts)
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    pair_slot = np.repeat(starts, counts) + (np.arange(len(pair_fix)) - run_start)
    return pair_fix.astype(np.int64), pair_slot.astype(np.int64)


# Columns of ``ZoneSet.table``: one row per slot, so a batch gathers everything it needs
# about its pairs' zones in a single fancy-indexing pass.
_LON0, _LAT0, _KX, _X0, _X1, _Y0, _Y1, _RADIUS, _BUFFER, _FROM, _TO, _FLAGS = range(12)
_CIRCLE, _EXCLUSION = 1, 2


def evaluate(zones: ZoneSet, fixes: FixArrays, *, consecutive: int) -> list[Transition]:
    """Run one batch through the zones, updating ``zones``' state in place.

    ``consecutive`` is how many wrong-side fixes in a row make a violation when none of them
    is wholly (accuracy circle + buffer) on the wrong side."""
    pair_fix, pair_slot = _pairs(zones, fixes)
    if len(pair_fix) == 0:
        return []
    row = zones.table[pair_slot]
    t = fixes.t[pair_fix]
    active = (t >= row[:, _FROM]) & (t < row[:, _TO])
    flags = row[:, _FLAGS].astype(np.int8)
    circle = (flags & _CIRCLE).astype(np.bool_)
    exclusion = (flags & _EXCLUSION).astype(np.bool_)

    x = (fixes.lon[pair_fix] - row[:, _LON0]) * row[:, _KX]
    y = (fixes.lat[pair_fix] - row[:, _LAT0]) * M_PER_DEG
    # Distance to the zone's bounding box: zero inside it; beyond it, a lower bound of the
    # distance to the zone. Most pairs are far from most zones and never reach GEOS.
    box_d = np.hypot(
        np.maximum(np.maximum(row[:, _X0] - x, x - row[:, _X1]), 0),
        np.maximum(np.maximum(row[:, _Y0] - y, y - row[:, _Y1]), 0),
    )
    centre_d = np.hypot(x, y)
    inside = circle & (centre_d <= row[:, _RADIUS])
    probe = np.flatnonzero(~circle & (box_d == 0))
    if len(probe):
        inside[probe] = shapely.contains_xy(
            zones.slot_polygon[pair_slot[probe]], x[probe], y[probe]
        )

    # Outside its dates or its schedule a zone does not count (and a violation it had
    # ends), but the side is still tracked, so the first fix once it counts again decides.
    counts = active & _in_schedule(zones, pair_slot, t)
    wrong = inside == exclusion
    margin = fixes.accuracy_m[pair_fix] + row[:, _BUFFER]
    judged = wrong & counts
    # Wholly on the wrong side: the accuracy circle plus buffer does not reach the boundary.
    certain = judged & np.where(circle, np.abs(centre_d - row[:, _RADIUS]) > margin, box_d > margin)
    near = np.flatnonzero(judged & ~circle & (box_d <= margin))
    if len(near):
        points = shapely.points(x[near], y[near])
        certain[near] = ~shapely.dwithin(zones.slot_boundary[pair_slot[near]], points, margin[near])

    columns = _Pairs(pair_slot, pair_fix, t, inside, wrong, certain, counts)
    per_slot = np.bincount(pair_slot, minlength=len(zones))
    if per_slot.max() == 1:  # the usual batch: at most one fix per device
        return _step(zones, np.arange(len(pair_slot)), columns, fixes, consecutive)
    order = np.lexsort((t, pair_slot))
    sorted_slot = pair_slot[order]
    first = np.ones(len(order), dtype=np.bool_)
    first[1:] = sorted_slot[1:] != sorted_slot[:-1]
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - group_start
    transitions: list[Transition] = []
    for k in range(int(rank.max()) + 1):
        transitions.extend(_step(zones, order[rank == k], columns, fixes, consecutive))
    return transitions


@dataclass(slots=True)
class _Pairs:
    slot: IntArray
    fix: IntArray
    t: FloatArray
    inside: BoolArray
    wrong: BoolArray
    certain: BoolArray
    counts: BoolArray


def _step(
    zones: ZoneSet, sel: IntArray, pairs: _Pairs, fixes: FixArrays, consecutive: int
) -> list[Transition]:
    """One round: at most one pair per slot, all applied at once."""
    slots = pairs.slot[sel]
    tt = pairs.t[sel]
    fresh = tt > zones.last_t[slots]
    if not fresh.all():
        sel, slots, tt = sel[fresh], slots[fresh], tt[fresh]
    if len(sel) == 0:
        return []
    new_side = np.where(pairs.inside[sel], SIDE_INSIDE, SIDE_OUTSIDE).astype(np.int8)
    old_side = zones.side[slots]
    moved = new_side != old_side
    violating_wrong = pairs.wrong[sel] & pairs.counts[sel]
    run = np.where(violating_wrong, zones.consecutive[slots] + 1, 0)
    was = zones.violating[slots]
    now = np.where(
        was, violating_wrong, violating_wrong & (pairs.certain[sel] | (run >= consecutive))
    )

    zones.since[slots] = np.where(moved, tt, zones.since[slots])
    zones.side[slots] = new_side
    zones.last_t[slots] = tt
    zones.consecutive[slots] = run
    zones.violating[slots] = now

    out: list[Transition] = []
    events = (
        ("entered", moved & (old_side != SIDE_UNKNOWN) & (new_side == SIDE_INSIDE)),
        ("left", moved & (old_side != SIDE_UNKNOWN) & (new_side == SIDE_OUTSIDE)),
        ("violation", now & ~was),
        ("cleared", was & ~now),
    )
    for kind, mask in events:
        hit = np.flatnonzero(mask)
        if not len(hit):
            continue
        fix = pairs.fix[sel[hit]]
        slot = slots[hit]
        columns = zip(
            zones.slot_participant[slot].tolist(),
            zones.slot_zone_id[slot].tolist(),
            tt[hit].tolist(),
            fixes.lat[fix].tolist(),
            fixes.lon[fix].tolist(),
            fixes.accuracy_m[fix].tolist(),
            slot.tolist(),
            strict=True,
        )
        out.extend(
            Transition(pid, zid, kind, epoch, lat, lon, acc, zones.slot_zone_kind[s])  # type: ignore[arg-type]
            for pid, zid, epoch, lat, lon, acc, s in columns
        )
    out.sort(key=lambda tr: tr.epoch)
    return out
