"""Every write to zones, and the batch hand-off from tracking into the zone engine.

Who may write which zone: a participant's own zones follow ``can_write_participant``
(officer: own caseload; supervisor: own office; administrator: all); shared zones (a
courthouse, an office) are written by supervisors (their office's) and administrators.

Curfews: a scheduled inclusion zone is evaluated on each participant's *next fix* after the
schedule starts (not by a periodic task): GPS devices report every minute or so, and a
device that stops reporting is caught by the message-gap alert, so a periodic sweep would
only duplicate it. The engine tracks the side all day, so someone already outside when the
curfew begins is in violation at their first fix inside the schedule.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection, transaction
from shapely import wkt as shapely_wkt

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.services import alert_clear, alert_raise
from ontrack.idlists import ids_clause
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant
from ontrack.zones import engine
from ontrack.zones.models import Zone, ZoneClock, ZoneKind, ZoneSetVersion, ZoneState

logger = logging.getLogger(__name__)

MAX_VERTICES = 1_000
MAX_RADIUS_M = 50_000.0
MAX_BUFFER_M = 5_000.0
MAX_CONSECUTIVE = 20

ALERT_KIND = {
    ZoneKind.EXCLUSION.value: "exclusion_zone_entry",
    ZoneKind.INCLUSION.value: "inclusion_zone_exit",
}


class FixLike(Protocol):
    """What the zone engine reads of a fix; read-only, so that a frozen ``StoredFix``
    (tracking's hand-off) is one."""

    @property
    def participant_id(self) -> int | None: ...
    @property
    def device_id(self) -> int: ...
    @property
    def time(self) -> datetime: ...
    @property
    def lat(self) -> float: ...
    @property
    def lon(self) -> float: ...
    @property
    def accuracy_m(self) -> float | None: ...


Transition = engine.Transition


@dataclass(frozen=True, slots=True)
class ZoneData:
    name: str
    kind: str
    geometry: Mapping[str, Any]
    buffer_m: float = 0.0
    schedule: Sequence[Mapping[str, Any]] = ()
    active_from: datetime | None = None
    active_to: datetime | None = None
    consecutive_fixes: int | None = None


# --- validation -------------------------------------------------------------------------


def _check_lon_lat(lon: float, lat: float) -> None:
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValidationError({"geometry": f"coordinate out of range: lon {lon}, lat {lat}"})


def geometry_validate(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """The geometry normalised (floats, closed rings), or ValidationError saying why not."""
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    try:
        if kind == "Circle":
            lon, lat = (float(v) for v in geometry["center"])
            radius = float(geometry["radius_m"])
            _check_lon_lat(lon, lat)
            if not 0 < radius <= MAX_RADIUS_M:
                raise ValidationError({"geometry": f"radius must be 0-{MAX_RADIUS_M:.0f} m"})
            return {"type": "Circle", "center": [lon, lat], "radius_m": radius}
        if kind == "Polygon":
            parts = [_rings(geometry["coordinates"])]
        elif kind == "MultiPolygon":
            parts = [_rings(part) for part in geometry["coordinates"]]
        else:
            raise ValidationError({"geometry": "a zone is a Polygon, a MultiPolygon or a Circle"})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValidationError({"geometry": f"malformed geometry: {exc}"}) from None
    vertices = sum(len(ring) for rings in parts for ring in rings)
    if not parts or not all(parts) or vertices > MAX_VERTICES:
        raise ValidationError({"geometry": f"a polygon has 4-{MAX_VERTICES} vertices"})
    for rings in parts:
        for ring in rings:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValidationError({"geometry": "each ring must be closed (first = last point)"})
            for lon, lat in ring:
                _check_lon_lat(lon, lat)
    polygons = [shapely.Polygon(rings[0], rings[1:]) for rings in parts]
    shape = polygons[0] if kind == "Polygon" else shapely.MultiPolygon(polygons)
    if not shape.is_valid:
        reason = shapely.is_valid_reason(shape)
        raise ValidationError({"geometry": f"invalid polygon: {reason}"})
    if any(polygon.area == 0 for polygon in polygons):
        raise ValidationError({"geometry": "the polygon has no area"})
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": parts[0]}
    return {"type": "MultiPolygon", "coordinates": parts}


def _rings(coordinates: Any) -> list[list[list[float]]]:
    return [[[float(p[0]), float(p[1])] for p in ring] for ring in coordinates]


def geometry_bbox(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat), a circle's padded by its radius."""
    if geometry["type"] == "Circle":
        lon, lat = geometry["center"]
        dlat = geometry["radius_m"] / engine.M_PER_DEG
        dlon = dlat / max(0.01, math.cos(math.radians(lat)))
        return lon - dlon, lat - dlat, lon + dlon, lat + dlat
    parts = (
        geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    )
    lons = [p[0] for part in parts for p in part[0]]
    lats = [p[1] for part in parts for p in part[0]]
    return min(lons), min(lats), max(lons), max(lats)


def schedule_validate(schedule: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for item in schedule:
        try:
            interval = engine.Interval.parse(item)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError({"schedule": f"malformed interval {item!r}: {exc}"}) from None
        if not interval.days or not interval.days <= set(range(7)):
            raise ValidationError({"schedule": "days are 0 (Monday) to 6 (Sunday)"})
        if interval.start_min == interval.end_min:
            raise ValidationError({"schedule": "an interval must not be empty"})
        out.append({"days": sorted(interval.days), "start": item["start"], "end": item["end"]})
    return out


def geometry_parse(text: str) -> dict[str, Any]:
    """A zone geometry from pasted GeoJSON (geometry, Feature, or a one-feature collection)
    or WKT (POLYGON, MULTIPOLYGON): a zone may be several areas, e.g. a school's two sites."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError({"geometry": f"not valid JSON: {exc}"}) from None
        if data.get("type") == "FeatureCollection":
            features = data.get("features") or []
            if len(features) != 1:
                raise ValidationError({"geometry": "paste one feature at a time"})
            data = features[0]
        if data.get("type") == "Feature":
            data = data.get("geometry") or {}
        return geometry_validate(data)
    try:
        shape = shapely_wkt.loads(text)
    except shapely.errors.GEOSException as exc:
        raise ValidationError({"geometry": f"not valid WKT: {exc}"}) from None
    if shape.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValidationError({"geometry": "only POLYGON and MULTIPOLYGON can be imported"})
    return geometry_validate(json.loads(shapely.to_geojson(shape)))


# --- permissions ------------------------------------------------------------------------


def can_write_zone(user: User, zone: Zone) -> bool:
    if zone.participant is not None:
        return can_write_participant(user, zone.participant)
    return can_write_shared_zone(user, zone.office)


def can_write_shared_zone(user: User, office: Office | None) -> bool:
    if not user.is_active:
        return False
    if user.role == Role.ADMINISTRATOR:
        return True
    return user.role == Role.SUPERVISOR and office is not None and office.pk == user.office_id


# --- writes -----------------------------------------------------------------------------


def _apply(zone: Zone, data: ZoneData) -> None:
    if data.kind not in ZoneKind.values:
        raise ValidationError({"kind": "inclusion or exclusion"})
    if not data.name.strip():
        raise ValidationError({"name": "a zone needs a name"})
    if not 0 <= data.buffer_m <= MAX_BUFFER_M:
        raise ValidationError({"buffer_m": f"buffer is 0-{MAX_BUFFER_M:.0f} m"})
    if data.active_from and data.active_to and data.active_to <= data.active_from:
        raise ValidationError({"active_to": "must be after the start"})
    if data.consecutive_fixes is not None and not 1 <= data.consecutive_fixes <= MAX_CONSECUTIVE:
        raise ValidationError({"consecutive_fixes": f"1-{MAX_CONSECUTIVE} fixes in a row"})
    geometry = geometry_validate(data.geometry)
    zone.name = data.name.strip()
    zone.kind = data.kind
    zone.geometry = geometry
    zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat = geometry_bbox(geometry)
    zone.buffer_m = data.buffer_m
    zone.schedule = schedule_validate(data.schedule)
    zone.active_from = data.active_from
    zone.active_to = data.active_to
    zone.consecutive_fixes = data.consecutive_fixes


def zone_create(
    *,
    actor: User,
    data: ZoneData,
    participant: Participant | None = None,
    office: Office | None = None,
) -> Zone:
    """A participant's own zone, or (``participant`` None) a shared zone of ``office``."""
    if participant is not None:
        if not can_write_participant(actor, participant):
            raise PermissionDenied("You may not edit this participant's zones.")
        zone = Zone(participant=participant, program=participant.program, office=participant.office)
    else:
        if not can_write_shared_zone(actor, office):
            raise PermissionDenied("Shared zones are kept by supervisors and administrators.")
        assert office is not None
        zone = Zone(participant=None, program=office.program, office=office)
    _apply(zone, data)
    zone.created_by = actor
    zone.save()
    logger.info("zone %s created by %s", zone.pk, actor.username)
    return zone


def zone_update(*, actor: User, zone: Zone, data: ZoneData) -> Zone:
    """Edit a zone; the version bump makes the engine rebuild its prepared geometry, and
    the kept state (inside/outside) stays, since the person has not moved."""
    if not can_write_zone(actor, zone):
        raise PermissionDenied("You may not edit this zone.")
    _apply(zone, data)
    zone.version += 1
    zone.save()
    logger.info("zone %s updated by %s to version %s", zone.pk, actor.username, zone.version)
    return zone


def zone_delete(*, actor: User, zone: Zone) -> None:
    if not can_write_zone(actor, zone):
        raise PermissionDenied("You may not delete this zone.")
    logger.info("zone %s deleted by %s", zone.pk, actor.username)
    zone.delete()


def zone_attach(*, actor: User, zone: Zone, participant: Participant) -> None:
    """Make a shared zone apply to a participant (the participant's writer decides)."""
    if not zone.is_shared:
        raise ValidationError("Only shared zones can be attached.")
    if not can_write_participant(actor, participant):
        raise PermissionDenied("You may not edit this participant's zones.")
    zone.attached.add(participant)


def zone_detach(*, actor: User, zone: Zone, participant: Participant) -> None:
    if not can_write_participant(actor, participant):
        raise PermissionDenied("You may not edit this participant's zones.")
    zone.attached.remove(participant)
    ZoneState.objects.filter(zone=zone, participant=participant).delete()


# --- the engine hand-off ----------------------------------------------------------------

_cache = engine.GeometryCache()


def _compact_geometry(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """The geometry with each ring as a float array (lon, lat) instead of parsed JSON.

    Every gateway process keeps the spec of each zone it has met (``_specs``) for as long as
    it runs; as JSON lists a corner costs a list and two float objects (~120 bytes, ~35 % of
    the gateway's Python heap with the bench's 3,000 zones), as an array 16 bytes. The engine
    reads either (``engine._prepare``)."""
    kind = geometry.get("type")
    if kind == "Polygon":
        rings = [np.asarray(ring, dtype=np.float64)[:, :2] for ring in geometry["coordinates"]]
        return {"type": kind, "coordinates": rings}
    if kind == "MultiPolygon":
        parts = [
            [np.asarray(ring, dtype=np.float64)[:, :2] for ring in part]
            for part in geometry["coordinates"]
        ]
        return {"type": kind, "coordinates": parts}
    return dict(geometry)


def zone_spec(zone: Zone) -> engine.ZoneSpec:
    return engine.ZoneSpec(
        id=zone.pk,
        version=zone.version,
        kind=zone.kind,
        geometry=_compact_geometry(zone.geometry),
        buffer_m=zone.buffer_m,
        schedule=tuple(engine.Interval.parse(i) for i in zone.schedule),
        active_from=zone.active_from,
        active_to=zone.active_to,
        stamp=zone.updated_at.timestamp(),
        consecutive=zone.consecutive_fixes or 0,
    )


_specs: dict[int, tuple[int, Any, engine.ZoneSpec]] = {}


def _epoch_sql(column: str) -> str:
    """SQL for a datetime column as float seconds since 1970, exact to the microsecond,
    computed by the database (NULL stays NULL): no datetime object per row in Python.
    SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" text in UTC: whole seconds plus the
    fraction after character 19."""
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"(CAST(strftime('%%s', {column}) AS REAL) + CAST(substr({column}, 20) AS REAL))"


def _db_time(epoch: float) -> Any:
    """The inverse of ``_epoch_of`` for raw writes: SQLite compares datetimes as text, so a
    raw write must use the ORM's format exactly (naive UTC); PostgreSQL takes it aware."""
    value = datetime.fromtimestamp(epoch, UTC)
    if connection.vendor == "postgresql":
        return value
    return value.replace(tzinfo=None).isoformat(" ")


def _zone_rows(
    participant_ids: Sequence[int],
) -> tuple[dict[int, str], list[tuple[int, int, str, int]]]:
    """The participants' time zones, and (zone id, version, updated_at, participant id) of
    every zone in force for them, own or attached. One raw read, not three: this runs for
    every stored batch. A row without a version is a participant's time zone; updated_at
    comes as text, since it is only compared for equality."""
    where, params = ids_clause("participant_id", participant_ids)
    by_id, _ = ids_clause("id", participant_ids)
    zone_table = Zone._meta.db_table
    attached_table = Zone.attached.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, NULL, time_zone, NULL FROM {Participant._meta.db_table} "  # noqa: S608
            f"WHERE {by_id} UNION ALL "
            f"SELECT id, version, CAST(updated_at AS TEXT), participant_id FROM {zone_table} "
            f"WHERE {where} UNION ALL "
            "SELECT a.zone_id, z.version, CAST(z.updated_at AS TEXT), a.participant_id "
            f"FROM {attached_table} a JOIN {zone_table} z ON z.id = a.zone_id "
            f"WHERE a.{where}",
            params * 3,
        )
        rows = cursor.fetchall()
    time_zones = {pk: text for pk, version, text, _ in rows if version is None}
    return time_zones, [row for row in rows if row[1] is not None]


def _zone_set_version() -> int | None:
    """The zone set's version (``ZoneSetVersion``); None if its row is missing."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT version FROM {ZoneSetVersion._meta.db_table} WHERE id = 1"  # noqa: S608
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


class _Registry:
    """This process's compiled zones for every participant it has seen, kept between
    batches and recompiled only when a batch brings a participant it does not know or
    whose zones (id, version, last edit) or time zone changed. Only geometry and rules are
    kept here: the state is always read from the database (another gateway worker may have
    moved it), and the slots of a batch are reset before that read.

    A participant's zones are read again only when the zone set's version has moved since
    they were last checked (``ZoneSetVersion``; read before the zones, so that a change
    committed after that read moves it again for the next batch)."""

    def __init__(self) -> None:
        self.signatures: dict[int, tuple[str, tuple[tuple[int, int, str], ...]]] = {}
        self.assignments: dict[int, list[engine.Assignment]] = {}
        self.zone_set = engine.compile_zones([], _cache)
        self.version: int | None = None
        self.checked: set[int] = set()  # participants whose zones were read at ``version``

    def zone_set_for(self, participant_ids: Sequence[int]) -> engine.ZoneSet:
        version = _zone_set_version()
        if version is None or version != self.version:
            self.version = version
            self.checked = set()
        unchecked = [pid for pid in participant_ids if pid not in self.checked]
        if not unchecked:
            return self.zone_set
        zone_set = self._recompile_if_changed(unchecked)
        if version is not None:
            self.checked.update(unchecked)
        return zone_set

    def _recompile_if_changed(self, participant_ids: Sequence[int]) -> engine.ZoneSet:
        time_zones, rows = _zone_rows(participant_ids)
        zones_of: dict[int, list[tuple[int, int, str]]] = {}
        for pk, version, updated, pid in rows:
            zones_of.setdefault(pid, []).append((pk, version, updated))
        changed = []
        for pid in participant_ids:
            signature = (time_zones.get(pid, "UTC"), tuple(sorted(zones_of.get(pid, ()))))
            if self.signatures.get(pid) != signature:
                changed.append((pid, signature))
        if not changed:
            return self.zone_set
        specs = _zone_specs([key for _, (_, keys) in changed for key in keys])
        for pid, (time_zone, keys) in changed:
            self.signatures[pid] = (time_zone, keys)
            self.assignments[pid] = [
                engine.Assignment(pid, specs[pk], time_zone) for pk, _, _ in keys if pk in specs
            ]
        self.zone_set = engine.compile_zones(
            [a for assignments in self.assignments.values() for a in assignments], _cache
        )
        return self.zone_set


def _zone_specs(keys: Sequence[tuple[int, int, str]]) -> dict[int, engine.ZoneSpec]:
    """Engine specs for (id, version, updated_at) keys: a zone's JSON is read and parsed
    only when it is new or was edited since this process last saw it."""
    stale = sorted(
        {
            pk
            for pk, version, updated in keys
            if _specs.get(pk, (None, None))[:2] != (version, updated)
        }
    )
    seen = {pk: (version, updated) for pk, version, updated in keys}
    for start in range(0, len(stale), 900):  # SQLite's parameter limit
        for zone in Zone.objects.filter(pk__in=stale[start : start + 900]):
            _specs[zone.pk] = (*seen[zone.pk], zone_spec(zone))
    return {pk: _specs[pk][2] for pk, _, _ in keys if pk in _specs}


_registry = _Registry()


def zone_fixes_evaluate(fixes: Sequence[FixLike]) -> list[Transition]:
    """Run stored fixes through their participants' zones: update and persist ZoneState,
    raise an alert when a violation starts and clear it when the person is back on the
    right side. Returns the transitions (entered, left, violation, cleared).

    This runs on the gateway's writer for every stored batch, so the reads and writes are
    raw SQL shaped for it: the batch's participants' clocks (locked) and zone states in two
    reads, then one upsert for the slots whose state changed or that are new, and one write
    of the newest fix time per participant (nearly every slot changes nothing else). The
    zones themselves come from a per-process registry (``_Registry``) that is recompiled
    only when they change."""
    arrays = engine.FixArrays.from_fixes(fixes)
    if len(arrays.t) == 0:
        return []
    participant_ids = np.unique(arrays.participant_id).tolist()
    zone_set = _registry.zone_set_for(participant_ids)
    slots = zone_set.slots_of(arrays.participant_id)
    if not len(slots):
        return []
    with transaction.atomic():
        zone_set.states_reset(slots)
        clocks = _clocks_load(zone_set, slots, participant_ids)
        stored = _states_load(zone_set, participant_ids)
        before = (zone_set.side[slots], zone_set.consecutive[slots], zone_set.violating[slots])
        transitions = engine.evaluate(
            zone_set, arrays, consecutive=settings.ONTRACK_ZONE_CONSECUTIVE_FIXES
        )
        _states_save(zone_set, slots, stored[slots], clocks, before)
        _clocks_save(zone_set, slots, clocks)
        _alerts_notify(transitions)
    for tr in transitions:
        logger.info(
            "zone %s participant %s %s at %s",
            tr.zone_id,
            tr.participant_id,
            tr.kind,
            tr.time.isoformat(),
        )
    return transitions


_STATE_COLUMNS = "participant_id, zone_id, side, since, consecutive_violations, violating"


def _clocks_load(
    zone_set: engine.ZoneSet, slots: npt.NDArray[np.int64], participant_ids: Sequence[int]
) -> npt.NDArray[np.float64]:
    """Lock the participants' clock rows (on PostgreSQL, in id order: two gateway workers
    never interleave on one participant, nor deadlock) and give every slot of theirs its
    participant's newest judged fix time. Returns each slot's time as loaded (-inf: none)."""
    where, params = ids_clause("participant_id", participant_ids)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT participant_id, {_epoch_sql('last_fix_at')} "  # noqa: S608
            f"FROM {ZoneClock._meta.db_table} WHERE {where} ORDER BY participant_id{lock}",
            params,
        )
        rows = cursor.fetchall()
    owners = zone_set.slot_participant[slots]
    times = np.full(len(slots), -np.inf)
    if rows:
        table = np.array(rows, dtype=np.float64).reshape(len(rows), 2)
        ids = table[:, 0].astype(np.int64)  # sorted by the query
        found = np.minimum(np.searchsorted(ids, owners), len(ids) - 1)
        hit = ids[found] == owners
        times[hit] = table[found[hit], 1]
    zone_set.last_t[slots] = times
    return times


def _states_load(zone_set: engine.ZoneSet, participant_ids: Sequence[int]) -> npt.NDArray[np.bool_]:
    """Load the kept state of every slot; returns which slots have a stored row.
    ``since`` is not read: it is written only when the side changes (see ``_states_save``).
    Rows become numbers in SQL and arrays in one conversion, matched to slots by a sorted
    search (slots are ordered by participant, then zone)."""
    where, params = ids_clause("participant_id", participant_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT participant_id, zone_id, "  # noqa: S608
            "CASE side WHEN 'inside' THEN 1 WHEN 'outside' THEN 2 ELSE 0 END, "
            "consecutive_violations, CASE WHEN violating THEN 1 ELSE 0 END "
            f"FROM {ZoneState._meta.db_table} WHERE {where}",
            params,
        )
        rows = cursor.fetchall()
    stored = np.zeros(len(zone_set), dtype=np.bool_)
    if not rows:
        return stored
    table = np.array(rows, dtype=np.int64).reshape(len(rows), 5)
    slot_keys = zone_set.slot_participant * _KEY_SPAN + zone_set.slot_zone_id
    keys = table[:, 0] * _KEY_SPAN + table[:, 1]
    found = np.minimum(np.searchsorted(slot_keys, keys), len(slot_keys) - 1)
    hit = slot_keys[found] == keys  # a state of a zone no longer in force is left alone
    slots, table = found[hit], table[hit]
    zone_set.states_load(
        slots,
        side=table[:, 2].astype(np.int8),
        since=np.full(len(slots), np.nan),
        last_t=zone_set.last_t[slots],
        consecutive=table[:, 3],
        violating=table[:, 4].astype(np.bool_),
    )
    stored[slots] = True
    return stored


_KEY_SPAN = 1 << 31  # (participant, zone) as one sortable int64; ids stay below 2**31


def _db_time_cached() -> Callable[[float], Any]:
    """``_db_time`` remembering its answers: a batch holds few distinct fix times."""
    times: dict[float, Any] = {}

    def db_time(epoch: float) -> Any:
        if not math.isfinite(epoch):
            return None
        hit = times.get(epoch)
        if hit is None:
            hit = times[epoch] = _db_time(epoch)
        return hit

    return db_time


def _states_save(
    zone_set: engine.ZoneSet,
    batch_slots: npt.NDArray[np.int64],
    stored: npt.NDArray[np.bool_],
    clocks: npt.NDArray[np.float64],
    before: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Write the states the batch changed, and those of slots judged for the first time.
    ``since`` was not loaded (NaN): it is set only where the side changed in this batch, and
    otherwise the stored value is kept."""
    side, consecutive, violating = before
    full = (zone_set.last_t[batch_slots] != clocks) & (
        ~stored
        | ~np.isnan(zone_set.since[batch_slots])
        | (zone_set.side[batch_slots] != side)
        | (zone_set.consecutive[batch_slots] != consecutive)
        | (zone_set.violating[batch_slots] != violating)
    )
    slots = batch_slots[full]
    if not len(slots):
        return
    db_time = _db_time_cached()
    table = ZoneState._meta.db_table
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} ({_STATE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) "  # noqa: S608
            "ON CONFLICT (participant_id, zone_id) DO UPDATE SET side = excluded.side, "
            f"since = COALESCE(excluded.since, {table}.since), "
            "consecutive_violations = excluded.consecutive_violations, "
            "violating = excluded.violating",
            [
                (pid, zid, engine.SIDE_NAMES[code], db_time(since), run, bad)
                for pid, zid, code, since, run, bad in zip(
                    zone_set.slot_participant[slots].tolist(),
                    zone_set.slot_zone_id[slots].tolist(),
                    zone_set.side[slots].tolist(),
                    zone_set.since[slots].tolist(),
                    zone_set.consecutive[slots].tolist(),
                    zone_set.violating[slots].tolist(),
                    strict=True,
                )
            ],
        )


def _clocks_save(
    zone_set: engine.ZoneSet, batch_slots: npt.NDArray[np.int64], clocks: npt.NDArray[np.float64]
) -> None:
    """Move each participant's clock to the newest fix the batch judged for them (slots
    are grouped by participant; every slot of a participant saw the same fixes)."""
    owners = zone_set.slot_participant[batch_slots]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    newest = np.maximum.reduceat(zone_set.last_t[batch_slots], starts)
    moved = newest > clocks[starts]  # a participant's slots were all given its clock
    if not moved.any():
        return
    pids, times = owners[starts][moved].tolist(), newest[moved].tolist()
    table = ZoneClock._meta.db_table
    upsert = (
        f"INSERT INTO {table} (participant_id, last_fix_at) {{}} "
        "ON CONFLICT (participant_id) DO UPDATE SET last_fix_at = excluded.last_fix_at "
        f"WHERE {table}.last_fix_at < excluded.last_fix_at"
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement, two text parameters
            cursor.execute(
                upsert.format(
                    "SELECT unnest(string_to_array(%s, ',')::bigint[]), "
                    "to_timestamp(unnest(string_to_array(%s, ',')::float8[]))"
                ),
                [",".join(map(str, pids)), ",".join(map(repr, times))],
            )
        else:
            db_time = _db_time_cached()
            cursor.executemany(
                upsert.format("VALUES (%s, %s)"),
                [(pid, db_time(t)) for pid, t in zip(pids, times, strict=True)],
            )


def _alerts_notify(transitions: Sequence[Transition]) -> None:
    """Violations raise, clearances clear. Called inside the batch's transaction: if raising
    fails, the state is not saved either, so the next fix raises again instead of the
    violation being forgotten."""
    wanted = [tr for tr in transitions if tr.kind in ("violation", "cleared")]
    if not wanted:
        return
    for tr in wanted:
        kind = ALERT_KIND[tr.zone_kind]
        source = f"zone:{tr.zone_id}"
        if tr.kind == "violation":
            alert_raise(
                participant_id=tr.participant_id,
                kind=kind,
                source=source,
                occurred_at=tr.time,
                zone_id=tr.zone_id,
                details={"lat": tr.lat, "lon": tr.lon, "accuracy_m": tr.accuracy_m},
            )
        else:
            alert_clear(
                participant_id=tr.participant_id, kind=kind, source=source, cleared_at=tr.time
            )


# Tries of a stored batch's zone check when the database is busy (below).
ZONE_CHECK_ATTEMPTS = 3


def batch_evaluate(batch: Any) -> None:
    """Tracking's hand-off callback (registered in ``TrackingConfig.ready``): a
    ``StoredBatch``'s fixes into the zone engine.

    The positions are stored before this runs, so a zone check that fails would be lost for
    good: an entry into an exclusion zone never raised. A check that finds the database
    busy is tried again. On SQLite that is the write lock held past its timeout while
    another process writes without pause (a worker catching up at start-up); the check's
    transaction rolled back and it reads the zone states afresh, so trying again is safe."""
    for attempt in range(1, ZONE_CHECK_ATTEMPTS + 1):
        try:
            zone_fixes_evaluate(batch.fixes)
            return
        except OperationalError as error:
            if attempt == ZONE_CHECK_ATTEMPTS:
                raise
            logger.warning(
                "zone check of a stored batch found the database busy; trying again "
                "attempt=%d fixes=%d error=%s",
                attempt,
                len(batch.fixes),
                error,
            )
            time.sleep(attempt)
