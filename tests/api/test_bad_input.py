"""Bad input the outside audit sent to the API: each gets a clear 4xx and stores nothing,
never a server error."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.accounts.services import api_token_create
from ontrack.messaging.models import Message
from ontrack.participants.models import Hearing, Participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(officer: User) -> Callable[..., Any]:
    _, secret = api_token_create(user=officer, name="test")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(method: str, path: str, body: Any = None, *, raw: str | None = None) -> Any:
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        return getattr(client, method)(path, data=data, content_type="application/json")

    return call


@pytest.fixture
def person(make_participant: Callable[..., Participant]) -> Participant:
    return make_participant()


def test_date_times_without_a_time_zone_are_refused(api: Any, person: Participant) -> None:
    for path in (
        f"/api/participants/{person.pk}/positions?start=2026-03-01T00:00:00"
        "&end=2026-03-02T00:00:00%2B00:00",
        f"/api/participants/{person.pk}/checkin-windows?since=2026-03-01T00:00:00",
    ):
        response = api("get", path)
        assert response.status_code == 422, (path, response.content)
        assert "timezone" in response.content.decode(), path
    response = api(
        "post",
        f"/api/participants/{person.pk}/appointments",
        {"starts_at": "2027-03-01T10:00:00", "kind": "office", "purpose": "routine_checkin"},
    )
    assert response.status_code == 422, response.content


def test_a_hearing_in_the_year_9999_is_refused(api: Any, person: Participant) -> None:
    hearing = {"kind": "master_calendar", "court": "Newark Immigration Court"}
    response = api(
        "post",
        f"/api/participants/{person.pk}/hearings",
        {**hearing, "scheduled_at": "9999-12-31T23:00:00+00:00"},
    )
    assert response.status_code == 422, response.content
    assert "year" in response.content.decode()
    assert not Hearing.objects.filter(participant=person).exists()
    accepted = api(
        "post",
        f"/api/participants/{person.pk}/hearings",
        {**hearing, "scheduled_at": "2027-02-03T09:00:00-05:00"},
    )
    assert accepted.status_code == 201, accepted.content


def test_a_patch_whose_body_is_not_an_object_is_refused(api: Any, person: Participant) -> None:
    for raw in ("[]", '"Ana"', "42", "null"):
        response = api("patch", f"/api/participants/{person.pk}", raw=raw)
        assert response.status_code in (400, 422), (raw, response.status_code)


def test_nul_bytes_and_impossible_birth_dates_are_refused(api: Any, person: Participant) -> None:
    nul = api("patch", f"/api/participants/{person.pk}", {"given_name": "An\x00a"})
    assert nul.status_code in (400, 422)
    for born in ("1800-01-01", (timezone.localdate() + dt.timedelta(days=1)).isoformat()):
        response = api("patch", f"/api/participants/{person.pk}", {"date_of_birth": born})
        assert response.status_code == 422, (born, response.content)
    person.refresh_from_db()
    assert person.given_name == "María"
    assert person.date_of_birth == dt.date(1990, 5, 17)


def test_a_text_longer_than_ten_segments_is_refused(api: Any, person: Participant) -> None:
    response = api("post", f"/api/participants/{person.pk}/messages", {"body": "Hola " * 400})
    assert response.status_code == 422, response.content
    assert "segments" in response.content.decode()
    assert not Message.objects.filter(participant=person).exists()


def test_a_staff_members_api_requests_are_throttled(
    api: Any, person: Participant, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.core.cache import cache

    from ontrack.api import api as ninja_api

    cache.clear()  # earlier tests' requests by a user with the same id
    throttles = ninja_api.throttle
    assert isinstance(throttles, list), "the API sets its throttles as a list"
    [throttle] = throttles
    monkeypatch.setattr(throttle, "num_requests", 3)
    monkeypatch.setattr(throttle, "duration", 60)
    answers = [api("get", f"/api/participants/{person.pk}").status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200]
    assert answers[3:] == [429, 429]
