"""Portal fixtures: a participant signed in through the real pages, a pending sign-in, the
sign-in text that messaging queued, and a hearing to show among the obligations."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.participants.models import Hearing, Participant
from ontrack.participants.services import hearing_add
from ontrack.portal.services import pin_is_set, pin_set

PHONE = "(973) 555-0142"
PIN = "4812"


@pytest.fixture
def sent_sign_in() -> Callable[[Participant], tuple[str, str]]:
    """The code and link of the last sign-in text queued for the participant, read from
    messaging's outbox as the worker would send it."""
    pytest.importorskip("ontrack.messaging.models", reason="messaging is not built yet")
    from ontrack.messaging.models import Message

    def read(participant: Participant) -> tuple[str, str]:
        message = (
            Message.objects.filter(participant=participant, template_key="portal_sign_in")
            .order_by("-pk")
            .first()
        )
        assert message is not None, "no sign-in text was queued"
        text = message.body
        code = re.search(r"\b\d{6}\b", text)
        link = re.search(r"https?://\S+/me/link/\S+/", text)
        assert code and link, text
        return code.group(0), link.group(0)

    return read


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
def portal_client(sent_sign_in: Callable[[Participant], tuple[str, str]]) -> Callable[..., Client]:
    """A participant signed in through the real pages: number, texted code, PIN."""

    def make(participant: Participant) -> Client:
        if not pin_is_set(participant):
            pin_set(participant, PIN)
        number = participant.phones.first()
        assert number is not None
        client = Client()
        client.post("/me/sign-in/", {"phone": number.number})
        code, _ = sent_sign_in(participant)
        assert client.post("/me/code/", {"code": code}).url == "/me/pin/"
        assert client.post("/me/pin/", {"pin": PIN}).url == "/me/"
        return client

    return make


@pytest.fixture
def hearing_soon() -> Callable[[Participant], Hearing]:
    def make(participant: Participant) -> Hearing:
        return hearing_add(
            participant,
            actor=None,
            scheduled_at=timezone.now() + dt.timedelta(days=5),
            court="Essex County Courthouse",
            court_address="50 W Market St, Newark, NJ 07102",
            kind="pretrial",
        )

    return make


@pytest.fixture
def open_checkin_window() -> Callable[[Participant], object]:
    """An app check-in window open now for the participant (schedule's own services)."""
    pytest.importorskip("ontrack.schedule.services", reason="schedule is not built yet")
    raise NotImplementedError


@pytest.fixture
def checkins_of() -> Callable[[Participant], list[object]]:
    pytest.importorskip("ontrack.schedule.models", reason="schedule is not built yet")
    raise NotImplementedError


@pytest.fixture
def book_appointment() -> Callable[[Participant], object]:
    """An office appointment booked for the participant next week (schedule's services)."""
    pytest.importorskip("ontrack.schedule.services", reason="schedule is not built yet")
    raise NotImplementedError


@pytest.fixture
def reschedule_requests_of() -> Callable[[Participant], list[object]]:
    pytest.importorskip("ontrack.schedule.models", reason="schedule is not built yet")
    raise NotImplementedError
