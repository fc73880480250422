"""Check-in through the real endpoints: stored by schedule, idempotent on the phone's
reference, and a refused camera or location recorded as a technical failure."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ontrack.participants.models import Participant
from ontrack.schedule.models import Checkin, CheckinWindow
from tests.support import photo_bytes

pytestmark = pytest.mark.django_db

JPEG = photo_bytes()


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("me.jpg", JPEG, content_type="image/jpeg")


def test_checkin_post_is_stored_by_schedule_with_a_receipt(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant()
    open_checkin_window(participant)
    client = portal_client(participant)
    ref = str(uuid.uuid4())
    attempted = timezone.now() - dt.timedelta(minutes=3)
    fields = {
        "client_ref": ref,
        "attempted_at": attempted.isoformat(),
        "lat": "40.7357",
        "lon": "-74.1724",
        "accuracy_m": "12",
    }
    response = client.post("/me/check-in/submit/", {**fields, "photo": _photo()})
    assert response.status_code == 200
    receipt = response.json()
    (checkin,) = checkins_of(participant)
    assert receipt["reference"] == checkin.reference
    assert checkin.reference in receipt["message"]
    assert abs((checkin.attempted_at - attempted).total_seconds()) < 1
    # A retry from the phone's outbox (the first answer was lost) gives the same receipt.
    again = client.post("/me/check-in/submit/", {**fields, "photo": _photo()})
    assert again.json()["reference"] == receipt["reference"]
    assert len(checkins_of(participant)) == 1


def test_camera_refused_is_a_technical_failure(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    checkins_of: Callable[[Participant], list[Checkin]],
) -> None:
    participant = make_participant()
    open_checkin_window(participant)
    client = portal_client(participant)
    response = client.post(
        "/me/check-in/failure/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": timezone.now().isoformat(),
            "reason": "camera",
            "detail": "NotAllowedError",
        },
    )
    assert response.status_code == 200
    (checkin,) = checkins_of(participant)
    assert checkin.outcome == "technical_failure"


def test_checkin_without_photo_or_reference_is_refused(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    client = portal_client(make_participant())
    response = client.post("/me/check-in/submit/", {"client_ref": "nope"})
    assert response.status_code == 400


def test_checkin_page_says_what_it_will_ask_in_spanish(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="es")
    open_checkin_window(participant)
    page = portal_client(participant).get("/me/check-in/").content.decode()
    assert "solo ahora" in page
    assert 'capture="user"' in page


def test_checkin_page_without_an_open_window_offers_no_form(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="en")
    page = portal_client(participant).get("/me/check-in/").content.decode()
    assert "There is no check-in open for you now." in page
    assert 'id="checkin-form"' not in page
