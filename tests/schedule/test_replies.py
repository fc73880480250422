"""Answers to texted CONFIRM and RESCHEDULE are wholly in the participant's language: the
sentence from schedule's translations and the date from messaging's ``datefmt`` (Django has
no date formats for Haitian Creole)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from ontrack.accounts.models import Office, User
from ontrack.messaging.datefmt import DAYS, MONTHS
from ontrack.messaging.models import Message
from ontrack.messaging.services import inbound_receive
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import Appointment
from ontrack.schedule.services.appointments import appointment_book
from tests.support import first_phone

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def _book(participant: Participant, office: Office, officer: User) -> Appointment:
    now = timezone.now()
    slot = queries.nearest_free_slot(office, now + dt.timedelta(days=3), not_before=now)
    assert slot is not None
    return appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=slot.starts_at
    )


def _text(participant: Participant, body: str) -> str:
    inbound_receive(
        provider="console",
        provider_message_id=str(uuid.uuid4()),
        from_number=first_phone(participant),
        body=body,
        received_at=timezone.now(),
    )
    answer = Message.objects.filter(participant=participant).order_by("-pk").first()
    assert answer is not None
    return answer.body


def _creole_date(starts_at: dt.datetime) -> str:
    local = starts_at.astimezone(NY)
    return f"{DAYS['ht'][local.weekday()]} {local.day} {MONTHS['ht'][local.month - 1]}"


def _no_english_date_words(body: str) -> bool:
    english = {*DAYS["en"], *MONTHS["en"], "AM", "PM"} - {*DAYS["ht"], *MONTHS["ht"]}
    return not any(word in body for word in english)


def test_creole_confirmation_carries_a_creole_date(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="ht")
    appointment = _book(participant, hours_office, officer)
    body = _text(participant, "WI")
    assert body.startswith("Mèsi. Randevou ou ")
    assert body.endswith(" la konfime.")
    assert _creole_date(appointment.starts_at) in body
    assert _no_english_date_words(body), body


def test_creole_reschedule_answer_carries_a_creole_date(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="ht")
    appointment = _book(participant, hours_office, officer)
    body = _text(participant, "CHANJE souple, m ap travay")
    assert body.startswith("Nou resevwa demann ou pou chanje randevou ou ")
    assert _creole_date(appointment.starts_at) in body
    assert _no_english_date_words(body), body


def test_spanish_confirmation_reads_as_spanish(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = _book(participant, hours_office, officer)
    local = appointment.starts_at.astimezone(NY)
    body = _text(participant, "Sí, gracias")
    assert body.startswith("Gracias. Su cita del ")
    assert f"{local.day} de {MONTHS['es'][local.month - 1]} a la" in body
