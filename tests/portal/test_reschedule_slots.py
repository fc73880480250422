"""Asking for another time offers the office's free slots to choose from; the officer's
approval takes the chosen one; the portal shows the request waiting, then what became of it,
in the participant's language."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.messaging.datefmt import format_date
from ontrack.participants.models import Participant
from ontrack.schedule import queries as schedule_queries
from ontrack.schedule.models import Appointment, RescheduleRequest

pytestmark = pytest.mark.django_db


def _offered(page: str) -> list[str]:
    """The times offered in the slot picker, as the ISO instants the page sends back."""
    picker = re.search(r'<select name="slot".*?</select>', page, re.S)
    assert picker is not None, "no slot picker on the page"
    return re.findall(r'<option value="([^"]+)"', picker.group(0))


def _words(instant: dt.datetime, zone: str, language: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return f"{format_date(local.date(), language)}, {local:%H:%M}"


def test_the_reschedule_page_offers_the_offices_free_slots_in_the_participants_words(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    page = portal_client(participant).get(f"/me/appointments/{appointment.pk}/reschedule/")
    offered = _offered(page.content.decode())
    assert offered, "no free slot is offered"
    assert appointment.starts_at.isoformat() not in offered, "its own time is offered"
    first = dt.datetime.fromisoformat(offered[0])
    assert first > timezone.now()
    assert schedule_queries.slot_bounds(appointment.office, first) is not None
    local = first.astimezone(ZoneInfo(participant.time_zone))
    assert f'<optgroup label="{format_date(local.date(), "es")}">' in page.content.decode()
    assert f'<option value="{offered[0]}">{local:%H:%M}</option>' in page.content.decode()


def test_a_chosen_slot_is_shown_waiting_then_taken_when_the_officer_approves(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
    officer: User,
    client_for: Callable[[User], Client],
    reschedule_requests_of: Callable[[Participant], list[RescheduleRequest]],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    client = portal_client(participant)
    url = f"/me/appointments/{appointment.pk}/reschedule/"
    chosen = _offered(client.get(url).content.decode())[2]
    client.post(url, {"slot": chosen, "reason": "Tengo trabajo ese día."})
    (request,) = reschedule_requests_of(participant)
    assert request.preferred_starts_at == dt.datetime.fromisoformat(chosen)

    home = client.get("/me/").content.decode()
    assert "Esperando la decisión de su oficial" in home
    when = _words(request.preferred_starts_at, participant.time_zone, "es")
    assert f"Usted pidió: {when}" in home

    staff = client_for(officer)
    staff_page = staff.get("/schedule/tasks/").content.decode()
    assert "asks for" in staff_page
    staff.post(f"/schedule/requests/{request.pk}/decide/", {"decision": "approve", "note": ""})
    appointment.refresh_from_db()
    assert appointment.starts_at == request.preferred_starts_at

    home = client.get("/me/").content.decode()
    assert "Aceptada: su cita se cambió" in home
    assert f"Nueva hora: {when}" in home


def test_a_slot_that_is_not_offered_is_refused_in_the_participants_language(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
    reschedule_requests_of: Callable[[Participant], list[RescheduleRequest]],
) -> None:
    participant = make_participant(preferred_language="es")
    appointment = book_appointment(participant)
    midnight = appointment.starts_at.replace(hour=4, minute=0)  # 23:00 the night before
    response = portal_client(participant).post(
        f"/me/appointments/{appointment.pk}/reschedule/",
        {"slot": midnight.isoformat(), "reason": "Trabajo."},
    )
    assert "Esa hora ya no está libre. Elija otra." in response.content.decode()
    assert reschedule_requests_of(participant) == []


def test_a_request_with_no_slot_chosen_still_goes_with_the_reason(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    book_appointment: Callable[[Participant], Appointment],
    reschedule_requests_of: Callable[[Participant], list[RescheduleRequest]],
) -> None:
    participant = make_participant(preferred_language="en")
    appointment = book_appointment(participant)
    response = portal_client(participant).post(
        f"/me/appointments/{appointment.pk}/reschedule/",
        {"slot": "", "reason": "None of these suit me: I work weekdays."},
    )
    assert "Your request for another time was sent." in response.content.decode()
    (request,) = reschedule_requests_of(participant)
    assert request.preferred_starts_at is None
    assert Appointment.objects.get(pk=appointment.pk).starts_at == appointment.starts_at
