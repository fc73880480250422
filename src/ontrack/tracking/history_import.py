"""Tracking history brought in from another system (an OTRTS record): the devices a person
wore there, when, and what those devices reported. The only way another app writes
devices, wearings, positions or device events of the past.

History is not live reporting, so it takes none of ``store_batch``'s path: no filters
(the other system already judged each fix, and its verdict is kept), no hand-off to zones
and alerts (what happened then was alerted then, and comes with the record), no "last seen"
(a history device reports nothing here). Its devices are *history devices*
(``hist-<original>-<n>``, retired): the original trackers belong to the old provider, and a
retired device can never be assigned, nor accepted by the gateway.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant
from ontrack.tracking import partitions
from ontrack.tracking.models import (
    Device,
    DeviceAssignment,
    DeviceEventRecord,
    DeviceKind,
    DeviceStatus,
    InvalidReason,
    Position,
    Protocol,
)

logger = logging.getLogger(__name__)

# Each history value names its device by a key of the caller's (the document's ``s:id``).


@dataclass(frozen=True)
class HistoryDevice:
    identifier: str
    kind: str
    protocol: str


@dataclass(frozen=True)
class HistoryWearing:
    device: str
    started_at: dt.datetime
    ended_at: dt.datetime | None


@dataclass(frozen=True)
class HistoryPoint:
    device: str
    time: dt.datetime
    lat: float
    lon: float
    accuracy_m: float | None
    speed_kmh: float | None
    course: float | None
    altitude_m: float | None
    satellites: int | None
    valid: bool


@dataclass(frozen=True)
class HistoryEvent:
    device: str
    time: dt.datetime
    kind: str
    raw_code: str


def history_days_prepare(points: Iterable[HistoryPoint]) -> None:
    """Make the positions table ready for these days (PostgreSQL day partitions). Called
    before the import's transaction: a partition made for a rolled-back import is harmless,
    while one rolled back under the process's cache of known days is not."""
    if partitions.is_partitioned():
        partitions.positions_ensure_days({p.time.date() for p in points})


def _history_device(device: HistoryDevice) -> Device:
    """A retired device that holds the imported history of one tracker of the old system."""
    if device.kind not in DeviceKind.values or device.protocol not in Protocol.values:
        raise ValidationError(f"Device {device.identifier}: unknown kind or protocol.")
    n = 1
    while True:
        suffix = f"-{n}"
        identifier = f"hist-{device.identifier}"[: 40 - len(suffix)] + suffix
        if not Device.objects.filter(identifier=identifier).exists():
            break
        n += 1
    return Device.objects.create(
        identifier=identifier,
        kind=device.kind,
        protocol=device.protocol,
        status=DeviceStatus.RETIRED,
        firmware="imported history (OTRTS)",
    )


def _check_references(
    devices: dict[str, HistoryDevice],
    wearings: Sequence[HistoryWearing],
    points: Sequence[HistoryPoint],
    events: Sequence[HistoryEvent],
) -> None:
    named = {w.device for w in wearings} | {p.device for p in points} | {e.device for e in events}
    if unknown := named - devices.keys():
        raise ValidationError(f"History names devices it does not describe: {sorted(unknown)}.")
    for wearing in wearings:
        if wearing.ended_at is not None and wearing.ended_at < wearing.started_at:
            raise ValidationError(f"A wearing of {wearing.device} ends before it starts.")


@transaction.atomic
def history_import(
    participant: Participant,
    *,
    importer: User,
    devices: dict[str, HistoryDevice],
    wearings: Sequence[HistoryWearing],
    points: Sequence[HistoryPoint],
    events: Sequence[HistoryEvent],
) -> dict[str, Device]:
    """Write a participant's tracking history as the other system recorded it; returns the
    history device made for each key. Positions and events are read through the wearings,
    so each should fall within one (the caller checks, naming where it is not)."""
    if not can_write_participant(importer, participant):
        raise PermissionDenied("You may not change this participant's devices.")
    _check_references(devices, wearings, points, events)
    made = {key: _history_device(d) for key, d in devices.items()}
    # The participant wears none of the old provider's trackers here: a wearing still open
    # in the record ends just after the last thing its device reported.
    last: dict[str, dt.datetime] = {}
    for key, when in [*((p.device, p.time) for p in points), *((e.device, e.time) for e in events)]:
        last[key] = max(when, last.get(key, when))
    DeviceAssignment.objects.bulk_create(
        DeviceAssignment(
            device=made[w.device],
            participant=participant,
            started_at=w.started_at,
            ended_at=w.ended_at
            or max(w.started_at, last.get(w.device, w.started_at)) + dt.timedelta(seconds=1),
            assigned_by=importer,
            end_reason="imported history",
        )
        for w in wearings
    )
    received = timezone.now()
    Position.objects.bulk_create(
        (
            Position(
                device=made[p.device],
                participant=participant,
                time=p.time,
                lat=p.lat,
                lon=p.lon,
                accuracy_m=p.accuracy_m,
                speed_kmh=p.speed_kmh,
                course=p.course,
                altitude_m=p.altitude_m,
                satellites=p.satellites,
                valid=p.valid,
                # the exporting system said invalid, not why
                invalid_reason="" if p.valid else InvalidReason.DEVICE_MARKED_INVALID,
                received_at=received,
            )
            for p in points
        ),
        batch_size=2_000,
    )
    DeviceEventRecord.objects.bulk_create(
        DeviceEventRecord(
            device=made[e.device],
            participant=participant,
            time=e.time,
            kind=e.kind,
            raw_code=e.raw_code,
            received_at=received,
        )
        for e in events
    )
    logger.info(
        "tracking history imported participant=%s importer=%s devices=%s positions=%s events=%s",
        participant.pk,
        importer.pk,
        len(made),
        len(points),
        len(events),
    )
    return made
