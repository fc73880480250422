"""Portal fixtures: a participant signed in through the real pages, a pending sign-in, the
sign-in text that messaging queued, and a hearing to show among the obligations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office
from ontrack.participants.models import Hearing, Participant
from ontrack.participants.services import hearing_add
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import Appointment, Checkin, CheckinWindow, RescheduleRequest
from ontrack.schedule.queries import nearest_free_slot


@pytest.fixture
def portal_client_pending() -> Callable[[Participant], Client]:
    """A browser that has passed the code step and now faces the PIN page."""

    def make(participant: Participant) -> Client:
        client = Client()
        session = client.session
        session["portal_pending"] = participant.pk
        session.save()
        return client

    return make


@pytest.fixture
def hearing_soon() -> Callable[[Participant], Hearing]:
    def make(participant: Participant) -> Hearing:
        return hearing_add(
            participant,
            actor=SYSTEM,
            scheduled_at=timezone.now() + dt.timedelta(days=5),
            court="Essex County Courthouse",
            court_address="50 W Market St, Newark, NJ 07102",
            kind="pretrial",
        )

    return make


@pytest.fixture
def open_checkin_window() -> Callable[[Participant], CheckinWindow]:
    """An ad-hoc app check-in window open now for the participant (schedule's services)."""

    def make(participant: Participant) -> CheckinWindow:
        now = timezone.now()
        return schedule_services.window_adhoc(
            participant,
            actor=SYSTEM,
            opens_at=now - dt.timedelta(hours=1),
            closes_at=now + dt.timedelta(hours=2),
            now=now - dt.timedelta(hours=1),
        )

    return make


@pytest.fixture
def checkins_of() -> Callable[[Participant], list[Checkin]]:
    def read(participant: Participant) -> list[Checkin]:
        return list(Checkin.objects.filter(participant=participant).order_by("pk"))

    return read


@pytest.fixture
def book_appointment(office: Office) -> Callable[[Participant], Appointment]:
    """A routine office appointment booked for the participant in the nearest free slot
    a week from now, through schedule's services."""

    if not office.opening_hours:
        office.opening_hours = {
            d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
        }
        office.save()

    def make(participant: Participant) -> Appointment:
        now = timezone.now()
        slot = nearest_free_slot(office, now + dt.timedelta(days=7), not_before=now)
        assert slot is not None, "the test office has no free slot"
        return schedule_services.appointment_book(
            participant, actor=SYSTEM, type="routine_checkin", starts_at=slot.starts_at
        )

    return make


@pytest.fixture
def reschedule_requests_of() -> Callable[[Participant], list[RescheduleRequest]]:
    def read(participant: Participant) -> list[RescheduleRequest]:
        return list(RescheduleRequest.objects.filter(participant=participant).order_by("pk"))

    return read
