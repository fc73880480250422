"""Schedules, check-in windows, appointments and check-ins over JSON, with the console's
rules: a participant's records through the gate (``participants.gate``: 404 outside one's scope),
every read access-logged, every write through ``schedule.services`` (which check who may
write; a refusal answers 403, a broken rule 422)."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.web import staff_user
from ontrack.apitypes import AwareDateTime, BodySchema
from ontrack.audit.models import AccessAction
from ontrack.participants.gate import (
    participant_for_change,
    participant_read,
    participants_listed,
)
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    Checkin,
    CheckinSchedule,
    CheckinWindow,
    OfficeClosure,
    RescheduleRequest,
)
from ontrack.schedule.services import (
    appointments,
    checkins,
    offices,
    reschedules,
    schedules,
    windows,
)

router = Router(tags=["schedule"])


class ScheduleIo(BodySchema):
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
    participant_id: int
    reference: str
    window_id: int | None
    modality: str
    outcome: str
    attempted_at: dt.datetime
    received_at: dt.datetime
    phone_attempted_at: dt.datetime | None = Field(
        None, description="The time the phone gave, when it differs from what counted"
    )
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    failure_reason: str
    review: str
    review_reason: str
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


class AppointmentIn(BodySchema):
    type: str
    starts_at: AwareDateTime = Field(description="ISO-8601 with an offset; a slot start for office")
    kind: str = "office"
    ends_at: AwareDateTime | None = None
    note: str = ""


class MoveIn(BodySchema):
    starts_at: AwareDateTime
    reason: str = ""


class CancelIn(BodySchema):
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
    participant = participant_read(request, participant_id, what=what, action=AccessAction.API_READ)
    return staff_user(request), participant


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
        description=schedules.schedule_describe(schedule),
    )


def _checkin_out(c: Checkin) -> CheckinOut:
    return CheckinOut(
        id=c.pk,
        participant_id=c.participant_id,
        reference=c.reference,
        window_id=c.window_id,
        modality=c.modality,
        outcome=c.outcome,
        attempted_at=c.attempted_at,
        received_at=c.received_at,
        phone_attempted_at=c.phone_attempted_at,
        lat=c.lat,
        lon=c.lon,
        accuracy_m=c.accuracy_m,
        failure_reason=c.failure_reason,
        review=c.review,
        review_reason=c.review_reason,
        has_photo=bool(c.photo),
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
    participant = participant_for_change(request, participant_id)
    schedule = schedules.schedule_set(
        participant,
        actor=user,
        data=schedules.ScheduleData(
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
    since: AwareDateTime | None = None,
    until: AwareDateTime | None = None,
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
    return [_checkin_out(c) for c in rows]


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
    participant = participant_for_change(request, participant_id)
    appointment = appointments.appointment_book(
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
    participant_for_change(request, appointment.participant_id)
    return user, appointment


@router.post("/appointments/{appointment_id}/move", response=AppointmentOut)
def appointment_move(request: HttpRequest, appointment_id: int, payload: MoveIn) -> AppointmentOut:
    user, appointment = _appointment(request, appointment_id)
    moved = appointments.appointment_move(
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
    cancelled = appointments.appointment_cancel(
        actor=user, appointment_id=appointment.pk, reason=payload.reason
    )
    return _appointment_out(cancelled)


# --- officers' decisions -------------------------------------------------------------------


class ReviewIn(BodySchema):
    approve: bool
    reason: str = Field("", description="Required when rejecting: what did not match")


class ExcuseIn(BodySchema):
    reason: str


class AttendanceIn(BodySchema):
    attended: bool


class AdhocWindowIn(BodySchema):
    opens_at: AwareDateTime
    closes_at: AwareDateTime


class DecideIn(BodySchema):
    approve: bool
    starts_at: AwareDateTime | None = Field(
        None, description="When approving: the new time (default: the nearest free slot)"
    )
    note: str = Field("", description="Required when declining")


class RescheduleRequestOut(Schema):
    id: int
    participant_id: int
    appointment_id: int
    appointment_starts_at: dt.datetime
    preferred_starts_at: dt.datetime | None
    reason: str
    created_at: dt.datetime
    status: str
    decided_at: dt.datetime | None
    decision_note: str


class SlotOut(Schema):
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int


class ClosureIn(BodySchema):
    date: dt.date = Field(description="Local date in the office's zone")
    reason: str


class ClosureOut(Schema):
    office_id: int
    date: dt.date
    reason: str
    moved: list[AppointmentOut]
    unplaced: list[AppointmentOut] = Field(
        description="Booked that day but no free slot within 30 days: left for the officer"
    )


def _request_out(r: RescheduleRequest) -> RescheduleRequestOut:
    return RescheduleRequestOut(
        id=r.pk,
        participant_id=r.participant_id,
        appointment_id=r.appointment_id,
        appointment_starts_at=r.appointment.starts_at,
        preferred_starts_at=r.preferred_starts_at,
        reason=r.reason,
        created_at=r.created_at,
        status=r.status,
        decided_at=r.decided_at,
        decision_note=r.decision_note,
    )


Row = TypeVar("Row", Checkin, CheckinWindow, RescheduleRequest)


def _scoped_get(request: HttpRequest, model: type[Row], pk: int) -> tuple[User, Row]:
    """The row and the caller, 404 when it is not theirs to see (as for participants)."""
    user = staff_user(request)
    row = get_object_or_404(model, pk=pk)
    participant_for_change(request, row.participant_id)
    return user, row


@router.get("/checkins/review-queue", response=list[CheckinOut])
def review_queue(request: HttpRequest) -> list[CheckinOut]:
    """Check-in photos waiting for an identity decision in the caller's scope, oldest
    first (the photos themselves only through the console)."""
    user = staff_user(request)
    rows = list(queries.review_queue_for(user)[:500])
    participants_listed(
        request,
        (c.participant_id for c in rows),
        what="check-in review queue",
        action=AccessAction.API_READ,
    )
    return [_checkin_out(c) for c in rows]


@router.post("/checkins/{checkin_id}/review", response=CheckinOut)
def checkin_review(request: HttpRequest, checkin_id: int, payload: ReviewIn) -> CheckinOut:
    """Approve the photo, or reject it with a reason (a rejection changes no outcome)."""
    user, checkin = _scoped_get(request, Checkin, checkin_id)
    reviewed = checkins.checkin_review(
        actor=user, checkin_id=checkin.pk, approve=payload.approve, reason=payload.reason
    )
    return _checkin_out(reviewed)


@router.post("/checkin-windows/{window_id}/excuse", response=WindowOut)
def window_excuse(request: HttpRequest, window_id: int, payload: ExcuseIn) -> WindowOut:
    """Excuse a window with a written reason; a missed-check-in alert it raised clears."""
    user, window = _scoped_get(request, CheckinWindow, window_id)
    return _window_out(
        checkins.window_excuse(actor=user, window_id=window.pk, reason=payload.reason)
    )


@router.post("/participants/{participant_id}/checkin-windows", response={201: WindowOut})
def window_adhoc(
    request: HttpRequest, participant_id: int, payload: AdhocWindowIn
) -> Status[WindowOut]:
    """Ask for a check-in outside the schedule (the participant is reminded)."""
    user = staff_user(request)
    participant = participant_for_change(request, participant_id)
    window = windows.window_adhoc(
        participant, actor=user, opens_at=payload.opens_at, closes_at=payload.closes_at
    )
    return Status(201, _window_out(window))


@router.post("/appointments/{appointment_id}/attendance", response=AppointmentOut)
def appointment_attendance(
    request: HttpRequest, appointment_id: int, payload: AttendanceIn
) -> AppointmentOut:
    """Record whether the person came; "not attended" raises the missed-appointment alert."""
    user, appointment = _appointment(request, appointment_id)
    recorded = appointments.appointment_attendance(
        actor=user, appointment_id=appointment.pk, attended=payload.attended
    )
    return _appointment_out(recorded)


@router.get("/reschedule-requests", response=list[RescheduleRequestOut])
def reschedule_requests(request: HttpRequest) -> list[RescheduleRequestOut]:
    """Participants' pending requests for another time in the caller's scope."""
    user = staff_user(request)
    rows = list(queries.reschedule_requests_pending_for(user)[:500])
    participants_listed(
        request,
        (r.participant_id for r in rows),
        what="reschedule requests",
        action=AccessAction.API_READ,
    )
    return [_request_out(r) for r in rows]


@router.post("/reschedule-requests/{request_id}/decide", response=RescheduleRequestOut)
def reschedule_decide(
    request: HttpRequest, request_id: int, payload: DecideIn
) -> RescheduleRequestOut:
    """Approve (the appointment moves) or decline with a note."""
    user, row = _scoped_get(request, RescheduleRequest, request_id)
    decided = reschedules.reschedule_decide(
        actor=user,
        request_id=row.pk,
        approve=payload.approve,
        starts_at=payload.starts_at,
        note=payload.note,
    )
    decided.appointment.refresh_from_db()
    return _request_out(decided)


# --- offices' calendars --------------------------------------------------------------------


def _office(request: HttpRequest, office_id: int) -> tuple[User, Office]:
    """Staff of the office, or an administrator, see its calendar (it names no one)."""
    user = staff_user(request)
    office = get_object_or_404(Office, pk=office_id)
    if user.role != Role.ADMINISTRATOR and user.office_id != office.pk:
        raise PermissionDenied("This is another office's calendar.")
    return user, office


@router.get("/offices/{office_id}/slots", response=list[SlotOut])
def office_slots(request: HttpRequest, office_id: int, day: dt.date) -> list[SlotOut]:
    """The bookable slots of a local date with how many places are taken; none on a
    closure."""
    _user, office = _office(request, office_id)
    return [
        SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity, booked=s.booked)
        for s in queries.office_slots(office, day)
    ]


@router.get("/offices/{office_id}/closures", response=list[ClosureIn])
def office_closures(request: HttpRequest, office_id: int) -> list[ClosureIn]:
    """Closures and holidays from today on."""
    _user, office = _office(request, office_id)
    today = timezone.now().astimezone(ZoneInfo(office.time_zone)).date()
    rows = queries.closures_ahead(office, today=today)
    return [ClosureIn(date=c.date, reason=c.reason) for c in rows]


@router.post("/offices/{office_id}/closures", response={201: ClosureOut})
def office_close_day(
    request: HttpRequest, office_id: int, payload: ClosureIn
) -> Status[ClosureOut]:
    """Close the office on a local date: everyone booked that day is moved to the nearest
    free slot and told; those with no slot within 30 days are listed as unplaced."""
    user, office = _office(request, office_id)
    action = offices.office_close_day(
        actor=user, office=office, day=payload.date, reason=payload.reason
    )
    closure = OfficeClosure.objects.get(office=office, date=payload.date)
    items = list(action.items.select_related("appointment"))
    return Status(
        201,
        ClosureOut(
            office_id=office.pk,
            date=closure.date,
            reason=closure.reason,
            moved=[_appointment_out(i.appointment) for i in items if not i.skipped],
            unplaced=[_appointment_out(i.appointment) for i in items if i.skipped],
        ),
    )
