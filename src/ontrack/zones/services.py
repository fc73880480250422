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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import shapely
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from shapely import wkt as shapely_wkt

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.services import alert_clear, alert_raise
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant
from ontrack.zones import engine
from ontrack.zones.models import Side, Zone, ZoneKind, ZoneState

logger = logging.getLogger(__name__)

MAX_VERTICES = 1_000
MAX_RADIUS_M = 50_000.0
MAX_BUFFER_M = 5_000.0

ALERT_KIND = {
    ZoneKind.EXCLUSION.value: "exclusion_zone_entry",
    ZoneKind.INCLUSION.value: "inclusion_zone_exit",
}


class FixLike(Protocol):
    participant_id: int | None
    device_id: int
    time: datetime
    lat: float
    lon: float
    accuracy_m: float | None


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
            rings = [[[float(p[0]), float(p[1])] for p in ring] for ring in geometry["coordinates"]]
        else:
            raise ValidationError({"geometry": "a zone is a Polygon or a Circle"})
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ValidationError({"geometry": f"malformed geometry: {exc}"}) from None
    if not rings or sum(len(r) for r in rings) > MAX_VERTICES:
        raise ValidationError({"geometry": f"a polygon has 4-{MAX_VERTICES} vertices"})
    for ring in rings:
        if len(ring) < 4 or ring[0] != ring[-1]:
            raise ValidationError({"geometry": "each ring must be closed (first = last point)"})
        for lon, lat in ring:
            _check_lon_lat(lon, lat)
    polygon = shapely.Polygon(rings[0], rings[1:])
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        raise ValidationError({"geometry": f"invalid polygon: {reason}"})
    if polygon.area == 0:
        raise ValidationError({"geometry": "the polygon has no area"})
    return {"type": "Polygon", "coordinates": rings}


