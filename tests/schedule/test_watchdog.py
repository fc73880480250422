"""The watchdog: missed check-ins, appointments and hearings raise their alert once, on a
clock the test drives."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from pytest_django.fixtures import Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, User
from ontrack.alerts.models import Alert
from ontrack.participants.models import Participant
from ontrack.participants.services import hearing_add, hearing_update
from ontrack.schedule.models import (
    Appointment,
    AppointmentStatus,
    CheckinWindow,
    Outcome,
    Task,
    TaskKind,
)
from ontrack.schedule.services.appointments import appointment_attendance, appointment_book
from ontrack.schedule.services.checkins import checkin_submit, window_excuse
from ontrack.schedule.services.watchdog import (
    hearings_check,
    missed_appointments_mark,
    missed_checkins_mark,
)
from tests.schedule.conftest import JPEG

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC)


def test_missed_checkin_raises_one_alert_after_the_grace_period(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES = 60
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(minutes=30)) == 0
    later = window.closes_at + dt.timedelta(minutes=61)
    assert missed_checkins_mark(now=later) == 1
    assert missed_checkins_mark(now=later + dt.timedelta(hours=1)) == 0
    window.refresh_from_db()
    assert window.outcome == Outcome.MISSED
    (alert,) = Alert.objects.filter(participant=participant)
    assert alert.kind == "missed_checkin"
    assert alert.source == f"checkin_window:{window.pk}"
    assert alert.occurrences == 1


def test_watchdog_stays_idempotent_after_the_alert_is_resolved(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    later = window.closes_at + dt.timedelta(hours=3)
    missed_checkins_mark(now=later)
    Alert.objects.filter(participant=participant).update(status="resolved")
    assert missed_checkins_mark(now=later + dt.timedelta(days=1)) == 0
    assert Alert.objects.filter(participant=participant).count() == 1


def test_late_upload_of_an_attempt_in_time_clears_the_missed_alert(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    later = window.closes_at + dt.timedelta(hours=3)
    missed_checkins_mark(now=later)
    checkin = checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=NOON,
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=None,
        lon=None,
        accuracy_m=None,
        now=later + dt.timedelta(minutes=5),
    )
    assert checkin.outcome == Outcome.ON_TIME
    window.refresh_from_db()
    assert window.outcome == Outcome.ON_TIME
    alert = Alert.objects.get(participant=participant)
    assert alert.status in {"auto_resolved", "cancelled"}


def test_excused_window_is_not_missed(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    window_excuse(actor=officer, window_id=window.pk, reason="In hospital", now=NOON)
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(days=1)) == 0
    window.refresh_from_db()
    assert window.outcome == Outcome.EXCUSED
    assert window.excused_by == officer


def test_appointment_without_attendance_is_missed_after_the_office_day(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    booked_at = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    starts = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)  # 10:00 in Newark
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=starts, now=booked_at
    )
    evening = dt.datetime(2026, 3, 10, 23, 0, tzinfo=dt.UTC)  # 19:00 local, same day
    assert missed_appointments_mark(now=evening) == 0
    after_midnight = dt.datetime(2026, 3, 11, 4, 5, tzinfo=dt.UTC)  # 00:05 local
    assert missed_appointments_mark(now=after_midnight) == 1
    assert missed_appointments_mark(now=after_midnight) == 0
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.MISSED
    assert Alert.objects.filter(participant=participant, kind="missed_appointment").count() == 1


def test_attended_appointment_is_never_missed(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    starts = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)
    appointment = appointment_book(
        participant,
        actor=officer,
        type="plan_review",
        starts_at=starts,
        now=starts - dt.timedelta(days=3),
    )
    appointment_attendance(
        actor=officer,
        appointment_id=appointment.pk,
        attended=True,
        now=starts + dt.timedelta(minutes=10),
    )
    assert missed_appointments_mark(now=starts + dt.timedelta(days=2)) == 0
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.ATTENDED


def test_hearing_recorded_as_not_attended_raises_missed_hearing_once(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant()
    hearing = hearing_add(
        participant,
        actor=SYSTEM,
        scheduled_at=NOON - dt.timedelta(days=2),
        court="Newark Immigration Court",
        kind="master_calendar",
    )
    assert hearings_check(now=NOON) == 0  # no outcome yet: nothing assumed
    assert Task.objects.filter(participant=participant, kind=TaskKind.HEARING_OUTCOME).count() == 1
    assert not Alert.objects.filter(participant=participant).exists()
    hearing_update(hearing, actor=SYSTEM, outcome="failed_to_appear")
    assert hearings_check(now=NOON) == 1
    assert hearings_check(now=NOON + dt.timedelta(hours=1)) == 0
    (alert,) = Alert.objects.filter(participant=participant)
    assert alert.kind == "missed_hearing"
    assert alert.source == f"hearing:{hearing.pk}"


def test_attended_hearing_raises_nothing(make_participant: Callable[..., Participant]) -> None:
    participant = make_participant()
    hearing = hearing_add(
        participant,
        actor=SYSTEM,
        scheduled_at=NOON - dt.timedelta(days=2),
        court="Court",
        kind="bond",
    )
    hearing_update(hearing, actor=SYSTEM, outcome="attended")
    assert hearings_check(now=NOON) == 0
    assert not Alert.objects.filter(participant=participant).exists()
