"""Commands sent to devices: an officer's "report your position now", and the gateway's side
of delivering it and recording the answer.

Staff queue a command (``device_locate_request``); whichever gateway process holds the
device's connection claims it (``commands_claim``), sends it, and records the text answer
(``command_answer``) or the fix that follows (``command_fix_record``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.queries import can_write_participant
from ontrack.tracking.models import CommandStatus, Device, DeviceCommand, DeviceStatus, Protocol
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.queries import device_current_wearer
from ontrack.tracking.services.devices import can_manage_devices

# What each protocol's device is sent to report its position now. OsmAnd / Traccar Client
# phones only talk HTTP to us on their own schedule: there is no channel to ask them.
LOCATE_COMMANDS: dict[str, str] = {
    Protocol.GT06: "WHERE#",
    Protocol.TELTONIKA: "getgps",
    Protocol.MQTT: "locate",
    Protocol.WATCH: "CR",
    Protocol.TK103: "B",  # single locate
    Protocol.QUECLINK: "RTL",  # AT+GTRTO sub-command 1, framed by the protocol module
    Protocol.MEITRACK: "A10",
    Protocol.SUNTECH: "StatusReq",
}


def can_locate(device: Device) -> bool:
    """Whether ``device``'s protocol has a command channel for an on-demand position."""
    return device.protocol in LOCATE_COMMANDS


def can_request_locate(actor: User, device: Device) -> bool:
    """Asking where a person is right now is an action on their record: the actor must be
    allowed to act on the wearer (or, for a device nobody wears, to manage devices)."""
    wearer = device_current_wearer(device)
    if wearer is not None:
        return can_write_participant(actor, wearer)
    return can_manage_devices(actor, device.office_id)


def device_locate_request(*, actor: User, device: Device) -> DeviceCommand:
    """Queue "report your position now" for ``device``; a gateway sends it on the live
    connection (see ``can_request_locate`` for who may ask)."""
    if not can_request_locate(actor, device):
        raise PermissionDenied("You may not ask this device for its position.")
    participant = device_current_wearer(device)
    if not can_locate(device):
        raise ValidationError(
            f"A {device.get_protocol_display()} device cannot be asked for its position: it "
            "reports on its own schedule. The last position shown is the latest there is."
        )
    if device.status == DeviceStatus.RETIRED:
        raise ValidationError("A retired device is not asked anything.")
    return DeviceCommand.objects.create(
        device=device,
        participant=participant,
        text=LOCATE_COMMANDS[device.protocol],
        requested_by=actor,
        requested_at=timezone.now(),
    )


@dataclass(frozen=True, slots=True)
class ClaimedCommand:
    id: int
    device_id: int
    identifier: str
    text: str


def commands_claim(
    device_ids: Sequence[int], *, mqtt: bool, now: dt.datetime
) -> list[ClaimedCommand]:
    """Gateway side: the queued commands this gateway process can deliver (its connected
    devices, plus every MQTT device when it holds the broker subscription), marked sent.
    Each is claimed by a conditional update, so that with several gateway processes exactly
    one sends it. Commands unanswered after ``ONTRACK_TRACKING_COMMAND_TIMEOUT`` seconds
    expire. Polled every second: with nothing open it is one indexed read, no write."""
    open_commands = list(
        DeviceCommand.objects.filter(
            status__in=[CommandStatus.QUEUED, CommandStatus.SENT]
        ).values_list("id", "device_id", "device__identifier", "device__protocol", "text",
                      "status", "requested_at")
    )  # fmt: skip
    if not open_commands:
        return []
    oldest = now - dt.timedelta(seconds=settings.ONTRACK_TRACKING_COMMAND_TIMEOUT)
    expired = [row[0] for row in open_commands if row[6] < oldest]
    if expired:
        DeviceCommand.objects.filter(pk__in=expired).update(status=CommandStatus.EXPIRED)
    reachable = set(device_ids)
    claimed = []
    for pk, device_id, identifier, protocol, text, status, requested_at in open_commands:
        if status != CommandStatus.QUEUED or requested_at < oldest:
            continue
        if device_id not in reachable and not (mqtt and protocol == Protocol.MQTT):
            continue
        if DeviceCommand.objects.filter(pk=pk, status=CommandStatus.QUEUED).update(
            status=CommandStatus.SENT, sent_at=now
        ):
            claimed.append(ClaimedCommand(pk, device_id, identifier, text))
    return claimed


def command_answer(
    *, device_id: int, response: str, at: dt.datetime, command_id: int | None = None
) -> int:
    """Gateway side: the device's text answer. GT06 echoes the command's id (its server
    flag); without one, it answers the oldest command sent to the device and not yet
    answered in words. Returns the number of commands updated (0 or 1)."""
    pending = DeviceCommand.objects.filter(
        device_id=device_id, status__in=[CommandStatus.SENT, CommandStatus.ANSWERED], response=""
    )
    if command_id is not None:
        pending = pending.filter(pk=command_id)
    target = pending.order_by("sent_at", "id").values_list("id", flat=True).first()
    if target is None:
        return 0
    return DeviceCommand.objects.filter(pk=target).update(
        status=CommandStatus.ANSWERED,
        response=response[:2000],
        answered_at=Coalesce(F("answered_at"), Value(at)),
    )


def command_fix_record(*, device_id: int, fix: Fix, at: dt.datetime) -> int:
    """Gateway side: the first fix a device reports after it was sent a command answers it
    with a position (the text reply, when there is one, is kept as well)."""
    return DeviceCommand.objects.filter(
        device_id=device_id,
        status__in=[CommandStatus.SENT, CommandStatus.ANSWERED],
        fix_time__isnull=True,
        sent_at__isnull=False,
    ).update(
        status=CommandStatus.ANSWERED,
        fix_time=fix.time,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        answered_at=Coalesce(F("answered_at"), Value(at)),
    )
