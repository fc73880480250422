"""How a change of the case (suspension, reinstatement, closure, activation, a new plan)
reaches check-in windows and appointments. Participants sits below schedule, so it calls
``case_changed`` through the listener ``schedule/apps.py`` registers, after it commits.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction

from ontrack.accounts.actors import SystemActor
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import CaseChange, participant_event_record
from ontrack.schedule import queries
from ontrack.schedule.models import Appointment, AppointmentStatus, CheckinSchedule
from ontrack.schedule.services.appointments import appointment_cancel
from ontrack.schedule.services.preamble import now_or_clock
from ontrack.schedule.services.windows import (
    checkin_reminders_sync,
    future_windows_remove,
    windows_generate,
)

logger = logging.getLogger(__name__)

CASE_CHANGE_LISTENER = SystemActor("case-change listener")


CASE_CHANGE_SUMMARY = {
    CaseChange.PLAN_CHANGED: "the plan changed",
    CaseChange.SUSPENDED: "the case was suspended",
    CaseChange.REINSTATED: "the case was reinstated",
    CaseChange.ACTIVATED: "the case was activated",
    CaseChange.CLOSED: "the case was closed",
}


def case_changed(
    *, participant_id: int, change: CaseChange, now: dt.datetime | None = None
) -> None:
    """Follow a change of the case (participants calls this after it commits, through
    ``register_case_change_listener``). A case no longer required to check in (suspended,
    closed, or a plan with app and phone check-ins off) loses the windows still to come,
    including one open now with nothing in it, so that no false "missed check-in" is
    raised; a reinstated case or a changed plan that asks for check-ins gets its windows
    generated again from now. Closing the case also cancels its future appointments."""
    now = now_or_clock(now)
    participant = Participant.objects.filter(pk=participant_id).first()
    if participant is None:
        return
    with transaction.atomic():
        removed = created = 0
        schedules = CheckinSchedule.objects.filter(participant=participant)
        if not queries.checkins_required(participant):
            removed = future_windows_remove(participant, now=now, include_open=True)
            # Generation starts again from "now" when the case is reinstated.
            schedules.update(generated_until=None)
        else:
            schedules.update(plan=queries.current_plan(participant), generated_until=None)
            schedule = schedules.filter(active=True).first()
            if schedule is not None:
                created = windows_generate(schedule, now=now)
                checkin_reminders_sync(now=now, participant=participant)
        if removed or created:
            participant_event_record(
                participant,
                actor=CASE_CHANGE_LISTENER,
                kind=EventKind.PLAN_CHANGED,
                summary=f"Check-in windows updated because {CASE_CHANGE_SUMMARY[change]}",
                data={"windows_removed": removed, "windows_created": created},
                at=now,
            )
    if change == CaseChange.CLOSED:
        _appointments_cancel_for_closure(participant, now=now)
    elif change == CaseChange.REINSTATED:
        _appointments_settle_after_suspension(participant, now=now)


def _appointments_settle_after_suspension(participant: Participant, *, now: dt.datetime) -> int:
    """Appointments that came and went while the case was suspended were not expected (the
    missed-appointment watchdog skipped them): on reinstatement they are recorded as not
    held, so the watchdog does not then call them missed. No notice: they are past."""
    settled = Appointment.objects.filter(
        participant=participant, status=AppointmentStatus.BOOKED, starts_at__lt=now
    ).update(
        status=AppointmentStatus.CANCELLED,
        status_at=now,
        status_reason="Not held: the case was suspended.",
    )
    if settled:
        logger.info(
            "appointments not held during suspension participant=%s count=%s",
            participant.pk,
            settled,
        )
    return settled


def _appointments_cancel_for_closure(participant: Participant, *, now: dt.datetime) -> int:
    """A closed case keeps no future appointment: each is cancelled through
    ``appointment_cancel`` (its place freed, its reminders withdrawn, the person told)."""
    ids = list(
        Appointment.objects.filter(
            participant=participant, status=AppointmentStatus.BOOKED, starts_at__gt=now
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        appointment_cancel(
            actor=CASE_CHANGE_LISTENER, appointment_id=pk, reason="The case was closed.", now=now
        )
    return len(ids)
