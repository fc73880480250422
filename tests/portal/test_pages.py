"""The signed-in pages: obligations in the participant's language, requests, their data."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import User
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Hearing, Participant, ReviewRequest
from ontrack.schedule.models import Appointment, RescheduleRequest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "heading", "hearing_word"),
    [
        ("es", "Mis próximas obligaciones", "Abrir el mapa"),
        ("ht", "Pwochen obligasyon mwen yo", "Louvri kat la"),
    ],
)
def test_obligations_page_is_in_the_participants_language(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    hearing_soon: Callable[[Participant], Hearing],
    language: str,
    heading: str,
    hearing_word: str,
) -> None:
    participant = make_participant(preferred_language=language)
    hearing_soon(participant)
    page = portal_client(participant).get("/me/").content.decode()
    assert f'<html lang="{language}">' in page
    assert heading in page
    assert hearing_word in page
    assert "Essex County Courthouse" in page


def test_haitian_creole_dates_use_creole_month_names(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    hearing_soon: Callable[[Participant], Hearing],
) -> None:
    participant = make_participant(preferred_language="ht")
    hearing = hearing_soon(participant)
    page = portal_client(participant).get("/me/").content.decode()
    english = hearing.scheduled_at.strftime("%B")
    assert english not in page


def test_language_switcher_changes_the_page_language(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="es")
    client = portal_client(participant)
    client.post("/me/language/", {"language": "fr", "next": "/me/"})
    assert "Mes prochaines obligations" in client.get("/me/").content.decode()


def test_sign_in_page_has_a_switcher_and_follows_the_browser(db: None) -> None:
    from django.test import Client

    page = Client(HTTP_ACCEPT_LANGUAGE="pt").get("/me/sign-in/").content.decode()
    assert "Enviar um código para mim" in page
    assert 'name="language"' in page
    assert "Kreyòl ayisyen" in page


def test_review_request_waits_for_a_decision_and_shows_to_staff(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    client = portal_client(participant)
    response = client.post("/me/review/", {"reason": "Ocho meses sin faltas."})
    assert response.status_code == 200
    request = ReviewRequest.objects.get(participant=participant)
    assert request.status == "pending"
    assert request.decided_by is None
    staff_page = client_for(officer).get(f"/participants/{participant.pk}/").content.decode()
    assert "Ocho meses sin faltas." in staff_page


def test_my_data_download_is_access_logged_as_self_service(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(given_name="Guerline")
    client = portal_client(participant)
    assert "Guerline" in client.get("/me/my-data/").content.decode()
    response = client.get("/me/my-data/download/")
    assert response["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(response.getvalue()))
    files = {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    assert "Guerline" in files["00 Sobre mí.csv"]
    assert any(name.endswith(" Números de teléfono.csv") for name in files)
    assert not any("hash" in text.lower() for text in files.values())
    entry = AccessLogEntry.objects.filter(participant_id=participant.pk, action="export").get()
    assert entry.user_id is None
    assert "participant self-service" in entry.what


def test_pages_need_a_signed_in_participant(db: None) -> None:
    from django.test import Client

    client = Client()
    for path in ("/me/", "/me/check-in/", "/me/my-data/download/", "/me/review/"):
        assert client.get(path)["Location"] == "/me/sign-in/"


def test_reschedule_request_from_the_obligations_page(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
    reschedule_requests_of: Callable[[Participant], list[RescheduleRequest]],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    client = portal_client(participant)
    page = client.get("/me/").content.decode()
    assert f"/me/appointments/{appointment.pk}/reschedule/" in page
    response = client.post(
        f"/me/appointments/{appointment.pk}/reschedule/", {"reason": "Tengo trabajo ese día."}
    )
    assert "Su solicitud de otra hora fue enviada." in response.content.decode()
    (request,) = reschedule_requests_of(participant)
    assert request.reason == "Tengo trabajo ese día."


def test_cannot_ask_to_move_someone_elses_appointment(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
) -> None:
    other = book_appointment(make_participant())
    client = portal_client(make_participant(phones=["(973) 555-0177"]))
    response = client.post(f"/me/appointments/{other.pk}/reschedule/", {"reason": "x"})
    assert response.status_code == 404
