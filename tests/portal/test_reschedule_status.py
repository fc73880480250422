"""The participant sees what became of each request for another time, in their language."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import Appointment

pytestmark = pytest.mark.django_db


def test_a_pending_request_shows_as_waiting(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    schedule_services.reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Trabajo ese día."
    )
    page = portal_client(participant).get("/me/").content.decode()
    assert "Mis solicitudes de otra hora" in page
    assert "Esperando la decisión de su oficial" in page


def test_a_declined_request_shows_the_refusal_and_the_officers_note(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
    officer: User,
) -> None:
    participant = make_participant(preferred_language="ht")
    appointment = book_appointment(participant)
    request = schedule_services.reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Mwen travay."
    )
    schedule_services.reschedule_decide(
        actor=officer, request_id=request.pk, approve=False, note="Ou dwe vini jou sa a."
    )
    page = portal_client(participant).get("/me/").content.decode()
    assert "Yo pa aksepte: randevou ou rete jan li te ye a" in page
    assert "Ou dwe vini jou sa a." in page


def test_someone_elses_request_is_not_shown(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
) -> None:
    other = make_participant()
    schedule_services.reschedule_request_create(
        participant=other, appointment_id=book_appointment(other).pk, reason="Busy."
    )
    page = portal_client(make_participant()).get("/me/").content.decode()
    assert 'id="reschedule-requests"' not in page
