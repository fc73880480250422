"""A suspended or closed case, or a plan with check-ins off, gets no check-in window and no
"missed" alert; reinstatement and plan changes bring the windows back. Participants tells
schedule of each change after it commits (its case-change listener registry)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office
from ontrack.alerts.models import Alert
from ontrack.participants.models import Participant
from ontrack.participants.services import (
    PlanData,
    participant_activate,
    participant_close,
    participant_suspend,
    plan_change,
)
from ontrack.schedule.models import Appointment, AppointmentStatus, CheckinWindow, Outcome
from ontrack.schedule.services.appointments import appointment_book
from ontrack.schedule.services.watchdog import missed_appointments_mark, missed_checkins_mark
from ontrack.schedule.services.windows import windows_generate, windows_generate_due

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC)


def _plan(*, app: bool = True, phone: bool = False) -> PlanData:
    return PlanData(
        level="standard",
        review_date=timezone.localdate() + dt.timedelta(days=90),
        app_checkins=app,
        phone_checkins=phone,
        office_visits=True,
    )


def _future_windows(participant: Participant) -> int:
    upcoming = CheckinWindow.objects.filter(participant=participant, opens_at__gt=timezone.now())
    return upcoming.count()


def test_watchdog_raises_nothing_for_a_window_of_a_suspended_case(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(hours=3)) == 0
    window.refresh_from_db()
    assert window.outcome == Outcome.DUE
    assert not Alert.objects.filter(participant=participant).exists()


def test_watchdog_raises_nothing_when_the_plan_turned_checkins_off(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    plan_change(participant, actor=SYSTEM, plan=_plan(app=False), reason="Office visits only")
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(hours=3)) == 0
    assert not Alert.objects.filter(participant=participant).exists()


def test_watchdog_still_marks_a_plan_with_phone_checkins_only(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    plan_change(
        participant, actor=SYSTEM, plan=_plan(app=False, phone=True), reason="No phone data"
    )
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(hours=3)) == 1


def test_missed_appointment_watchdog_skips_a_suspended_case(
    make_participant: Callable[..., Participant], hours_office: Office
) -> None:
    participant = make_participant()
    booked_at = dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC)
    appointment = appointment_book(
        participant,
        actor=SYSTEM,
        type="routine_checkin",
        starts_at=dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC),
        now=booked_at,
    )
    participant_suspend(participant, actor=SYSTEM, reason="Detained elsewhere")
    assert missed_appointments_mark(now=dt.datetime(2026, 3, 12, tzinfo=dt.UTC)) == 0
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.BOOKED


def test_window_generation_skips_a_suspended_case(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    participant = make_participant()
    schedule = weekly(participant, starts_on=NOON.date(), now=NOON)
    CheckinWindow.objects.filter(participant=participant).delete()
    schedule.generated_until = None
    schedule.save()
    participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    assert windows_generate_due(now=NOON) == 0
    assert windows_generate(schedule, now=NOON) == 0
    assert not CheckinWindow.objects.filter(participant=participant).exists()


def test_an_adhoc_window_is_refused_for_a_closed_case(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    participant_close(participant, actor=SYSTEM, reason="case_concluded")
    with pytest.raises(ValidationError):
        open_window(participant, timezone.now())


def test_suspension_removes_future_windows_and_reinstatement_brings_them_back(
    make_participant: Callable[..., Participant],
    weekly: Callable[..., Any],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    now = timezone.now()
    weekly(participant, weekdays=tuple(range(7)), starts_on=now.date(), now=now)
    assert _future_windows(participant) > 20
    with django_capture_on_commit_callbacks(execute=True):
        participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    assert _future_windows(participant) == 0
    with django_capture_on_commit_callbacks(execute=True):
        participant_activate(participant, actor=SYSTEM)
    assert _future_windows(participant) > 20


def test_a_window_open_at_suspension_with_nothing_in_it_goes_too(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    window = open_window(participant, timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    assert not CheckinWindow.objects.filter(pk=window.pk).exists()


def test_past_windows_are_kept_when_the_case_is_suspended(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    past = open_window(participant, timezone.now() - dt.timedelta(days=2), hours=1)
    missed_checkins_mark()
    with django_capture_on_commit_callbacks(execute=True):
        participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    past.refresh_from_db()
    assert past.outcome == Outcome.MISSED


def test_plan_with_checkins_off_removes_windows_and_turning_them_on_regenerates(
    make_participant: Callable[..., Participant],
    weekly: Callable[..., Any],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    now = timezone.now()
    weekly(participant, weekdays=tuple(range(7)), starts_on=now.date(), now=now)
    with django_capture_on_commit_callbacks(execute=True):
        plan_change(participant, actor=SYSTEM, plan=_plan(app=False), reason="Office visits only")
    assert _future_windows(participant) == 0
    with django_capture_on_commit_callbacks(execute=True):
        plan_change(participant, actor=SYSTEM, plan=_plan(app=True), reason="Back to the app")
    assert _future_windows(participant) > 20


def test_closure_removes_windows_and_cancels_future_appointments_with_a_reason(
    make_participant: Callable[..., Participant],
    weekly: Callable[..., Any],
    hours_office: Office,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    now = timezone.now()
    weekly(participant, weekdays=tuple(range(7)), starts_on=now.date(), now=now)
    monday = now.date() + dt.timedelta(days=7 - now.weekday())
    appointment = appointment_book(
        participant,
        actor=SYSTEM,
        type="plan_review",
        starts_at=dt.datetime.combine(monday, dt.time(15, 0), tzinfo=dt.UTC),
    )
    with django_capture_on_commit_callbacks(execute=True):
        participant_close(participant, actor=SYSTEM, reason="case_concluded")
    assert _future_windows(participant) == 0
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.status_reason == "The case was closed."
    slot = Appointment.objects.get(pk=appointment.pk).slot
    assert slot is not None
    assert slot.booked == 0


def test_an_appointment_passed_during_a_suspension_is_not_called_missed_after_reinstatement(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = make_participant()
    appointment = appointment_book(
        participant,
        actor=SYSTEM,
        type="routine_checkin",
        starts_at=dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC),
        now=dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC),
    )
    participant_suspend(participant, actor=SYSTEM, reason="In hospital")
    with django_capture_on_commit_callbacks(execute=True):
        participant_activate(participant, actor=SYSTEM)
    assert missed_appointments_mark() == 0
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert not Alert.objects.filter(participant=participant, kind="missed_appointment").exists()
