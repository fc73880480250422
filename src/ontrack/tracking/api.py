"""Devices, positions and device events over JSON, with the console's permission rules.

Positions, events and a worn device's last position are read through the gate
(``participants.gate``: 404 outside one's caseload, every read access-logged about the
wearer), as the console does.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Query, Router, Schema

from ontrack.accounts.web import staff_user
from ontrack.apipages import KeysetPagination, paginate
from ontrack.apitypes import AwareDateTime
from ontrack.audit.models import AccessAction
from ontrack.participants.gate import participant_read, participants_listed
from ontrack.tracking.models import Device, DeviceEventRecord, Position
from ontrack.tracking.queries import (
    DEVICE_SORTS,
    POSITION_FIELDS,
    DeviceFilter,
    device_filter,
    device_wearers,
    devices_visible_to,
    participant_device_events,
    participant_positions,
)

router = Router(tags=["tracking"])

MAX_DEVICE_EVENTS = 50_000


class DeviceOut(Schema):
    id: int
    identifier: str
    kind: str
    protocol: str
    firmware: str
    status: str
    office_id: int | None
    last_seen_at: dt.datetime | None
    last_fix_time: dt.datetime | None
    last_lat: float | None
    last_lon: float | None
    last_accuracy_m: float | None
    battery_pct: int | None
    charging: bool | None


class DeviceQuery(Schema):
    q: str = ""
    status: str = ""
    kind: str = ""
    protocol: str = ""
    office: int | None = None
    sort: str = Field("identifier", description="One of: " + ", ".join(DEVICE_SORTS))


class PositionOut(Schema):
    """A stored fix. ``valid`` false marks a report without a valid fix (``invalid_reason``
    says why; ``lat``/``lon`` are null when it carried no position): the device reported,
    but it is no place the person was."""

    device_id: int
    time: dt.datetime
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    speed_kmh: float | None
    course: float | None
    altitude_m: float | None
    satellites: int | None
    valid: bool
    invalid_reason: str = Field(
        description="no_fix, few_satellites, device_marked_invalid; empty when valid"
    )


class DeviceEventOut(Schema):
    device_id: int
    time: dt.datetime
    kind: str
    raw_code: str


class Window(Schema):
    start: AwareDateTime = Field(description="ISO-8601 with an offset; inclusive")
    end: AwareDateTime = Field(description="ISO-8601 with an offset; exclusive")


def _devices_shown(request: HttpRequest, devices: list[Device]) -> None:
    """A worn device's last position is its wearer's location."""
    located = [d.pk for d in devices if d.last_fix_time is not None]
    participants_listed(
        request, device_wearers(located).values(), what="API devices list: last positions"
    )


@router.get("/devices", response=list[DeviceOut])
@paginate(KeysetPagination, shown=_devices_shown)
def devices_list(request: HttpRequest, query: Query[DeviceQuery]) -> QuerySet[Device]:
    f = DeviceFilter(
        q=query.q,
        status=query.status,
        kind=query.kind,
        protocol=query.protocol,
        office=query.office,
        sort=query.sort if query.sort in DEVICE_SORTS else "identifier",
    )
    return device_filter(devices_visible_to(staff_user(request)), f)


@router.get("/devices/{device_id}", response=DeviceOut)
def device_detail(request: HttpRequest, device_id: int) -> Device:
    try:
        device = devices_visible_to(staff_user(request)).get(pk=device_id)
    except Device.DoesNotExist:
        raise Http404("No such device.") from None
    wearer = device_wearers([device.pk]).get(device.pk)
    if wearer is not None and device.last_fix_time is not None:
        participant_read(
            request,
            wearer,
            what=f"API device {device.identifier} last position",
            action=AccessAction.API_READ,
        )
    return device


def _window(window: Window) -> tuple[dt.datetime, dt.datetime]:
    from django.core.exceptions import ValidationError

    if window.end <= window.start:
        raise ValidationError({"end": "The end must be after the start."})
    return window.start, window.end


@router.get("/participants/{participant_id}/positions", response=list[PositionOut])
@paginate(KeysetPagination, page_size=1_000, max_page_size=10_000)
def participant_positions_list(
    request: HttpRequest, participant_id: int, window: Query[Window]
) -> QuerySet[Position, dict[str, object]]:
    """Oldest first, reports without a valid fix included (marked ``valid: false``). Each
    page is read through the gate, about the participant."""
    start, end = _window(window)
    participant = participant_read(
        request,
        participant_id,
        what=f"positions {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}",
        action=AccessAction.API_READ,
    )
    return participant_positions(participant, start, end, with_invalid=True).values(
        *POSITION_FIELDS
    )


@router.get("/participants/{participant_id}/device-events", response=list[DeviceEventOut])
def participant_device_events_list(
    request: HttpRequest, participant_id: int, window: Query[Window]
) -> list[DeviceEventRecord]:
    start, end = _window(window)
    participant = participant_read(
        request,
        participant_id,
        what=f"device events {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}",
        action=AccessAction.API_READ,
    )
    return list(participant_device_events(participant, start, end)[:MAX_DEVICE_EVENTS])
