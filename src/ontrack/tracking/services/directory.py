"""The gateway's view of the devices: who may report, and when to look again.

The gateway stores what a device sends without a query per frame: it holds the whole
directory (identifier -> ``DeviceInfo``) and reloads it when ``directory_version`` moves.
Every lifecycle change that alters who may report, or for whom, calls ``directory_changed``
in its own transaction (``devices.py``), so that the reload sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F
from django.utils import timezone

from ontrack.tracking.models import Device, DeviceAssignment, DeviceStatus, DirectoryVersion


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """What the gateway needs to know about a device to store what it sends, without a
    query per frame."""

    id: int
    identifier: str
    kind: str
    protocol: str
    participant_id: int | None
    time_offset_minutes: int


def directory_changed() -> None:
    """Tell every gateway to reload its device directory (see ``DirectoryVersion``); call
    in the transaction of the change, so that the reload sees it."""
    now = timezone.now()
    if not DirectoryVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=now):
        DirectoryVersion.objects.get_or_create(pk=1, defaults={"version": 1, "changed_at": now})


def directory_version() -> int:
    version: int | None = (
        DirectoryVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    )
    return version or 0


def device_directory() -> dict[str, DeviceInfo]:
    """Identifier -> info for every device that may report (all but retired ones), with the
    participant who wears it now. Two queries, whatever the fleet size; the gateway reloads
    it periodically."""
    wearer = dict(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "device_id", "participant_id"
        )
    )
    rows = (
        Device.objects.exclude(status=DeviceStatus.RETIRED)
        .order_by()
        .values_list("id", "identifier", "kind", "protocol", "time_offset_minutes")
    )
    return {
        identifier: DeviceInfo(
            id=pk,
            identifier=identifier,
            kind=kind,
            protocol=protocol,
            participant_id=wearer.get(pk),
            time_offset_minutes=offset,
        )
        for pk, identifier, kind, protocol, offset in rows
    }
