"""Zones over JSON, with the console's rules: a participant's zones through the gate
(``participants.gate``: 404 outside one's caseload, reads access-logged), writes through
the services (which check who may write)."""

from __future__ import annotations

from typing import Any, Literal

from django.http import Http404, HttpRequest
from ninja import Field, Router, Status

from ontrack.accounts.web import staff_user
from ontrack.apitypes import AwareDateTime, BodySchema
from ontrack.audit.models import AccessAction
from ontrack.participants.gate import participant_for_change, participant_read
from ontrack.zones import services
from ontrack.zones.models import Zone
from ontrack.zones.queries import (
    participant_zones,
    shared_zones_visible_to,
    zone_feature,
    zones_feature_collection,
)

router = Router(tags=["zones"])


Ring = list[tuple[float, float]]


class GeometryIn(BodySchema):
    """A Polygon or MultiPolygon (GeoJSON coordinates, longitude first) or a Circle."""

    type: Literal["Polygon", "MultiPolygon", "Circle"]
    coordinates: list[Ring] | list[list[Ring]] | None = None
    center: tuple[float, float] | None = Field(None, description="A circle's [lon, lat]")
    radius_m: float | None = Field(None, description="A circle's radius in metres")


class IntervalIn(BodySchema):
    """When a scheduled zone applies, in the participant's local time; an interval may
    cross midnight (``21:00``-``06:00``)."""

    days: list[int] = Field(description="0 (Monday) to 6 (Sunday)")
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class ZoneIn(BodySchema):
    name: str
    kind: str
    geometry: GeometryIn | None = None
    wkt: str = ""
    buffer_m: float = 0.0
    schedule: list[IntervalIn] = []
    active_from: AwareDateTime | None = None
    active_to: AwareDateTime | None = None
    consecutive_fixes: int | None = None

    def data(self) -> services.ZoneData:
        geometry = (
            services.geometry_parse(self.wkt)
            if self.wkt
            else self.geometry.dict(exclude_none=True)
            if self.geometry
            else {}
        )
        return services.ZoneData(
            name=self.name,
            kind=self.kind,
            geometry=geometry,
            buffer_m=self.buffer_m,
            schedule=[interval.dict() for interval in self.schedule],
            active_from=self.active_from,
            active_to=self.active_to,
            consecutive_fixes=self.consecutive_fixes,
        )


def _zone(request: HttpRequest, zone_id: int, *, read: bool = False) -> Zone:
    """The zone if the caller may see it, else 404. With ``read``, a participant's own zone
    is a read of their record and is logged as one."""
    zone = Zone.objects.select_related("participant").filter(pk=zone_id).first()
    if zone is None:
        raise Http404("No such zone.")
    if zone.participant_id is not None and read:
        participant_read(
            request, zone.participant_id, what=f"zone {zone.pk}", action=AccessAction.API_READ
        )
    elif zone.participant_id is not None:
        participant_for_change(request, zone.participant_id)
    elif not shared_zones_visible_to(staff_user(request)).filter(pk=zone_id).exists():
        raise Http404("No such zone.")
    return zone


@router.get("/participants/{participant_id}/zones")
def participant_zones_list(request: HttpRequest, participant_id: int) -> dict[str, Any]:
    """The participant's zones (own and attached shared ones) as a GeoJSON
    FeatureCollection; a circle is a Point with ``properties.radius_m``."""
    participant = participant_read(
        request, participant_id, what="zones", action=AccessAction.API_READ
    )
    return zones_feature_collection(participant_zones(participant))


@router.post("/participants/{participant_id}/zones", response={201: dict[str, Any]})
def participant_zone_create(
    request: HttpRequest, participant_id: int, payload: ZoneIn
) -> Status[dict[str, Any]]:
    participant = participant_for_change(request, participant_id)
    zone = services.zone_create(
        actor=staff_user(request), participant=participant, data=payload.data()
    )
    return Status(201, zone_feature(zone))


@router.get("/zones/shared")
def shared_zones_list(request: HttpRequest) -> dict[str, Any]:
    return zones_feature_collection(shared_zones_visible_to(staff_user(request)))


@router.post("/zones/shared", response={201: dict[str, Any]})
def shared_zone_create(request: HttpRequest, payload: ZoneIn) -> Status[dict[str, Any]]:
    user = staff_user(request)
    zone = services.zone_create(actor=user, office=user.office, data=payload.data())
    return Status(201, zone_feature(zone))


@router.post("/participants/{participant_id}/zones/attached/{zone_id}", response={204: None})
def participant_zone_attach(
    request: HttpRequest, participant_id: int, zone_id: int
) -> Status[None]:
    """Make a shared zone (a courthouse, an office) apply to the participant."""
    user = staff_user(request)
    participant = participant_for_change(request, participant_id)
    services.zone_attach(actor=user, zone=_zone(request, zone_id), participant=participant)
    return Status(204, None)


@router.delete("/participants/{participant_id}/zones/attached/{zone_id}", response={204: None})
def participant_zone_detach(
    request: HttpRequest, participant_id: int, zone_id: int
) -> Status[None]:
    user = staff_user(request)
    participant = participant_for_change(request, participant_id)
    services.zone_detach(actor=user, zone=_zone(request, zone_id), participant=participant)
    return Status(204, None)


@router.get("/zones/{zone_id}")
def zone_detail(request: HttpRequest, zone_id: int) -> dict[str, Any]:
    """One zone; a participant's own zone is a read of their record and is logged."""
    return zone_feature(_zone(request, zone_id, read=True))


@router.put("/zones/{zone_id}")
def zone_update(request: HttpRequest, zone_id: int, payload: ZoneIn) -> dict[str, Any]:
    zone = services.zone_update(
        actor=staff_user(request), zone=_zone(request, zone_id), data=payload.data()
    )
    return zone_feature(zone)


@router.delete("/zones/{zone_id}", response={204: None})
def zone_delete(request: HttpRequest, zone_id: int) -> Status[None]:
    services.zone_delete(actor=staff_user(request), zone=_zone(request, zone_id))
    return Status(204, None)
