"""The schedule API over real HTTP with bearer tokens: role-scoped reads (access-logged),
writes through the services (403 when not allowed, 422 when a rule is broken)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import Appointment

pytestmark = pytest.mark.django_db


def _auth(user: User) -> dict[str, Any]:
    _, secret = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _put(client: Client, url: str, body: dict[str, Any], auth: dict[str, Any]) -> Any:
    return client.put(url, data=json.dumps(body), content_type="application/json", **auth)


def _post(client: Client, url: str, body: dict[str, Any], auth: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json", **auth)


SCHEDULE = {
    "cadence": "weekly",
    "weekdays": [1, 3],
    "opens": "08:00",
    "closes": "20:00",
    "starts_on": "2026-01-01",
}


def test_put_then_get_schedule_and_windows(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    auth = _auth(officer)
    client = Client()
    put = _put(client, f"/api/participants/{participant.pk}/schedule", SCHEDULE, auth)
    assert put.status_code == 200, put.content
    assert put.json()["description"].startswith("Tue, Thu, every week")
    got = client.get(f"/api/participants/{participant.pk}/schedule", **auth)
    assert got.json()["weekdays"] == [1, 3]
    windows = client.get(f"/api/participants/{participant.pk}/checkin-windows", **auth).json()
    assert windows
    assert all(w["outcome"] == "due" for w in windows)
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, action="api_read", what="check-in windows"
    ).exists()


def test_invalid_schedule_is_422(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participant = make_participant()
    response = _put(
        Client(),
        f"/api/participants/{participant.pk}/schedule",
        {**SCHEDULE, "weekdays": []},
        _auth(officer),
    )
    assert response.status_code == 422
    assert "weekdays" in response.json()["detail"]


def test_schedule_of_another_caseload_is_404(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    participant = make_participant()
    stranger = make_user(Role.OFFICER)
    assert (
        Client().get(f"/api/participants/{participant.pk}/checkins", **_auth(stranger)).status_code
        == 404
    )


def test_operator_reads_but_may_not_write(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    participant = make_participant()
    operator = make_user(Role.OPERATOR, office=None)
    auth = _auth(operator)
    client = Client()
    assert client.get(f"/api/participants/{participant.pk}/compliance", **auth).status_code == 200
    assert (
        _put(client, f"/api/participants/{participant.pk}/schedule", SCHEDULE, auth).status_code
        == 403
    )


def test_book_move_cancel_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    auth = _auth(officer)
    client = Client()
    now = timezone.now()
    first = queries.nearest_free_slot(hours_office, now + dt.timedelta(days=3), not_before=now)
    assert first is not None
    booked = _post(
        client,
        f"/api/participants/{participant.pk}/appointments",
        {"type": "device_removal", "starts_at": first.starts_at.isoformat()},
        auth,
    )
    assert booked.status_code == 201, booked.content
    body = booked.json()
    assert body["purpose"] == "Device removal"
    second = queries.nearest_free_slot(
        hours_office, now + dt.timedelta(days=5), not_before=now, avoid_start=first.starts_at
    )
    assert second is not None
    moved = _post(
        client,
        f"/api/appointments/{body['id']}/move",
        {"starts_at": second.starts_at.isoformat()},
        auth,
    )
    assert moved.status_code == 200
    assert moved.json()["starts_at"].startswith(second.starts_at.date().isoformat())
    off_hours = _post(
        client,
        f"/api/appointments/{body['id']}/move",
        {"starts_at": "2030-01-05T03:00:00+00:00"},
        auth,
    )
    assert off_hours.status_code == 422
    cancelled = _post(
        client, f"/api/appointments/{body['id']}/cancel", {"reason": "Device already removed"}, auth
    )
    assert cancelled.json()["status"] == "cancelled"
    listed = client.get(f"/api/participants/{participant.pk}/appointments", **auth).json()
    assert [a["id"] for a in listed] == [body["id"]]
    assert Appointment.objects.get(pk=body["id"]).status_reason == "Device already removed"


def test_appointment_of_another_caseload_cannot_be_cancelled(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    now = timezone.now()
    slot = queries.nearest_free_slot(hours_office, now + dt.timedelta(days=3), not_before=now)
    assert slot is not None
    from ontrack.schedule.services.appointments import appointment_book

    appointment = appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=slot.starts_at
    )
    stranger = make_user(Role.OFFICER)
    response = _post(
        Client(), f"/api/appointments/{appointment.pk}/cancel", {"reason": "x"}, _auth(stranger)
    )
    assert response.status_code == 404
