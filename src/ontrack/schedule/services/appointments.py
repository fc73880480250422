"""One appointment at a time: booking (an office slot, capacity respected, or a home
visit), moving, cancelling, recording attendance and the participant's confirmation.

Every change tells the participant what, when, where and why, and brings its reminders
into step (``appointment_notify``), in the same transaction as the change. Many at once
(a round of reviews, a closed office day) is ``bulk_appointments``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import translation

from ontrack.accounts.actors import Actor, actor_user
from ontrack.accounts.models import Office, User
from ontrack.alerts.services import alert_clear
from ontrack.messaging.services import ReminderAnchor, message_queue, reminders_sync
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    OfficeSlot,
    RequestStatus,
    RescheduleRequest,
)
from ontrack.schedule.services.preamble import now_or_clock, require_write
from ontrack.schedule.services.watchdog import missed_appointment_alert

logger = logging.getLogger(__name__)


HOME_VISIT_LENGTH = dt.timedelta(hours=1)


def _purpose(appointment: Appointment, participant: Participant) -> str:
    with translation.override(participant.preferred_language):
        return str(AppointmentType(appointment.type).label)


def _place(appointment: Appointment, participant: Participant) -> str:
    if appointment.kind == AppointmentKind.HOME_VISIT:
        with translation.override(participant.preferred_language):
            return str(AppointmentKind.HOME_VISIT.label)
    office = appointment.office
    return ", ".join(p for p in (office.name, office.address.replace("\n", ", ")) if p)


def _appointment_anchor(appointment: Appointment) -> ReminderAnchor:
    participant = appointment.participant
    return ReminderAnchor(
        key=f"appointment:{appointment.pk}",
        kind="appointment",
        participant_id=participant.pk,
        at=appointment.starts_at,
        context={
            "place": _place(appointment, participant),
            "purpose": _purpose(appointment, participant),
        },
        cancelled=appointment.status != AppointmentStatus.BOOKED,
    )


def appointment_notify(appointment: Appointment, template_key: str, cause: str) -> None:
    """Tell the participant of a change to the appointment (its purpose and place in their
    language) and bring its reminders into step; ``bulk_appointments`` sends the same."""
    participant = appointment.participant
    message_queue(
        participant=participant,
        template_key=template_key,
        context={
            "when": appointment.starts_at,
            "place": _place(appointment, participant),
            "purpose": _purpose(appointment, participant),
        },
        purpose=f"appointment notice ({appointment.get_type_display()})",
        cause=cause,
    )
    reminders_sync(_appointment_anchor(appointment))


def _slot_take(office: Office, starts_at: dt.datetime) -> OfficeSlot:
    """Take one place in the office slot starting at ``starts_at``: the capacity check and
    the increment are one conditional UPDATE, so it holds under concurrent bookings."""
    bounds = queries.slot_bounds(office, starts_at)
    if bounds is None:
        raise ValidationError({"starts_at": "The office offers no appointment at that time."})
    calendar = queries.calendar_for(office)
    slot, _created = OfficeSlot.objects.get_or_create(
        office=office,
        starts_at=bounds[0],
        defaults={"ends_at": bounds[1], "capacity": calendar.slot_capacity},
    )
    taken = OfficeSlot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if not taken:
        raise ValidationError({"starts_at": "That time is fully booked."})
    return slot


def _slot_release(slot_id: int | None) -> None:
    if slot_id is not None:
        OfficeSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def appointment_book(
    participant: Participant,
    *,
    actor: Actor,
    type: str,
    starts_at: dt.datetime,
    kind: str = AppointmentKind.OFFICE,
    ends_at: dt.datetime | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book an office appointment into a slot of the participant's office (capacity is
    respected), or a home visit; the participant is told, with its stated purpose, and
    reminders are set."""
    require_write(actor, participant)
    now = now_or_clock(now)
    if type not in AppointmentType.values:
        raise ValidationError({"type": f"Unknown appointment type {type!r}."})
    if kind not in AppointmentKind.values:
        raise ValidationError({"kind": f"Unknown appointment kind {kind!r}."})
    if starts_at <= now:
        raise ValidationError({"starts_at": "An appointment must be in the future."})
    with transaction.atomic():
        slot = None
        if kind == AppointmentKind.OFFICE:
            slot = _slot_take(participant.office, starts_at)
            ends_at = slot.ends_at
        ends_at = ends_at or starts_at + HOME_VISIT_LENGTH
        if ends_at <= starts_at:
            raise ValidationError({"ends_at": "An appointment must end after it starts."})
        appointment = Appointment.objects.create(
            participant=participant,
            office=participant.office,
            slot=slot,
            kind=kind,
            type=type,
            starts_at=starts_at,
            ends_at=ends_at,
            note=note[:300],
            booked_by=actor_user(actor),
            created_at=now,
        )
        appointment_notify(appointment, "appointment_booked", f"booked by {actor or 'the system'}")
    logger.info(
        "appointment booked id=%s participant=%s at=%s", appointment.pk, participant.pk, starts_at
    )
    return appointment


