"""The schedule API's decisions over HTTP with a bearer token: photo review, excusing a
window, attendance, ad-hoc windows, reschedule decisions, office slots and closures."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.services import api_token_create
from ontrack.alerts.models import Alert
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import Appointment, Checkin, CheckinWindow, OfficeClosure, Outcome
from ontrack.schedule.queries import Slot
from ontrack.schedule.services.appointments import appointment_book
from ontrack.schedule.services.checkins import checkin_submit
from ontrack.schedule.services.reschedules import reschedule_request_create
from ontrack.schedule.services.watchdog import missed_checkins_mark
from tests.schedule.conftest import JPEG

pytestmark = pytest.mark.django_db


def _auth(user: User) -> dict[str, Any]:
    _, secret = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(url: str, body: dict[str, Any], user: User) -> Any:
    return Client().post(url, data=json.dumps(body), content_type="application/json", **_auth(user))


def _photo_checkin(participant: Participant, open_window: Callable[..., CheckinWindow]) -> Checkin:
    open_window(participant)
    return checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=timezone.now(),
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=None,
        lon=None,
        accuracy_m=None,
    )


def _next_slot(office: Office, days: int = 3, **kwargs: Any) -> Slot:
    now = timezone.now()
    slot = queries.nearest_free_slot(
        office, now + dt.timedelta(days=days), not_before=now, **kwargs
    )
    assert slot is not None, "the test office has no free slot"
    return slot


def test_review_queue_lists_the_photo_and_is_access_logged(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
) -> None:
    participant = make_participant()
    checkin = _photo_checkin(participant, open_window)
    response = Client().get("/api/checkins/review-queue", **_auth(officer))
    assert response.status_code == 200
    assert [c["id"] for c in response.json()] == [checkin.pk]
    assert AccessLogEntry.objects.filter(
        user=officer, what="check-in review queue", participant_id=participant.pk
    ).exists()


def test_rejecting_a_photo_needs_a_reason_and_then_records_it(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
) -> None:
    checkin = _photo_checkin(make_participant(), open_window)
    url = f"/api/checkins/{checkin.pk}/review"
    assert _post(url, {"approve": False}, officer).status_code == 422
    response = _post(url, {"approve": False, "reason": "Not the same person"}, officer)
    assert response.status_code == 200, response.content
    assert (response.json()["review"], response.json()["review_reason"]) == (
        "rejected",
        "Not the same person",
    )


def test_a_photo_of_another_caseload_is_not_found(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    make_user: Callable[..., User],
) -> None:
    checkin = _photo_checkin(make_participant(), open_window)
    stranger = make_user(Role.OFFICER)
    response = _post(f"/api/checkins/{checkin.pk}/review", {"approve": True}, stranger)
    assert response.status_code == 404


def test_excusing_a_missed_window_clears_its_alert(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
) -> None:
    participant = make_participant()
    window = open_window(participant, timezone.now() - dt.timedelta(days=1), hours=1)
    missed_checkins_mark()
    assert Alert.objects.filter(participant=participant, status="open").exists()
    response = _post(f"/api/checkin-windows/{window.pk}/excuse", {"reason": "In hospital"}, officer)
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == Outcome.EXCUSED
    assert not Alert.objects.filter(participant=participant, status="open").exists()


def test_an_adhoc_window_is_created_for_the_participant(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    now = timezone.now()
    body = {
        "opens_at": now.isoformat(),
        "closes_at": (now + dt.timedelta(hours=2)).isoformat(),
    }
    response = _post(f"/api/participants/{participant.pk}/checkin-windows", body, officer)
    assert response.status_code == 201, response.content
    assert response.json()["adhoc"] is True
    assert CheckinWindow.objects.filter(participant=participant, schedule=None).count() == 1


def test_an_adhoc_window_that_closes_before_it_opens_is_422(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    now = timezone.now()
    body = {"opens_at": now.isoformat(), "closes_at": (now - dt.timedelta(hours=1)).isoformat()}
    response = _post(f"/api/participants/{participant.pk}/checkin-windows", body, officer)
    assert response.status_code == 422


def test_attendance_marked_missed_raises_the_alert(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    slot = _next_slot(hours_office)
    appointment = appointment_book(
        participant,
        actor=officer,
        type="routine_checkin",
        starts_at=slot.starts_at,
        now=slot.starts_at - dt.timedelta(days=4),
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() - dt.timedelta(minutes=30),
    )
    response = _post(f"/api/appointments/{appointment.pk}/attendance", {"attended": False}, officer)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "missed"
    assert Alert.objects.filter(participant=participant, kind="missed_appointment").exists()


def test_declining_a_reschedule_request_needs_a_note(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    appointment = appointment_book(
        participant, actor=officer, type="plan_review", starts_at=_next_slot(hours_office).starts_at
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Work"
    )
    listed = Client().get("/api/reschedule-requests", **_auth(officer)).json()
    assert [r["id"] for r in listed] == [request.pk]
    url = f"/api/reschedule-requests/{request.pk}/decide"
    assert _post(url, {"approve": False}, officer).status_code == 422
    response = _post(url, {"approve": False, "note": "Court order"}, officer)
    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["decision_note"]) == (
        "declined",
        "Court order",
    )


def test_approving_a_reschedule_request_moves_the_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    first = _next_slot(hours_office)
    appointment = appointment_book(
        participant, actor=officer, type="plan_review", starts_at=first.starts_at
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Work"
    )
    later = _next_slot(hours_office, days=6, avoid_start=first.starts_at)
    response = _post(
        f"/api/reschedule-requests/{request.pk}/decide",
        {"approve": True, "starts_at": later.starts_at.isoformat()},
        officer,
    )
    assert response.status_code == 200, response.content
    appointment.refresh_from_db()
    assert appointment.starts_at == later.starts_at
    assert response.json()["status"] == "approved"


def test_office_slots_of_a_day_show_capacity_and_bookings(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    slot = _next_slot(hours_office)
    appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=slot.starts_at
    )
    day = slot.starts_at.astimezone(dt.timezone(dt.timedelta(hours=-5))).date()
    response = Client().get(
        f"/api/offices/{hours_office.pk}/slots?day={day.isoformat()}", **_auth(officer)
    )
    assert response.status_code == 200
    (booked,) = [s for s in response.json() if s["booked"]]
    assert (booked["capacity"], booked["booked"]) == (2, 1)


def test_another_offices_slots_are_forbidden(
    hours_office: Office, make_office: Callable[..., Office], make_user: Callable[..., User]
) -> None:
    elsewhere = make_user(Role.OFFICER, office=make_office("Trenton"))
    response = Client().get(
        f"/api/offices/{hours_office.pk}/slots?day=2030-01-07", **_auth(elsewhere)
    )
    assert response.status_code == 403


def test_closing_a_day_moves_the_bookings_and_an_officer_may_not(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    slot = _next_slot(hours_office)
    appointment = appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=slot.starts_at
    )
    day = slot.starts_at.astimezone(dt.timezone(dt.timedelta(hours=-5))).date()
    body = {"date": day.isoformat(), "reason": "Snow"}
    url = f"/api/offices/{hours_office.pk}/closures"
    assert _post(url, body, officer).status_code == 403
    supervisor = make_user(Role.SUPERVISOR)
    response = _post(url, body, supervisor)
    assert response.status_code == 201, response.content
    assert [a["id"] for a in response.json()["moved"]] == [appointment.pk]
    appointment.refresh_from_db()
    assert appointment.starts_at.date() != day
    assert OfficeClosure.objects.filter(office=hours_office, date=day).exists()
    listed = Client().get(url, **_auth(supervisor)).json()
    assert listed == [{"date": day.isoformat(), "reason": "Snow"}]
