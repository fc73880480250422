"""Schedules, check-in windows, appointments and check-ins over JSON, with the console's
rules: a participant's records through ``participant_get_for`` (404 outside one's scope),
every read access-logged, every write through ``schedule.services`` (which check who may
write; a refusal answers 403, a broken rule 422)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from ontrack.accounts.models import User
from ontrack.accounts.web import staff_user
from ontrack.audit.models import AccessAction
from ontrack.audit.services import access_log_record
from ontrack.participants.models import Participant
from ontrack.participants.queries import participant_get_for
from ontrack.schedule import queries, services
from ontrack.schedule.models import Appointment, Checkin, CheckinSchedule, CheckinWindow

router = Router(tags=["schedule"])


class ScheduleIo(Schema):
    cadence: str = Field(description="weekly | monthly_weekday | monthly_day | custom")
    opens: dt.time = Field(description="Local time in the participant's zone")
    closes: dt.time
    starts_on: dt.date
    ends_on: dt.date | None = None
    interval: int = 1
    weekdays: list[int] = Field(default_factory=list, description="0 = Monday")
    week: int = 1
    day: int = 1
    dates: list[dt.date] = Field(default_factory=list)
    active: bool = True
    description: str = ""


class WindowOut(Schema):
    id: int
    local_date: dt.date
    opens_at: dt.datetime
    closes_at: dt.datetime
    outcome: str
    excused_reason: str
    adhoc: bool


class CheckinOut(Schema):
    id: int
    reference: str
    window_id: int | None
    modality: str
    outcome: str
    attempted_at: dt.datetime
    received_at: dt.datetime
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    failure_reason: str
    review: str
    has_photo: bool


class AppointmentOut(Schema):
    id: int
    participant_id: int
    office_id: int
    kind: str
    type: str
    purpose: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    status: str
    confirmed_at: dt.datetime | None
    status_reason: str


class AppointmentIn(Schema):
    type: str
    starts_at: dt.datetime = Field(description="ISO-8601 with an offset; a slot start for office")
    kind: str = "office"
    ends_at: dt.datetime | None = None
    note: str = ""


class MoveIn(Schema):
    starts_at: dt.datetime
    reason: str = ""


class CancelIn(Schema):
    reason: str


class ComplianceOut(Schema):
    days: int
    on_time: int
    late: int
    missed: int
    excused: int
    technical_failure: int
    on_time_rate: float | None
    appointments_attended: int
    appointments_missed: int


def _read(request: HttpRequest, participant_id: int, what: str) -> tuple[User, Participant]:
    user = staff_user(request)
    participant = participant_get_for(user, participant_id)
    access_log_record(
        user=user,
        action=AccessAction.API_READ,
        what=what,
        participant_ids=[participant.pk],
        request=request,
    )
    return user, participant


def _schedule_out(schedule: CheckinSchedule) -> ScheduleIo:
    return ScheduleIo(
        cadence=schedule.cadence,
        opens=schedule.opens,
        closes=schedule.closes,
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        interval=schedule.interval,
        weekdays=schedule.weekdays,
        week=schedule.week,
        day=schedule.day,
        dates=[dt.date.fromisoformat(d) for d in schedule.dates],
        active=schedule.active,
        description=services.schedule_describe(schedule),
    )


def _window_out(window: CheckinWindow) -> WindowOut:
    return WindowOut(
        id=window.pk,
        local_date=window.local_date,
        opens_at=window.opens_at,
        closes_at=window.closes_at,
        outcome=window.outcome,
        excused_reason=window.excused_reason,
        adhoc=window.schedule_id is None,
    )


def _appointment_out(appointment: Appointment) -> AppointmentOut:
    return AppointmentOut(
        id=appointment.pk,
        participant_id=appointment.participant_id,
        office_id=appointment.office_id,
        kind=appointment.kind,
        type=appointment.type,
        purpose=str(appointment.get_type_display()),
        starts_at=appointment.starts_at,
        ends_at=appointment.ends_at,
        status=appointment.status,
        confirmed_at=appointment.confirmed_at,
        status_reason=appointment.status_reason,
    )


@router.get("/participants/{participant_id}/schedule", response={200: ScheduleIo, 404: dict})
def schedule_get(request: HttpRequest, participant_id: int) -> Status[object]:
    _user, participant = _read(request, participant_id, "check-in schedule")
    schedule = CheckinSchedule.objects.filter(participant=participant).first()
    if schedule is None:
        return Status(404, {"detail": "No check-in schedule set."})
    return Status(200, _schedule_out(schedule))


@router.put("/participants/{participant_id}/schedule", response=ScheduleIo)
def schedule_put(request: HttpRequest, participant_id: int, payload: ScheduleIo) -> ScheduleIo:
    """Set or change the schedule; windows not yet open are regenerated, the past kept."""
    user = staff_user(request)
    participant = participant_get_for(user, participant_id)
    schedule = services.schedule_set(
        participant,
        actor=user,
        data=services.ScheduleData(
            cadence=payload.cadence,
            opens=payload.opens,
            closes=payload.closes,
            starts_on=payload.starts_on,
            ends_on=payload.ends_on,
            interval=payload.interval,
            weekdays=tuple(payload.weekdays),
            week=payload.week,
            day=payload.day,
            dates=tuple(payload.dates),
        ),
    )
    return _schedule_out(schedule)


@router.get("/participants/{participant_id}/checkin-windows", response=list[WindowOut])
def windows_list(
    request: HttpRequest,
    participant_id: int,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[WindowOut]:
    """Windows opening in [since, until) (default: the last 30 days to 30 days ahead)."""
    _user, participant = _read(request, participant_id, "check-in windows")
    now = timezone.now()
    rows = queries.windows_of(
        participant,
        since=since or now - dt.timedelta(days=30),
        until=until or now + dt.timedelta(days=30),
    )[:2000]
    return [_window_out(w) for w in rows]


@router.get("/participants/{participant_id}/checkins", response=list[CheckinOut])
def checkins_list(request: HttpRequest, participant_id: int) -> list[CheckinOut]:
    """Check-in attempts, newest first (the photo itself only through the console)."""
    _user, participant = _read(request, participant_id, "check-ins")
    rows = list(Checkin.objects.filter(participant=participant)[:500])
    return [
        CheckinOut(
            id=c.pk,
            reference=c.reference,
            window_id=c.window_id,
            modality=c.modality,
            outcome=c.outcome,
            attempted_at=c.attempted_at,
            received_at=c.received_at,
            lat=c.lat,
            lon=c.lon,
            accuracy_m=c.accuracy_m,
            failure_reason=c.failure_reason,
            review=c.review,
            has_photo=bool(c.photo),
        )
        for c in rows
    ]


@router.get("/participants/{participant_id}/compliance", response=list[ComplianceOut])
def compliance_get(request: HttpRequest, participant_id: int) -> list[ComplianceOut]:
    _user, participant = _read(request, participant_id, "compliance record")
    now = timezone.now()
    result = []
    for days in (30, 90):
        c = queries.compliance(participant, now=now, days=days)
        result.append(
            ComplianceOut(
                days=c.days,
                on_time=c.on_time,
                late=c.late,
                missed=c.missed,
                excused=c.excused,
                technical_failure=c.technical_failure,
                on_time_rate=c.on_time_rate,
                appointments_attended=c.appointments_attended,
                appointments_missed=c.appointments_missed,
            )
        )
    return result


@router.get("/participants/{participant_id}/appointments", response=list[AppointmentOut])
def appointments_list(request: HttpRequest, participant_id: int) -> list[AppointmentOut]:
    _user, participant = _read(request, participant_id, "appointments")
    return [
        _appointment_out(a)
        for a in Appointment.objects.filter(participant=participant).order_by("-starts_at")[:500]
    ]


@router.post("/participants/{participant_id}/appointments", response={201: AppointmentOut})
def appointment_create(
    request: HttpRequest, participant_id: int, payload: AppointmentIn
) -> Status[AppointmentOut]:
    user = staff_user(request)
    participant = participant_get_for(user, participant_id)
    appointment = services.appointment_book(
        participant,
        actor=user,
        type=payload.type,
        kind=payload.kind,
        starts_at=payload.starts_at,
        ends_at=payload.ends_at,
        note=payload.note,
    )
    return Status(201, _appointment_out(appointment))


def _appointment(request: HttpRequest, appointment_id: int) -> tuple[User, Appointment]:
    user = staff_user(request)
    appointment = get_object_or_404(Appointment, pk=appointment_id)
    participant_get_for(user, appointment.participant_id)
    return user, appointment


@router.post("/appointments/{appointment_id}/move", response=AppointmentOut)
def appointment_move(request: HttpRequest, appointment_id: int, payload: MoveIn) -> AppointmentOut:
    user, appointment = _appointment(request, appointment_id)
    moved = services.appointment_move(
        actor=user,
        appointment_id=appointment.pk,
        starts_at=payload.starts_at,
        reason=payload.reason,
    )
    return _appointment_out(moved)


@router.post("/appointments/{appointment_id}/cancel", response=AppointmentOut)
def appointment_cancel(
    request: HttpRequest, appointment_id: int, payload: CancelIn
) -> AppointmentOut:
    user, appointment = _appointment(request, appointment_id)
    cancelled = services.appointment_cancel(
        actor=user, appointment_id=appointment.pk, reason=payload.reason
    )
    return _appointment_out(cancelled)
