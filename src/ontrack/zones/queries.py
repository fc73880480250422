"""Reads of zones shared by the console, the API and the alert and track maps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone
from ontrack.zones.schedule_words import schedule_describe


def participant_zones(participant: Participant) -> QuerySet[Zone]:
    """The participant's own zones and the shared zones attached to them."""
    return Zone.objects.filter(Q(participant=participant) | Q(attached=participant)).distinct()


def shared_zones_visible_to(user: User) -> QuerySet[Zone]:
    """Shared zones a staff member may see: their office's (administrators and operators:
    all; auditors: none). Shared zones hold no participant data."""
    shared = Zone.objects.filter(participant__isnull=True).select_related("office")
    if not user.is_active or user.role == Role.AUDITOR:
        return shared.none()
    if user.role in (Role.ADMINISTRATOR, Role.OPERATOR):
        return shared
    return shared.filter(Q(office_id=user.office_id) | Q(office__isnull=True))


def zone_feature(zone: Zone) -> dict[str, Any]:
    """One zone as a GeoJSON Feature; a circle is a Point with ``radius_m`` in properties
    (GeoJSON has no circle; Leaflet draws ``L.circle`` from it). ``schedule_words`` is the
    schedule as staff read it beside a map ("every day 21:00–06:00")."""
    geometry = zone.geometry
    properties: dict[str, Any] = {
        "id": zone.pk,
        "name": zone.name,
        "kind": zone.kind,
        "buffer_m": zone.buffer_m,
        "schedule": zone.schedule,
        "schedule_words": schedule_describe(zone.schedule),
        "shared": zone.is_shared,
        "version": zone.version,
    }
    if geometry["type"] == "Circle":
        properties["radius_m"] = geometry["radius_m"]
        geometry = {"type": "Point", "coordinates": geometry["center"]}
    return {"type": "Feature", "id": zone.pk, "geometry": geometry, "properties": properties}


def zones_feature_collection(zones: QuerySet[Zone]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [zone_feature(z) for z in zones]}


# --- where a map of someone's zones opens ------------------------------------------------

# (lat, lon, fix time) of a participant's newest stored position, or None. Tracking sits
# above zones in the import stack, so it registers its reader here at start-up.
LastPositionSource = Callable[[Participant], "tuple[float, float, dt.datetime] | None"]
_last_position_sources: list[LastPositionSource] = []

# The zoom a map opens at on a single point (a last position): a few streets around it.
STREET_ZOOM = 16
# At an office: its part of town, since the person lives somewhere around it.
OFFICE_ZOOM = 13


def last_position_source_register(source: LastPositionSource) -> None:
    """Called by ``TrackingConfig.ready``; registering twice is harmless."""
    if source not in _last_position_sources:
        _last_position_sources.append(source)


def participant_last_position(participant: Participant) -> tuple[float, float, dt.datetime] | None:
    """The newest position any registered source knows for the participant."""
    found = [pos for source in _last_position_sources if (pos := source(participant))]
    return max(found, key=lambda pos: pos[2]) if found else None


def _is_home(zone: Zone) -> bool:
    return zone.kind == "inclusion" and zone.name.strip().lower().startswith("home")


def editor_start(
    participant: Participant | None, *, office: Office | None, editing: Zone | None = None
) -> dict[str, Any]:
    """Where the zone editor opens, and why (the page says so).

    Neither an address nor an office is geocoded (nothing may leave the machine to do it),
    so "home" is the participant's own home zone: an inclusion zone named Home, as the demo
    and most programs name it. Then their last known position, then the bounds of all their
    zones, then the office's location (typed in by an administrator; for a shared zone, the
    editor's own office); the page falls back to the whole country only when none of these
    exists. A zone being edited opens on its own shape (in the script).

    ``{"reason": ..., "bounds": [[s, w], [n, e]]}`` or ``{"reason": ..., "center": [lat,
    lon], "zoom": z}`` or ``{}``; ``used_position`` says whether a position was read (the
    caller logs that read)."""
    if participant is not None:
        zones = [z for z in participant_zones(participant) if editing is None or z.pk != editing.pk]
        homes = [z for z in zones if _is_home(z)]
        if homes:
            return {"reason": "home zone", "bounds": _bounds(homes)}
        position = participant_last_position(participant)
        if position is not None:
            lat, lon, _time = position
            return {
                "reason": "last known position",
                "center": [lat, lon],
                "zoom": STREET_ZOOM,
                "used_position": True,
            }
        if zones:
            return {"reason": "zones", "bounds": _bounds(zones)}
    if office is not None and office.location is not None:
        return {"reason": "office", "center": list(office.location), "zoom": OFFICE_ZOOM}
    return {}


def _bounds(zones: list[Zone]) -> list[list[float]]:
    """[[south, west], [north, east]] from the zones' bounding-box columns."""
    return [
        [min(z.min_lat for z in zones), min(z.min_lon for z in zones)],
        [max(z.max_lat for z in zones), max(z.max_lon for z in zones)],
    ]
