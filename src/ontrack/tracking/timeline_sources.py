"""What tracking contributes to a person's timeline: the events their devices reported
(tamper, battery, charger, power, signal, SOS...) in plain words, the vendor's code kept in
the technical details. Assignments and returns of devices are case changes, recorded by
``tracking.services.devices`` in the participant's history, so they appear through
participants' own source and not twice."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_source,
)
from ontrack.tracking.models import DeviceEventRecord
from ontrack.tracking.protocols.records import EventKind

DEVICE_EVENT = "device_event"

EVENT_WORDS: dict[str, str] = {
    EventKind.TAMPER: "Strap or case tampered with",
    EventKind.DEVICE_REMOVED: "Device taken off",
    EventKind.EXTERNAL_POWER_CUT: "External power cut",
    EventKind.LOW_BATTERY: "Battery low",
    EventKind.CRITICAL_BATTERY: "Battery critically low",
    EventKind.CHARGER_CONNECTED: "Charger connected",
    EventKind.CHARGER_DISCONNECTED: "Charger disconnected",
    EventKind.POWER_ON: "Device switched on",
    EventKind.POWER_OFF: "Device switched off",
    EventKind.GPS_LOST: "GPS signal lost",
    EventKind.GPS_REGAINED: "GPS signal back",
    EventKind.GNSS_JAMMING: "GPS jamming detected",
    EventKind.SOS: "SOS button pressed",
    EventKind.FALL: "Fall detected",
    EventKind.VIBRATION: "Device shaken",
    EventKind.OVERSPEED: "Speed limit exceeded",
    EventKind.EXTERNAL_POWER_LOW: "External power low",
    EventKind.MOVEMENT: "Moved while armed",
    EventKind.GEOFENCE_ENTER: "Entered one of the device's own areas",
    EventKind.GEOFENCE_EXIT: "Left one of the device's own areas",
    EventKind.HARSH_ACCELERATION: "Harsh acceleration",
    EventKind.HARSH_BRAKING: "Harsh braking",
    EventKind.HARSH_CORNERING: "Harsh cornering",
    EventKind.COLLISION: "Collision detected",
    EventKind.UNKNOWN_ALARM: "An alarm the device does not name",
}


def event_words(kind: str) -> str:
    """A device event kind as staff read it (never the code itself)."""
    return EVENT_WORDS.get(kind, "Device event")


def device_event_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        DeviceEventRecord.objects.filter(participant=q.participant).select_related("device"),
        q,
        DEVICE_EVENT,
        time="time",
    )
    return [
        Entry(
            at=e.time,
            kind=DEVICE_EVENT,
            id=e.pk,
            title=event_words(e.kind),
            detail=f"Reported by the {e.device.get_kind_display().lower()}",
            link=reverse("tracking:device", args=[e.device_id]),
            technical=(
                ("event", e.kind),
                ("vendor code", e.raw_code or "—"),
                ("device", e.device.identifier),
                *((str(k), str(v)) for k, v in sorted(e.attributes.items())),
            ),
        )
        for e in rows
    ]


def register() -> None:
    register_source(Source(kind=DEVICE_EVENT, group="devices", entries=device_event_entries))
