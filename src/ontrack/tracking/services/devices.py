"""The device lifecycle: register, assign, unassign, swap, lost, returned, retired, and
following a plan that no longer includes GPS; with who may manage devices.

Each action checks the actor's permission, writes in one transaction, and records the change
on the participant's timeline through ``participants.services`` -- in that order, in one
place. A change of who may report, or for whom, calls ``directory_changed`` so that the
gateways reload their directory within seconds.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ontrack.accounts.actors import Actor, SystemActor, actor_user, permission_require
from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import EventKind as ParticipantEventKind
from ontrack.participants.models import Participant, Status
from ontrack.participants.queries import can_write_participant
from ontrack.participants.services import CaseChange, participant_event_record
from ontrack.schedule.models import TaskKind
from ontrack.schedule.services import task_open, task_source_done
from ontrack.tracking.models import (
    DEVICE_TRANSITIONS,
    Device,
    DeviceAssignment,
    DeviceKind,
    DeviceStatus,
    Protocol,
)
from ontrack.tracking.services.directory import directory_changed


def can_manage_devices(actor: User, office_id: int | None) -> bool:
    """Administrators manage every device; a supervisor those of their own office (not the
    unallocated ones, ``office_id=None``)."""
    if not actor.is_active:
        return False
    if actor.role == Role.ADMINISTRATOR:
        return True
    return actor.role == Role.SUPERVISOR and office_id is not None and office_id == actor.office_id


def device_manager_offices(actor: User) -> QuerySet[Office]:
    """The offices ``actor`` may register and manage devices for: every office for an
    administrator, their own for a supervisor, none for anyone else."""
    if can_manage_devices(actor, None):
        return Office.objects.all()
    if actor.office_id is not None and can_manage_devices(actor, actor.office_id):
        return Office.objects.filter(pk=actor.office_id)
    return Office.objects.none()


def can_register_devices(actor: User) -> bool:
    """Whether ``actor`` may add devices to the inventory at all (for some office)."""
    return can_manage_devices(actor, None) or can_manage_devices(actor, actor.office_id)


def _require_device_manager(actor: Actor, office: Office | None) -> None:
    permission_require(
        actor,
        lambda user: can_manage_devices(user, office.pk if office is not None else None),
        "Only administrators and the office's supervisor manage devices.",
    )


def _require_participant_write(actor: Actor, participant: Participant) -> None:
    permission_require(
        actor,
        lambda user: can_write_participant(user, participant),
        "You may not change this participant's devices.",
    )


def _move(device: Device, target: DeviceStatus) -> None:
    if target not in DEVICE_TRANSITIONS[device.status]:
        raise ValidationError(
            f"A device that is {device.get_status_display().lower()} cannot become "
            f"{target.label.lower()}."
        )
    device.status = target


# Protocols whose devices identify themselves on the wire by their IMEI (GT06 login, the
# Teltonika handshake, TK103's ``imei:`` field): any other identifier could never match what
# the device sends.
IMEI_PROTOCOLS = frozenset({Protocol.GT06, Protocol.TELTONIKA, Protocol.TK103})
# H02 units and watches send a device id of their own in every frame: 10 digits taken from
# the IMEI on most, the whole IMEI on some. Meitrack units send their IMEI (14 digits on a
# few old ones).
DEVICE_ID_PROTOCOLS = frozenset({Protocol.H02, Protocol.WATCH, Protocol.MEITRACK})
# Suntech units send their serial number: 6 digits on old SA200 and ST910 units, 9 or 10 on
# later ones (as their reports show).
SERIAL_PROTOCOLS = frozenset({Protocol.SUNTECH})
# Phone apps (Traccar Client / OsmAnd) authenticate with nothing but the id they send, which
# the app lets the user set: it must be long and random, so it is generated at registration.
APP_PROTOCOLS = frozenset({Protocol.OSMAND})


def app_identifier_new() -> str:
    """A device id for a phone app: 20 random characters (about 119 bits), not guessable."""
    return "app-" + secrets.token_urlsafe(15)


_IMEI = re.compile(r"[0-9]{15}")
_DEVICE_ID = re.compile(r"[0-9]{10,15}")
# A Queclink unit names itself by its IMEI, or a CDMA unit by its 14-hex-digit MEID.
_QUECLINK_ID = re.compile(r"[0-9]{15}|[0-9A-Fa-f]{14}")
_SERIAL = re.compile(r"[0-9]{6,10}")


@transaction.atomic
def device_register(
    *,
    actor: Actor,
    identifier: str,
    kind: str,
    protocol: str,
    office: Office | None = None,
    firmware: str = "",
    time_offset_minutes: int = 0,
) -> Device:
    """Add a device to the inventory, in stock."""
    _require_device_manager(actor, office)
    identifier = identifier.strip()
    if kind not in DeviceKind.values:
        raise ValidationError({"kind": f"Unknown device kind {kind!r}."})
    if protocol not in Protocol.values:
        raise ValidationError({"protocol": f"Unknown protocol {protocol!r}."})
    if not identifier and protocol in APP_PROTOCOLS:
        identifier = app_identifier_new()
    if not identifier:
        raise ValidationError({"identifier": "The identifier is required."})
    if protocol in APP_PROTOCOLS and identifier.isdigit():
        raise ValidationError(
            {
                "identifier": "A phone app's device id must not be a number others can know "
                "(an IMEI or a phone number): anyone who knows it could post positions for "
                "the wearer. Leave it blank to have one generated."
            }
        )
    if protocol in IMEI_PROTOCOLS and not _IMEI.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "GT06, Teltonika and TK103 units are identified by their IMEI: "
                "15 digits."
            }
        )
    if protocol == Protocol.QUECLINK and not _QUECLINK_ID.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "Queclink units are identified by their IMEI (15 digits) or, "
                "for a CDMA unit, its MEID (14 hex digits)."
            }
        )
    if protocol in DEVICE_ID_PROTOCOLS and not _DEVICE_ID.fullmatch(identifier):
        raise ValidationError(
            {
                "identifier": "H02, Meitrack units and watches are identified by the id they "
                "send: 10 to 15 digits (the watch's 10-digit id, or the whole IMEI)."
            }
        )
    if protocol in SERIAL_PROTOCOLS and not _SERIAL.fullmatch(identifier):
        raise ValidationError(
            {"identifier": "Suntech units are identified by their serial number: 6 to 10 digits."}
        )
    if Device.objects.filter(identifier=identifier).exists():
        raise ValidationError({"identifier": f"Device {identifier} is already registered."})
    if not -16 * 60 <= time_offset_minutes <= 16 * 60:
        raise ValidationError({"time_offset_minutes": "The offset must be within ±16 hours."})
    device = Device(
        identifier=identifier,
        kind=kind,
        protocol=protocol,
        office=office,
        firmware=firmware,
        time_offset_minutes=time_offset_minutes,
    )
    device.full_clean()
    device.save()
    directory_changed()
    return device


def _current_plan_has_gps(participant: Participant) -> bool:
    plan = participant.plans.filter(effective_to__isnull=True).first()
    return plan is not None and plan.gps_device


def _open_assignment(**lookup: Any) -> DeviceAssignment | None:
    return (
        DeviceAssignment.objects.select_for_update()
        .select_related("device", "participant")
        .filter(ended_at__isnull=True, **lookup)
        .first()
    )


def _locked(device: Device) -> Device:
    return Device.objects.select_for_update().get(pk=device.pk)


def _assign(
    device: Device, participant: Participant, *, actor: Actor, at: dt.datetime
) -> DeviceAssignment:
    if participant.status == Status.CLOSED:
        raise ValidationError("A closed case cannot be given a device.")
    if not _current_plan_has_gps(participant):
        raise ValidationError("The participant's plan does not include a GPS device.")
    if device.status != DeviceStatus.IN_STOCK:
        raise ValidationError(
            f"Device {device.identifier} is {device.get_status_display().lower()}, not in stock."
        )
    if _open_assignment(participant=participant) is not None:
        raise ValidationError(
            "The participant already wears a device; swap it or take it back first."
        )
    _move(device, DeviceStatus.ASSIGNED)
    device.save(update_fields=["status"])
    assignment = DeviceAssignment.objects.create(
        device=device, participant=participant, started_at=at, assigned_by=actor_user(actor)
    )
    directory_changed()
    return assignment


def _end(
    assignment: DeviceAssignment,
    *,
    actor: Actor,
    at: dt.datetime,
    reason: str,
    device_status: DeviceStatus,
) -> None:
    assignment.ended_at = at
    assignment.ended_by = actor_user(actor)
    assignment.end_reason = reason[:200]
    assignment.save(update_fields=["ended_at", "ended_by", "end_reason"])
    device = assignment.device
    _move(device, device_status)
    device.save(update_fields=["status"])
    directory_changed()


@transaction.atomic
def device_assign(
    device: Device,
    participant: Participant,
    *,
    actor: Actor,
    at: dt.datetime | None = None,
) -> DeviceAssignment:
    """Fit an in-stock device on a participant whose plan includes a GPS device."""
    _require_participant_write(actor, participant)
    device = _locked(device)
    now = at or timezone.now()
    assignment = _assign(device, participant, actor=actor, at=now)
    participant_event_record(
        participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Fitted {device}",
        data={"device": device.pk, "identifier": device.identifier, "action": "assigned"},
        at=now,
    )
    return assignment


@transaction.atomic
def device_unassign(
    device: Device, *, actor: Actor, reason: str, at: dt.datetime | None = None
) -> DeviceAssignment:
    """Take a device back from its wearer; it returns to stock."""
    assignment = _open_assignment(device=device)
    if assignment is None:
        raise ValidationError(f"Device {device.identifier} is not assigned to anyone.")
    _require_participant_write(actor, assignment.participant)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the device is taken back."})
    now = at or timezone.now()
    _end(assignment, actor=actor, at=now, reason=reason, device_status=DeviceStatus.IN_STOCK)
    participant_event_record(
        assignment.participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Took back {assignment.device}: {reason}",
        data={"device": device.pk, "identifier": device.identifier, "action": "unassigned"},
        at=now,
    )
    device.refresh_from_db(fields=["status"])
    return assignment


@transaction.atomic
def device_swap(
    participant: Participant,
    new_device: Device,
    *,
    actor: Actor,
    reason: str,
    at: dt.datetime | None = None,
) -> DeviceAssignment:
    """Replace the participant's device with ``new_device`` in one step (a faulty unit, a
    flat battery that will not charge): the old one returns to stock, the history shows
    both."""
    _require_participant_write(actor, participant)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the device is swapped."})
    old = _open_assignment(participant=participant)
    if old is None:
        raise ValidationError("The participant wears no device to swap; assign one instead.")
    if old.device_id == new_device.pk:
        raise ValidationError("That is the device the participant already wears.")
    now = at or timezone.now()
    new_device = _locked(new_device)
    _end(old, actor=actor, at=now, reason=f"swapped: {reason}", device_status=DeviceStatus.IN_STOCK)
    assignment = _assign(new_device, participant, actor=actor, at=now)
    participant_event_record(
        participant,
        actor=actor,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"Swapped {old.device} for {new_device}: {reason}",
        data={"from": old.device_id, "to": new_device.pk, "action": "swapped"},
        at=now,
    )
    return assignment


@transaction.atomic
def device_mark_lost(
    device: Device, *, actor: Actor, reason: str, at: dt.datetime | None = None
) -> None:
    """Record a device as lost; if someone wore it, the assignment ends with the reason."""
    device = _locked(device)
    now = at or timezone.now()
    assignment = _open_assignment(device=device)
    if assignment is not None:
        _require_participant_write(actor, assignment.participant)
        _end(
            assignment,
            actor=actor,
            at=now,
            reason=f"lost: {reason}",
            device_status=DeviceStatus.LOST,
        )
        participant_event_record(
            assignment.participant,
            actor=actor,
            kind=ParticipantEventKind.DEVICE_CHANGED,
            summary=f"{device} reported lost: {reason}",
            data={"device": device.pk, "identifier": device.identifier, "action": "lost"},
            at=now,
        )
    else:
        _require_device_manager(actor, device.office)
        _move(device, DeviceStatus.LOST)
        device.save(update_fields=["status"])


@transaction.atomic
def device_return_to_stock(device: Device, *, actor: Actor) -> None:
    """A lost device was found, or a device awaiting return was handed in (which closes the
    retrieval task its plan change opened). The last wearer's officer may record a hand-in
    as well as a device manager: they are the one who collects it."""
    device = _locked(device)
    if device.status == DeviceStatus.AWAITING_RETURN:
        last = DeviceAssignment.objects.filter(device=device).order_by("-ended_at").first()
        user = actor_user(actor)
        if last is None or user is None or not can_write_participant(user, last.participant):
            _require_device_manager(actor, device.office)
        _move(device, DeviceStatus.IN_STOCK)
        device.save(update_fields=["status"])
        if last is not None:
            task_source_done(actor=actor, source=_retrieval_source(last), note="Handed in.")
        return
    _require_device_manager(actor, device.office)
    if device.status != DeviceStatus.LOST:
        raise ValidationError("Only a lost or awaited device is returned to stock this way.")
    _move(device, DeviceStatus.IN_STOCK)
    device.save(update_fields=["status"])


# --------------------------------------------------------------------------------------
# Following the plan: GPS taken out of it

PLAN_WITHOUT_GPS_REASON = "plan no longer includes a GPS device"


def _retrieval_source(assignment: DeviceAssignment) -> str:
    return f"device-return:{assignment.pk}"


def case_changed(*, participant_id: int, change: CaseChange) -> None:
    """Listener registered with participants (``TrackingConfig.ready``): a plan change may
    have taken GPS out of the plan."""
    if change == CaseChange.PLAN_CHANGED:
        plan_without_gps(participant_id)


@transaction.atomic
def plan_without_gps(participant_id: int) -> DeviceAssignment | None:
    """If the participant's current plan has no GPS device but they still wear one, end the
    assignment at the plan change, put the device in "awaiting return" and open a task for
    their officer to collect it. Returns the ended assignment, else None (idempotent).

    Decision: what the device sends after the change is stored against the device only,
    never the person. The gateway still accepts the unit (refused, a GT06 retries its login
    forever and a Teltonika its handshake), and the device's own record (last seen, battery,
    last position) is what the officer needs to find it; but it is off the person's track,
    exports, zone checks and alerts, since supervising them by GPS ended with the plan.
    Positions stored in the moment between the change and this listener are outside the
    ended assignment, so off the track too (tracks are read through assignment windows)."""
    participant = Participant.objects.get(pk=participant_id)
    plan = participant.plans.filter(effective_to__isnull=True).first()
    if plan is None or plan.gps_device:
        return None
    assignment = _open_assignment(participant=participant)
    if assignment is None:
        return None
    device = assignment.device
    at = max(plan.effective_from, assignment.started_at)
    by = plan.changed_by or SystemActor("plan change without a device")
    _end(
        assignment,
        actor=by,
        at=at,
        reason=PLAN_WITHOUT_GPS_REASON,
        device_status=DeviceStatus.AWAITING_RETURN,
    )
    participant_event_record(
        participant,
        actor=by,
        kind=ParticipantEventKind.DEVICE_CHANGED,
        summary=f"{device} no longer worn ({PLAN_WITHOUT_GPS_REASON}); awaiting return",
        data={"device": device.pk, "identifier": device.identifier, "action": "returning"},
        at=at,
    )
    task_open(
        participant,
        kind=TaskKind.DEVICE_RETRIEVAL,
        source=_retrieval_source(assignment),
        summary=(
            f"Collect {device.get_kind_display().lower()} {device.identifier}: the plan of "
            f"{timezone.localtime(at):%Y-%m-%d} no longer includes a GPS device."
        ),
        now=timezone.now(),
    )
    return assignment


@transaction.atomic
def device_retire(device: Device, *, actor: Actor) -> None:
    """Take a device out of service for good. Its positions and history are kept; the
    gateways stop accepting it within seconds (``directory_changed``)."""
    device = _locked(device)
    _require_device_manager(actor, device.office)
    _move(device, DeviceStatus.RETIRED)
    device.save(update_fields=["status"])
    directory_changed()
