"""Sign-in codes, one-time links and PINs never reach staff: the outbox shows placeholders,
the provider gets the real text, and a texted PIN is recorded as "[PIN]"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.messaging.models import InboundMessage, Message
from ontrack.messaging.outbox import Sender
from ontrack.messaging.services.received_texts import inbound_receive
from ontrack.participants.models import Participant
from tests.staff_sign_in import verify_session
from tests.support import first_phone, officer_of

pytestmark = pytest.mark.django_db


def _sign_in_requested(participant: Participant) -> Message:
    Client().post("/me/sign-in/", {"phone": first_phone(participant)})
    return Message.objects.get(participant=participant, template_key="portal_sign_in")


def test_staff_see_placeholders_and_the_provider_gets_the_code(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    scripted: Any,
) -> None:
    import threading

    participant = make_participant(preferred_language="en")
    message = _sign_in_requested(participant)
    assert "[sign-in code]" in message.body
    assert "[one-time link]" in message.body
    assert not re.search(r"\b\d{6}\b", message.body)
    officer = Client()
    operator = make_user(Role.OPERATOR, office=None)
    officer.force_login(operator)
    verify_session(officer, operator)
    page = officer.get(f"/messaging/participants/{participant.pk}/").content.decode()
    assert "[sign-in code]" in page
    assert not re.search(r"code is \d{6}", page)
    _, token = api_token_create(user=officer_of(participant), name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {token}").get(
        f"/api/messages?participant={participant.pk}"
    )
    assert "[sign-in code]" in api.content.decode()
    assert not re.search(r"code is \d{6}", api.content.decode())

    assert Sender(threading.Event()).run_once() == 1
    [sent] = scripted.sent
    assert re.search(r"code is \d{6}", sent.body)
    assert "/me/link/" in sent.body
    message.refresh_from_db()
    assert message.status == "sent", "sealed until sent"
    assert message.sealed_body == "", "sealed until sent"


def test_a_texted_pin_is_recorded_as_a_placeholder(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant(preferred_language="en")
    inbound_receive(
        provider="console",
        provider_message_id="in-1",
        from_number=first_phone(participant),
        body="1357",
        received_at=timezone.now(),
    )
    assert InboundMessage.objects.get(provider_message_id="in-1").body == "[PIN]"
