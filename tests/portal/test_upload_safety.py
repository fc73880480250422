"""Check-in photos are decoded and re-encoded: what is not a photo is refused, what is kept
is a fresh JPEG without the phone's metadata, served to staff as an image and nothing else."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.schedule.models import Checkin
from tests.staff_sign_in import verify_session

pytestmark = pytest.mark.django_db

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="fetch(\'/api/participants\')">'
    b"<script>alert(document.cookie)</script></svg>"
)


def _submit(client: Client, data: bytes, content_type: str) -> Any:
    return client.post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": timezone.now().isoformat(),
            "photo": SimpleUploadedFile("photo", data, content_type=content_type),
        },
    )


def _png_with_gps() -> bytes:
    image = Image.new("RGB", (800, 600), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (40.0, 44.0, 8.5), 3: "W", 4: (74.0, 10.0, 20.1)}  # GPS IFD
    out = io.BytesIO()
    image.save(out, format="PNG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (SVG, "image/svg+xml"),
        (SVG, "image/png"),
        (b"<html><script>alert(1)</script></html>", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 40, "image/gif"),
    ],
)
def test_what_is_not_a_photo_is_refused_and_nothing_is_stored(
    make_participant: Callable[..., Participant],
    portal_client: Callable[[Participant], Client],
    open_checkin_window: Callable[[Participant], Any],
    data: bytes,
    content_type: str,
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    response = _submit(portal_client(participant), data, content_type)
    assert response.status_code == 422
    assert "could not be read" in response.json()["error"]
    assert not Checkin.objects.filter(participant=participant).exists()


def test_a_kept_photo_is_a_new_jpeg_without_the_phones_gps_and_served_as_an_image(
    make_participant: Callable[..., Participant],
    portal_client: Callable[[Participant], Client],
    open_checkin_window: Callable[[Participant], Any],
    officer: User,
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    assert _submit(portal_client(participant), _png_with_gps(), "image/png").status_code == 200
    checkin = Checkin.objects.get(participant=participant)
    assert checkin.photo_content_type == "image/jpeg"
    with checkin.photo.open("rb") as stored, Image.open(stored) as image:
        assert image.format == "JPEG"
        assert image.size == (800, 600)
        assert not image.getexif(), "no EXIF (and so no GPS) survives"
    staff = Client()
    staff.force_login(officer)
    verify_session(staff, officer)
    served = staff.get(f"/schedule/checkins/{checkin.pk}/photo/")
    assert served["Content-Type"] == "image/jpeg"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert served["Content-Disposition"].startswith("inline;")


def test_an_impossible_attempt_time_is_a_clear_400_not_a_server_error(
    make_participant: Callable[..., Participant],
    portal_client: Callable[[Participant], Client],
    open_checkin_window: Callable[[Participant], Any],
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    response = portal_client(participant).post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": "2026-02-30T10:00:00+00:00",
            "photo": SimpleUploadedFile("me.jpg", b"x", content_type="image/jpeg"),
        },
    )
    assert response.status_code == 400
