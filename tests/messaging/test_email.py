"""E-mail through a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from pytest_django.fixtures import Settings

from ontrack.messaging import providers
from ontrack.messaging.models import Channel, MessageStatus, OptOut
from ontrack.messaging.outbox import Sender
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant
from tests.messaging.sinks import Mailbox

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(settings: Settings) -> Iterator[Mailbox]:
    box = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "console", "email": "smtp"}
    providers.providers_close()
    yield box
    providers.providers_close()
    controller.stop()


def test_essential_notice_after_stop_is_emailed_in_portuguese(
    speaker: Callable[..., Participant], mailbox: Mailbox
) -> None:
    participant = speaker("pt", email="ana@example.org")
    OptOut.objects.create(participant=participant, since=participant.enrolled_at, source="STOP")
    message = message_queue(
        participant=participant,
        template_key="review_outcome",
        context={"outcome": "nível reduzido"},
        purpose="review decided",
        essential=True,
    )
    assert message is not None
    assert message.channel == Channel.EMAIL
    Sender(threading.Event()).run_once()
    (received,) = mailbox.received
    assert received["To"] == "ana@example.org"
    assert received["Message-ID"].startswith(f"<{message.idempotency_key}@")
    payload = received.get_payload(decode=True)
    assert isinstance(payload, bytes), "a single-part e-mail"
    text = payload.decode()
    assert "foi tomada uma decisão" in text
    assert "nível reduzido" in text
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_refused_recipient_fails_the_message(
    speaker: Callable[..., Participant], mailbox: Mailbox
) -> None:
    participant = speaker("en", email="gone@example.org", phones=[])
    mailbox.refuse.add("gone@example.org")
    message = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R"},
        purpose="t",
    )
    assert message is not None
    assert message.channel == Channel.EMAIL
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "550"
