"""What the portal shows from other apps' codes and services is in the participant's
language: hearing kinds, the "my data" page's names and dates, and services' refusals."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.participants.models import Hearing, Participant
from ontrack.schedule.models import Appointment, CheckinWindow
from tests.support import photo_bytes

pytestmark = pytest.mark.django_db


def test_a_hearings_purpose_is_shown_in_creole(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    hearing_soon: Callable[[Participant], Hearing],
) -> None:
    participant = make_participant(preferred_language="ht")
    hearing_soon(participant)
    page = portal_client(participant).get("/me/").content.decode()
    assert "Konferans anvan jijman" in page
    assert "Pretrial conference" not in page


def test_my_data_names_fields_and_records_in_words_with_local_dates(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="es")
    open_checkin_window(participant)
    page = portal_client(participant).get("/me/my-data/").content.decode()
    assert "Número de caso:" in page
    assert "case_number" not in page
    assert "Horarios de registro de presencia" in page
    assert "schedule.checkinwindow" not in page
    assert "17 de mayo de 1990" in page, "the date of birth in Spanish words"
    assert "1990-05-17" not in page
    assert "Inscrito" in page
    assert "enrolled" not in page


def test_a_refusal_to_reschedule_is_in_the_participants_language(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - dt.timedelta(hours=2),
        ends_at=timezone.now() - dt.timedelta(hours=1),
    )
    response = portal_client(participant).post(
        f"/me/appointments/{appointment.pk}/reschedule/", {"reason": "Trabajo ese día."}
    )
    page = response.content.decode()
    assert "Esta cita ya no se puede cambiar." in page
    assert "This appointment can no longer be changed." not in page


def test_a_refused_checkin_says_why_in_the_participants_language(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_PHOTO_MAX_BYTES = 10
    participant = make_participant(preferred_language="ht")
    open_checkin_window(participant)
    photo = SimpleUploadedFile("me.jpg", photo_bytes(), content_type="image/jpeg")
    response = portal_client(participant).post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": timezone.now().isoformat(),
            "photo": photo,
        },
    )
    assert response.status_code == 422
    assert response.json()["error"] == "Foto a twò gwo."