def geometry_bbox(geometry: Mapping[str, Any]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat), a circle's padded by its radius."""
    if geometry["type"] == "Circle":
        lon, lat = geometry["center"]
        dlat = geometry["radius_m"] / engine.M_PER_DEG
        dlon = dlat / max(0.01, math.cos(math.radians(lat)))
        return lon - dlon, lat - dlat, lon + dlon, lat + dlat
    lons = [p[0] for p in geometry["coordinates"][0]]
    lats = [p[1] for p in geometry["coordinates"][0]]
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
    or WKT (POLYGON)."""
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
    if shape.geom_type != "Polygon":
        raise ValidationError({"geometry": "only POLYGON can be imported"})
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
    geometry = geometry_validate(data.geometry)
    zone.name = data.name.strip()
    zone.kind = data.kind
    zone.geometry = geometry
    zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat = geometry_bbox(geometry)
    zone.buffer_m = data.buffer_m
    zone.schedule = schedule_validate(data.schedule)
    zone.active_from = data.active_from
    zone.active_to = data.active_to


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


def zone_spec(zone: Zone) -> engine.ZoneSpec:
    return engine.ZoneSpec(
        id=zone.pk,
        version=zone.version,
        kind=zone.kind,
        geometry=zone.geometry,
        buffer_m=zone.buffer_m,
        schedule=tuple(engine.Interval.parse(i) for i in zone.schedule),
        active_from=zone.active_from,
        active_to=zone.active_to,
        stamp=zone.updated_at.timestamp(),
    )


_specs: dict[int, engine.ZoneSpec] = {}


def _zone_specs(keys: list[tuple[int, int, datetime]]) -> dict[int, engine.ZoneSpec]:
    """Engine specs for (id, version, updated_at) keys: a zone's JSON is read and parsed
    only when it is new or was edited since this process last saw it."""
    stale = [
        pk
        for pk, version, updated in keys
        if (hit := _specs.get(pk)) is None
        or (hit.version, hit.stamp) != (version, updated.timestamp())
    ]
    for zone in Zone.objects.filter(pk__in=stale):
        _specs[zone.pk] = zone_spec(zone)
    return {pk: _specs[pk] for pk, _, _ in keys}


def _assignments(participant_ids: Iterable[int]) -> list[engine.Assignment]:
    ids = set(participant_ids)
    time_zones = dict(Participant.objects.filter(pk__in=ids).values_list("pk", "time_zone"))
    rows = list(
        Zone.objects.filter(participant_id__in=ids).values_list(
            "pk", "version", "updated_at", "participant_id"
        )
    )
    attached: dict[int, list[int]] = {}
    for zone_id, pid in Zone.attached.through.objects.filter(participant_id__in=ids).values_list(
        "zone_id", "participant_id"
    ):
        attached.setdefault(zone_id, []).append(pid)
    rows += Zone.objects.filter(pk__in=attached).values_list(
        "pk", "version", "updated_at", "participant_id"
    )
    specs = _zone_specs([(pk, version, updated) for pk, version, updated, _ in rows])
    out: list[engine.Assignment] = []
    for pk, _, _, owner in rows:
        owners = [owner] if owner is not None else attached.get(pk, [])
        out.extend(engine.Assignment(pid, specs[pk], time_zones.get(pid, "UTC")) for pid in owners)
    return out


def zone_fixes_evaluate(fixes: Sequence[FixLike]) -> list[Transition]:
    """Run stored fixes through their participants' zones: update and persist ZoneState,
    raise an alert when a violation starts and clear it when the person is back on the
    right side. Returns the transitions (entered, left, violation, cleared)."""
    arrays = engine.FixArrays.from_fixes(fixes)
    if len(arrays.t) == 0:
        return []
    assignments = _assignments(int(p) for p in set(arrays.participant_id.tolist()))
    if not assignments:
        return []
    zone_set = engine.compile_zones(assignments, _cache)
    with transaction.atomic():
        stored = {
            (s.participant_id, s.zone_id): s
            for s in ZoneState.objects.select_for_update().filter(
                participant_id__in=set(zone_set.slot_participant.tolist()),
                zone_id__in=set(zone_set.slot_zone_id.tolist()),
            )
        }
        for slot in range(len(zone_set)):
            row = stored.get(
                (int(zone_set.slot_participant[slot]), int(zone_set.slot_zone_id[slot]))
            )
            if row is not None:
                zone_set.state_set(slot, _slot_state(row))
        before = zone_set.last_t.copy()
        transitions = engine.evaluate(
            zone_set, arrays, consecutive=settings.ONTRACK_ZONE_CONSECUTIVE_FIXES
        )
        _persist(zone_set, stored, (zone_set.last_t != before).nonzero()[0].tolist())
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


def _slot_state(row: ZoneState) -> engine.SlotState:
    return engine.SlotState(
        side=row.side,
        since=row.since,
        last_fix_at=row.last_fix_at,
        consecutive=row.consecutive_violations,
        violating=row.violating,
    )


def _persist(
    zone_set: engine.ZoneSet, stored: dict[tuple[int, int], ZoneState], slots: list[int]
) -> None:
    changed: list[ZoneState] = []
    new: list[ZoneState] = []
    for slot in slots:
        key = (int(zone_set.slot_participant[slot]), int(zone_set.slot_zone_id[slot]))
        state = zone_set.state_get(slot)
        row = stored.get(key) or ZoneState(participant_id=key[0], zone_id=key[1])
        row.side = Side(state.side)
        row.since = state.since
        row.last_fix_at = state.last_fix_at
        row.consecutive_violations = state.consecutive
        row.violating = state.violating
        (changed if row.pk else new).append(row)
    fields = ["side", "since", "last_fix_at", "consecutive_violations", "violating"]
    if changed:
        ZoneState.objects.bulk_update(changed, fields)
    if new:
        ZoneState.objects.bulk_create(new)


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


def batch_evaluate(batch: Any) -> None:
    """Tracking's hand-off callback (registered in ``TrackingConfig.ready``): a
    ``StoredBatch``'s fixes into the zone engine."""
    zone_fixes_evaluate(batch.fixes)
