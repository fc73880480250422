"""Reads of zones shared by the console, the API and the alert and track maps."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone


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
    (GeoJSON has no circle; Leaflet draws ``L.circle`` from it)."""
    geometry = zone.geometry
    properties: dict[str, Any] = {
        "id": zone.pk,
        "name": zone.name,
        "kind": zone.kind,
        "buffer_m": zone.buffer_m,
        "schedule": zone.schedule,
        "shared": zone.is_shared,
        "version": zone.version,
    }
    if geometry["type"] == "Circle":
        properties["radius_m"] = geometry["radius_m"]
        geometry = {"type": "Point", "coordinates": geometry["center"]}
    return {"type": "Feature", "id": zone.pk, "geometry": geometry, "properties": properties}


def zones_feature_collection(zones: QuerySet[Zone]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [zone_feature(z) for z in zones]}
