"""The officer console through real HTTP: pages render for those who may see the
participant, answer 404 or 403 to others, and every read is access-logged."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    WINDOW_LONGEST,
    Appointment,
    AppointmentStatus,
    Checkin,
    CheckinSchedule,
    CheckinWindow,
    OfficeClosure,
    Outcome,
    Review,
    Task,
)
from ontrack.schedule.services.appointments import appointment_book
from ontrack.schedule.services.checkins import checkin_submit, checkin_technical_failure
from ontrack.schedule.services.reschedules import reschedule_request_create
from ontrack.schedule.services.watchdog import missed_checkins_mark
from tests.schedule.conftest import JPEG
from tests.support import sqlite_plans

pytestmark = pytest.mark.django_db


def _checkin(participant: Participant, at: dt.datetime | None = None) -> Checkin:
    at = at or timezone.now()
    return checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=at,
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=40.7,
        lon=-74.1,
        accuracy_m=10,
        now=at,
    )


def _next_slot(office: Office) -> dt.datetime:
    now = timezone.now()
    slot = queries.nearest_free_slot(
        office, now + dt.timedelta(days=2), not_before=now + dt.timedelta(hours=1)
    )
    assert slot is not None
    return slot.starts_at


def test_today_lists_the_caseloads_windows_and_logs_the_read(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    mine = make_participant()
    open_window(mine)
    page = client_for(officer).get("/schedule/today/")
    assert page.status_code == 200
    assert mine.full_name in page.content.decode()
    assert AccessLogEntry.objects.filter(
        user=officer, participant_id=mine.pk, action="list"
    ).exists()


def test_today_hides_other_caseloads(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    other = make_participant()
    open_window(other)
    stranger = make_user(Role.OFFICER)
    page = client_for(stranger).get("/schedule/today/").content.decode()
    assert other.full_name not in page


def test_today_shows_an_offices_windows_a_page_at_a_time(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
    settings: pytest.FixtureRequest,
) -> None:
    settings.ONTRACK_PAGE_SIZE = 2  # type: ignore[attr-defined]
    people = [make_participant(family_name=f"Quintero {n}") for n in range(3)]
    now = timezone.now()
    for n, person in enumerate(people):
        open_window(person, at=now + dt.timedelta(minutes=n))
    client = client_for(officer)

    first = client.get("/schedule/today/").content.decode()
    second = client.get("/schedule/today/?page=2").content.decode()

    assert "Check-in windows (3)" in first
    assert [p.full_name in first for p in people] == [True, True, False]
    assert [p.full_name in second for p in people] == [False, False, True]


def test_the_days_filters_offer_the_offices_and_officers_of_ones_scope_only(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    colleague = make_user(Role.OFFICER)
    make_participant(officer=colleague)
    make_user(Role.OFFICER)  # no caseload: not offered
    trenton = make_office("Trenton")
    far = make_user(Role.OFFICER, office=trenton)
    make_participant(officer=far)
    make_office("Camden")  # nobody there: not offered

    def offered(user: User, name: str) -> set[int]:
        html = client_for(user).get("/schedule/today/").content.decode()
        select = re.search(rf'<select name="{name}">(.*?)</select>', html)
        return {int(pk) for pk in re.findall(r'<option value="(\d+)"', select[1] if select else "")}

    supervisor = make_user(Role.SUPERVISOR)
    assert offered(supervisor, "office") == set()  # one office: no choice to make
    assert offered(supervisor, "officer") == {colleague.pk}
    operator = make_user(Role.OPERATOR, office=None)
    assert offered(operator, "office") == {colleague.office_id, trenton.pk}
    assert offered(operator, "officer") == {colleague.pk, far.pk}


def test_a_days_windows_are_looked_for_no_further_back_than_a_window_stays_open(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
) -> None:
    """Each person's earlier windows were read back to their first: 600 ms for an office's
    day at 100,000 participants on SQLite (bench/pages.py)."""
    person = make_participant()
    now = timezone.now()
    overnight = open_window(person, at=now - dt.timedelta(hours=30), hours=40)
    with pytest.raises(ValidationError):
        open_window(person, at=now, hours=WINDOW_LONGEST.total_seconds() / 3600)

    with CaptureQueriesContext(connection) as queries_run:
        found = list(queries.windows_between_for(officer, now, now + dt.timedelta(hours=1)))

    assert found == [overnight]  # opened yesterday, still open
    if connection.vendor == "sqlite":
        (plan,) = sqlite_plans(queries_run, 'FROM "schedule_checkinwindow"')
        assert "(participant_id=? AND opens_at>? AND opens_at<?)" in plan, plan


def test_auditor_may_not_open_today(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    assert client_for(make_user(Role.AUDITOR)).get("/schedule/today/").status_code == 403


def test_participant_panel_shows_compliance_and_is_logged(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    open_window(participant)
    _checkin(participant)
    detail = client_for(officer).get(f"/participants/{participant.pk}/").content.decode()
    assert f"/schedule/participant/{participant.pk}/panel/" in detail
    panel = client_for(officer).get(f"/schedule/participant/{participant.pk}/panel/")
    assert panel.status_code == 200
    assert "On-time rate" in panel.content.decode()
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what="schedule and compliance"
    ).exists()


def test_panel_of_another_caseload_is_not_found(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    response = client_for(make_user(Role.OFFICER)).get(
        f"/schedule/participant/{participant.pk}/panel/"
    )
    assert response.status_code == 404


def test_officer_sets_a_weekly_schedule_through_the_form(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    response = client_for(officer).post(
        f"/schedule/participant/{participant.pk}/schedule/",
        {
            "cadence": "weekly",
            "weekdays": ["1", "4"],
            "interval": "1",
            "week": "1",
            "day": "1",
            "opens": "08:00",
            "closes": "20:00",
            "starts_on": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    schedule = CheckinSchedule.objects.get(participant=participant)
    assert schedule.weekdays == [1, 4]
    assert CheckinWindow.objects.filter(participant=participant).count() >= 16


def test_supervisor_of_another_office_may_not_edit_the_schedule(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    elsewhere = make_user(Role.SUPERVISOR, office=make_office("Camden"))
    response = client_for(elsewhere).get(f"/schedule/participant/{participant.pk}/schedule/")
    assert response.status_code == 404


def test_operator_may_read_but_not_edit(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    operator = make_user(Role.OPERATOR, office=None)
    client = client_for(operator)
    assert client.get(f"/schedule/participant/{participant.pk}/").status_code == 200
    assert client.get(f"/schedule/participant/{participant.pk}/schedule/").status_code == 403


def test_book_move_and_cancel_through_the_console(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    client = client_for(officer)
    start = _next_slot(hours_office).astimezone(dt.UTC)
    local = timezone.localtime(start, timezone=ZoneInfo(hours_office.time_zone))
    response = client.post(
        f"/schedule/participant/{participant.pk}/appointments/new/",
        {
            "type": "hearing_preparation",
            "kind": "office",
            "starts_at": local.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    appointment = Appointment.objects.get(participant=participant)
    assert appointment.starts_at == start
    moved = client.post(
        f"/schedule/appointments/{appointment.pk}/move/",
        {"starts_at": "", "reason": "Officer away"},
    )
    assert moved.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at != start
    cancelled = client.post(
        f"/schedule/appointments/{appointment.pk}/cancel/", {"reason": "Plan changed"}
    )
    assert cancelled.status_code == 302
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED


def test_booking_at_a_time_with_no_slot_shows_the_reason(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    response = client_for(officer).post(
        f"/schedule/participant/{participant.pk}/appointments/new/",
        {"type": "routine_checkin", "kind": "office", "starts_at": "2030-01-05T03:00"},
    )
    assert response.status_code == 400
    assert "no appointment at that time" in response.content.decode()


def test_bulk_cancel_from_the_day_page_is_previewed_then_confirmed(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    people = [make_participant() for _ in range(2)]
    start = _next_slot(hours_office)
    booked = [
        appointment_book(p, actor=officer, type="routine_checkin", starts_at=start) for p in people
    ]
    client = client_for(officer)
    preview = client.post(
        "/schedule/bulk/",
        {
            "action": "cancel",
            "appointments": [str(a.pk) for a in booked],
            "reason": "Office flooded",
        },
    )
    body = preview.content.decode()
    assert preview.status_code == 200
    assert "Cancel: 2 appointments" in body
    assert all(p.full_name in body for p in people)
    assert set(Appointment.objects.values_list("status", flat=True)) == {
        AppointmentStatus.BOOKED
    }, "a preview changes nothing"
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found
    no_reason = client.post("/schedule/bulk/", {"token": found.group(1), "reason": ""})
    assert no_reason.status_code == 400
    forged = client.post("/schedule/bulk/", {"token": found.group(1) + "x", "reason": "r"})
    assert forged.status_code == 400
    assert "altered or is not yours" in forged.content.decode()
    response = client.post("/schedule/bulk/", {"token": found.group(1), "reason": "Flooded"})
    assert response.status_code == 302
    assert set(Appointment.objects.values_list("status", flat=True)) == {
        AppointmentStatus.CANCELLED
    }


def test_bulk_ignores_appointments_outside_ones_caseload(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    appointment = appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_next_slot(hours_office),
    )
    stranger = make_user(Role.OFFICER)
    response = client_for(stranger).post(
        "/schedule/bulk/",
        {"action": "cancel", "appointments": [str(appointment.pk)], "reason": "x"},
    )
    assert response.status_code == 302, "no preview of appointments one does not see"
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.BOOKED


def test_supervisor_closes_a_day_from_the_office_calendar_through_a_preview(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    start = _next_slot(hours_office)
    appointment = appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=start
    )
    day = start.astimezone(ZoneInfo(hours_office.time_zone)).date()
    client = client_for(supervisor)
    close = {"form": "close", "day": day.isoformat(), "reason": "Holiday"}
    preview = client.post(f"/schedule/offices/{hours_office.pk}/", close)
    body = preview.content.decode()
    assert "1 appointment booked that day will move" in body
    assert appointment.participant.full_name in body
    assert not OfficeClosure.objects.exists(), "a preview closes nothing"
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found
    other_day = {**close, "day": (day + dt.timedelta(days=1)).isoformat()}
    forged = client.post(
        f"/schedule/offices/{hours_office.pk}/", {**other_day, "token": found.group(1)}
    )
    assert forged.status_code == 400
    assert not OfficeClosure.objects.exists()
    response = client.post(
        f"/schedule/offices/{hours_office.pk}/", {**close, "token": found.group(1)}
    )
    assert response.status_code == 302
    assert OfficeClosure.objects.filter(office=hours_office, date=day).exists()
    assert Appointment.objects.get(pk=appointment.pk).starts_at != start
    assert client_for(officer).get(f"/schedule/offices/{hours_office.pk}/").status_code == 403


def test_photo_is_served_only_to_those_who_may_see_the_participant(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    open_window(participant)
    checkin = _checkin(participant)
    response = client_for(officer).get(f"/schedule/checkins/{checkin.pk}/photo/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    with checkin.photo.open("rb") as kept:
        assert response.getvalue() == kept.read()
    assert response["Cache-Control"] == "private, no-store"
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what__startswith="check-in photo"
    ).exists()
    assert (
        client_for(make_user(Role.OFFICER))
        .get(f"/schedule/checkins/{checkin.pk}/photo/")
        .status_code
        == 404
    )


def test_review_queue_approve_and_reject_with_reason(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    open_window(participant)
    first = _checkin(participant)
    client = client_for(officer)
    page = client.get("/schedule/review/").content.decode()
    assert first.reference in page
    assert f"/participants/{participant.pk}/photo/" not in page
    client.post(f"/schedule/checkins/{first.pk}/review/", {"decision": "reject", "reason": ""})
    assert Checkin.objects.get(pk=first.pk).review == Review.PENDING
    client.post(
        f"/schedule/checkins/{first.pk}/review/",
        {"decision": "reject", "reason": "Different person"},
    )
    first.refresh_from_db()
    assert first.review == Review.REJECTED
    assert first.reviewed_by == officer


def test_task_list_shows_technical_failures_and_reschedule_requests(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    open_window(participant)
    checkin_technical_failure(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=timezone.now(),
        reason="location",
    )
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_next_slot(hours_office)
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Night shift"
    )
    client = client_for(officer)
    page = client.get("/schedule/tasks/").content.decode()
    assert "Location unavailable" in page
    assert "Night shift" in page
    client.post(
        f"/schedule/requests/{request.pk}/decide/",
        {"decision": "approve", "starts_at": "", "note": ""},
    )
    request.refresh_from_db()
    assert request.status == "approved"
    task = Task.objects.get(participant=participant, kind="technical_failure")
    client.post(f"/schedule/tasks/{task.pk}/done/", {"note": "Phone replaced"})
    task.refresh_from_db()
    assert task.status == "done"


def test_excuse_a_missed_window_from_the_record(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    window = open_window(participant, timezone.now() - dt.timedelta(days=2), hours=1)
    missed_checkins_mark()
    client = client_for(officer)
    assert "Excuse" in client.get(f"/schedule/participant/{participant.pk}/").content.decode()
    client.post(f"/schedule/windows/{window.pk}/excuse/", {"reason": "Hospital stay"})
    window.refresh_from_db()
    assert window.outcome == Outcome.EXCUSED


def test_attendance_marked_through_htmx(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    past = timezone.now() - dt.timedelta(hours=1)
    appointment = appointment_book(
        participant,
        actor=officer,
        type="routine_checkin",
        kind="home_visit",
        starts_at=past,
        now=past - dt.timedelta(days=1),
    )
    response = client_for(officer).post(
        f"/schedule/appointments/{appointment.pk}/attendance/",
        {"attended": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Attended" in response.content.decode()
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.ATTENDED


def test_nav_has_today(officer: User, client_for: Callable[[User], Client]) -> None:
    assert 'href="/schedule/today/"' in client_for(officer).get("/schedule/tasks/").content.decode()


def test_the_day_page_forms_never_redirect_to_another_site(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    away = client.post("/schedule/bulk/", {"next": "https://evil.example/phish"})
    assert away.status_code == 302
    assert away["Location"] == "/schedule/today/"
    home = client.post("/schedule/bulk/", {"next": "/schedule/today/?day=2026-12-07"})
    assert home["Location"] == "/schedule/today/?day=2026-12-07"


def test_closing_a_day_is_refused_when_its_bookings_changed_since_the_preview(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    start = _next_slot(hours_office)
    day = start.astimezone(ZoneInfo(hours_office.time_zone)).date()
    client = client_for(make_user(Role.SUPERVISOR))
    close = {"form": "close", "day": day.isoformat(), "reason": "Holiday"}
    body = client.post(f"/schedule/offices/{hours_office.pk}/", close).content.decode()
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found
    unseen = appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=start
    )
    response = client.post(
        f"/schedule/offices/{hours_office.pk}/", {**close, "token": found.group(1)}
    )
    assert response.status_code == 400
    assert "changed since the preview" in response.content.decode()
    assert not OfficeClosure.objects.exists()
    assert Appointment.objects.get(pk=unseen.pk).starts_at == start
