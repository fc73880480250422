"""The watchdog: what becomes missed when time passes with nothing done. Check-in
windows closed past the grace period, appointments with no attendance once the office's
day is over, and hearings recorded as not attended each raise their alert once; a
hearing with no outcome recorded gives the officer a task instead (absence is not
assumed).

Each state change is a conditional update (or a unique row for hearings), so running a
job twice, or in two workers, raises nothing twice. Cases not expected to attend
(suspended, closed, check-ins off) are skipped.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction

from ontrack.alerts.services import alert_raise
from ontrack.batches import in_batches
from ontrack.participants.models import Hearing, HearingOutcome
from ontrack.schedule import queries, recurrence
from ontrack.schedule.models import (
    Appointment,
    AppointmentStatus,
    CheckinWindow,
    HearingMiss,
    Outcome,
    TaskKind,
)
from ontrack.schedule.services.officer_tasks import task_open
from ontrack.schedule.services.preamble import now_or_clock

logger = logging.getLogger(__name__)


def missed_checkins_mark(*, now: dt.datetime | None = None) -> int:
    """Windows that closed more than the grace period ago with nothing received become
    missed and raise one "missed check-in" alert each. The state change is a conditional
    update, so running twice (or in two workers) raises nothing twice. Windows of a case
    that is not required to check in now (suspended, closed, plan with check-ins off) are
    skipped: their absence is not a violation."""
    now = now_or_clock(now)
    cutoff = now - dt.timedelta(minutes=settings.ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES)
    due = CheckinWindow.objects.filter(
        queries.checkins_required_q(), outcome=Outcome.DUE, closes_at__lte=cutoff
    ).values_list("pk", "participant_id", "closes_at", "local_date")
    marked = 0
    for pk, participant_id, closes_at, local_date in in_batches(
        due, size=1000, pk_of=lambda row: row[0]
    ):
        with transaction.atomic():
            if not CheckinWindow.objects.filter(pk=pk, outcome=Outcome.DUE).update(
                outcome=Outcome.MISSED, outcome_at=now
            ):
                continue
            alert_raise(
                participant_id=participant_id,
                kind="missed_checkin",
                source=f"checkin_window:{pk}",
                occurred_at=closes_at,
                details={"local_date": local_date.isoformat()},
                now=now,
            )
        marked += 1
    if marked:
        logger.info("missed check-ins marked count=%s", marked)
    return marked


def _end_of_local_day(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    day = at.astimezone(zone).date() + dt.timedelta(days=1)
    return recurrence.local_instant(day, dt.time(0, 0), zone)


def missed_appointment_alert(appointment: Appointment, now: dt.datetime) -> None:
    """The "missed appointment" alert, the same whether the watchdog finds no attendance
    or the officer records the absence (``appointment_attendance``)."""
    alert_raise(
        participant_id=appointment.participant_id,
        kind="missed_appointment",
        source=f"appointment:{appointment.pk}",
        occurred_at=appointment.ends_at,
        details={"type": appointment.type, "kind": appointment.kind},
        now=now,
    )


def missed_appointments_mark(*, now: dt.datetime | None = None) -> int:
    """Appointments still "booked" once the office's local day is over (nobody marked
    attendance) become missed and raise "missed appointment". A suspended or closed case is
    skipped: nobody expects them to come in."""
    now = now_or_clock(now)
    candidates = Appointment.objects.select_related("office").filter(
        status=AppointmentStatus.BOOKED,
        starts_at__lt=now,
        participant__status__in=queries.ACTIVE_STATUSES,
    )
    marked = 0
    for appointment in in_batches(candidates):
        if now < _end_of_local_day(appointment.starts_at, ZoneInfo(appointment.office.time_zone)):
            continue
        with transaction.atomic():
            if not Appointment.objects.filter(
                pk=appointment.pk, status=AppointmentStatus.BOOKED
            ).update(
                status=AppointmentStatus.MISSED,
                status_at=now,
                status_reason="No attendance recorded",
            ):
                continue
            missed_appointment_alert(appointment, now)
        marked += 1
    if marked:
        logger.info("missed appointments marked count=%s", marked)
    return marked


def hearings_check(*, now: dt.datetime | None = None) -> int:
    """Hearings recorded as not attended raise "missed hearing" once; hearings whose day is
    over with no outcome recorded raise nothing (absence is not assumed) but give the
    officer a task to record what happened."""
    now = now_or_clock(now)
    raised = 0
    missed = Hearing.objects.filter(
        outcome=HearingOutcome.FAILED_TO_APPEAR, scheduled_at__lt=now
    ).exclude(pk__in=HearingMiss.objects.values("hearing_id"))
    for hearing in missed:
        with transaction.atomic():
            _row, created = HearingMiss.objects.get_or_create(
                hearing=hearing,
                defaults={"participant_id": hearing.participant_id, "raised_at": now},
            )
            if not created:
                continue
            alert_raise(
                participant_id=hearing.participant_id,
                kind="missed_hearing",
                source=f"hearing:{hearing.pk}",
                occurred_at=hearing.scheduled_at,
                details={"court": hearing.court, "kind": hearing.kind},
                now=now,
            )
        raised += 1
    unrecorded = Hearing.objects.select_related("participant").filter(
        outcome=HearingOutcome.SCHEDULED,
        scheduled_at__lt=now - dt.timedelta(hours=12),
        scheduled_at__gt=now - dt.timedelta(days=30),
    )
    for hearing in unrecorded:
        if now >= _end_of_local_day(hearing.scheduled_at, ZoneInfo(hearing.time_zone)):
            task_open(
                hearing.participant,
                kind=TaskKind.HEARING_OUTCOME,
                source=f"hearing:{hearing.pk}",
                summary=f"Record the outcome of the hearing at {hearing.court} on "
                f"{hearing.local_time:%Y-%m-%d}",
                now=now,
            )
    return raised