def _appointment_for(actor: Actor, appointment_id: int) -> Appointment:
    appointment = (
        Appointment.objects.select_for_update()
        .select_related("participant", "office")
        .get(pk=appointment_id)
    )
    require_write(actor, appointment.participant)
    return appointment


def appointment_move(
    *,
    actor: Actor,
    appointment_id: int,
    starts_at: dt.datetime,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a booked appointment to another time (a free slot for an office appointment);
    the participant is told and the reminders follow."""
    now = now_or_clock(now)
    if starts_at <= now:
        raise ValidationError({"starts_at": "An appointment must be moved to the future."})
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ValidationError("Only a booked appointment can be moved.")
        old_slot = appointment.slot_id
        length = appointment.ends_at - appointment.starts_at
        if appointment.kind == AppointmentKind.OFFICE:
            slot = _slot_take(appointment.office, starts_at)
            appointment.slot = slot
            appointment.ends_at = slot.ends_at
            _slot_release(old_slot)
        else:
            appointment.ends_at = starts_at + length
        previous = appointment.starts_at
        appointment.starts_at = starts_at
        appointment.status_reason = reason[:300]
        appointment.status_at = now
        appointment.status_by = actor_user(actor)
        appointment.save()
        appointment_notify(appointment, "appointment_moved", reason or "appointment moved")
    logger.info(
        "appointment moved id=%s from=%s to=%s",
        appointment.pk,
        previous.isoformat(),
        starts_at.isoformat(),
    )
    return appointment


def appointment_cancel(
    *,
    actor: Actor,
    appointment_id: int,
    reason: str,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel a booked appointment with a reason; its place is freed, the participant is
    told and its reminders are withdrawn. ``notify=False`` withdraws an appointment the
    participant was never told of (an undone import): its reminders go, no notice is sent."""
    now = now_or_clock(now)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the appointment is cancelled."})
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ValidationError("Only a booked appointment can be cancelled.")
        _slot_release(appointment.slot_id)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.status_at = now
        appointment.status_by = actor_user(actor)
        appointment.status_reason = reason.strip()[:300]
        appointment.save()
        if notify:
            appointment_notify(appointment, "appointment_cancelled", reason)
        else:
            reminders_sync(_appointment_anchor(appointment))
        RescheduleRequest.objects.filter(
            appointment=appointment, status=RequestStatus.PENDING
        ).update(
            status=RequestStatus.DECLINED,
            decided_by=actor_user(actor),
            decided_at=now,
            decision_note="The appointment was cancelled.",
        )
    return appointment


def appointment_attendance(
    *, actor: User, appointment_id: int, attended: bool, now: dt.datetime | None = None
) -> Appointment:
    """The officer records whether the person came. Marking it missed raises the
    missed-appointment alert (as the watchdog would at the end of the day)."""
    now = now_or_clock(now)
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.MISSED):
            raise ValidationError("This appointment was cancelled.")
        if appointment.starts_at > now:
            raise ValidationError("Attendance is recorded once the appointment has started.")
        was = appointment.status
        appointment.status = AppointmentStatus.ATTENDED if attended else AppointmentStatus.MISSED
        appointment.status_at = now
        appointment.status_by = actor
        appointment.save(update_fields=["status", "status_at", "status_by"])
        source = f"appointment:{appointment.pk}"
        if attended and was == AppointmentStatus.MISSED:
            alert_clear(
                participant_id=appointment.participant_id,
                kind="missed_appointment",
                source=source,
                cleared_at=now,
            )
        elif not attended and was == AppointmentStatus.BOOKED:
            missed_appointment_alert(appointment, now)
    return appointment


def appointment_confirm(*, participant: Participant, at: dt.datetime) -> Appointment | None:
    """The participant confirms (a "CONFIRM" reply): their next booked appointment is
    marked confirmed. None when nothing is booked."""
    appointment = (
        Appointment.objects.filter(
            participant=participant, status=AppointmentStatus.BOOKED, starts_at__gt=at
        )
        .order_by("starts_at")
        .first()
    )
    if appointment is None:
        return None
    Appointment.objects.filter(pk=appointment.pk).update(confirmed_at=at)
    appointment.confirmed_at = at
    return appointment
