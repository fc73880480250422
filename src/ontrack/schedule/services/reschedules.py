"""Requests for another appointment time: the participant asks (from the portal or by a
"RESCHEDULE" reply), the officer approves or declines.

An approval moves the appointment (its own notice tells the person); a refusal is told
separately, or the person may stay home believing the appointment will move.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from ontrack.accounts.models import User
from ontrack.messaging.services import message_queue
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    RequestStatus,
    RescheduleRequest,
    Task,
    TaskKind,
    TaskStatus,
)
from ontrack.schedule.services.appointments import appointment_move
from ontrack.schedule.services.officer_tasks import task_open
from ontrack.schedule.services.preamble import now_or_clock, require_write


def reschedule_request_create(
    *,
    participant: Participant,
    appointment_id: int,
    reason: str,
    preferred_starts_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> RescheduleRequest:
    """The participant asks for another time, naming one of the office's free slots
    (``preferred_starts_at``) or none. Only their own, booked, future appointment
    (another's answers as not found); a chosen slot must be one the office offers, free,
    in the future and not the present time. A second request while one is pending returns
    it. The officer gets a task."""
    now = now_or_clock(now)
    if not reason.strip():
        raise ValidationError(gettext_lazy("Say why you need another time."))
    appointment = (
        Appointment.objects.select_related("office")
        .filter(pk=appointment_id, participant=participant)
        .first()
    )
    if appointment is None:
        raise ObjectDoesNotExist("No such appointment.")
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        raise ValidationError(gettext_lazy("This appointment can no longer be changed."))
    if preferred_starts_at is not None and (
        appointment.kind != AppointmentKind.OFFICE
        or preferred_starts_at <= now
        or preferred_starts_at == appointment.starts_at
        or not queries.slot_is_free(appointment.office, preferred_starts_at)
    ):
        raise ValidationError(gettext_lazy("That time is no longer free. Choose another."))
    with transaction.atomic():
        pending = RescheduleRequest.objects.filter(
            appointment=appointment, status=RequestStatus.PENDING
        ).first()
        if pending is not None:
            return pending
        request = RescheduleRequest.objects.create(
            participant=participant,
            appointment=appointment,
            reason=reason.strip(),
            preferred_starts_at=preferred_starts_at,
            original_starts_at=appointment.starts_at,
            created_at=now,
        )
        wish = ""
        if preferred_starts_at is not None:
            wish = f" to {preferred_starts_at:%Y-%m-%d %H:%M} UTC"
        task_open(
            participant,
            kind=TaskKind.RESCHEDULE_REQUEST,
            source=f"reschedule:{request.pk}",
            summary=f"Asks to move the appointment of {appointment.starts_at:%Y-%m-%d %H:%M} UTC"
            + wish,
            now=now,
        )
    return request


def reschedule_decide(
    *,
    actor: User,
    request_id: int,
    approve: bool,
    starts_at: dt.datetime | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> RescheduleRequest:
    """Approve (the appointment moves to ``starts_at``; without one, to the slot the
    participant chose if it is still free, else to the nearest free slot after its present
    time) or decline with a note; the request's task is done either way."""
    now = now_or_clock(now)
    with transaction.atomic():
        request = (
            RescheduleRequest.objects.select_for_update()
            .select_related("participant", "appointment", "appointment__office")
            .get(pk=request_id)
        )
        require_write(actor, request.participant)
        if request.status != RequestStatus.PENDING:
            raise ValidationError("This request has already been decided.")
        if approve:
            target = starts_at
            preferred = request.preferred_starts_at
            if (
                target is None
                and preferred is not None
                and preferred > now
                and queries.slot_is_free(request.appointment.office, preferred)
            ):
                target = preferred
            if target is None:
                slot = queries.nearest_free_slot(
                    request.appointment.office,
                    request.appointment.starts_at + dt.timedelta(days=1),
                    not_before=max(now, request.appointment.ends_at),
                )
                if slot is None:
                    raise ValidationError("No free slot in the next 30 days; choose a time.")
                target = slot.starts_at
            appointment_move(
                actor=actor,
                appointment_id=request.appointment_id,
                starts_at=target,
                reason="Moved at the participant's request",
                now=now,
            )
        elif not note.strip():
            raise ValidationError({"note": "Say why the request is declined."})
        request.status = RequestStatus.APPROVED if approve else RequestStatus.DECLINED
        request.decided_by = actor
        request.decided_at = now
        request.decision_note = note.strip()[:300]
        request.save()
        Task.objects.filter(source=f"reschedule:{request.pk}", status=TaskStatus.OPEN).update(
            status=TaskStatus.DONE, done_at=now, done_by=actor, note=request.status
        )
        if not approve:
            # An approval is told by the move's own notice; a refusal must be told too, or
            # the person may stay home believing the appointment will move.
            message_queue(
                participant=request.participant,
                template_key="reschedule_declined",
                context={"when": request.appointment.starts_at},
                purpose="reschedule request declined",
                essential=True,
                cause=f"reschedule:{request.pk}",
            )
    return request
