"""E-mail through a real SMTP server (aiosmtpd) on a local port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Role, User
from ontrack.messaging import providers
from ontrack.messaging.models import Channel, MessageStatus, OptOut
from ontrack.messaging.outbox import Sender
from ontrack.messaging.providers.base import Attachment
from ontrack.messaging.services import staff_notice_queue
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant
from tests.messaging.sinks import Mailbox, mail_attachments, mail_body

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


def test_a_staff_email_carries_its_attachment_through_the_sender(
    make_user: Callable[..., User], mailbox: Mailbox
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    supervisor.email = "sam@example.org"
    supervisor.save(update_fields=["email"])
    report = Attachment("summary.pdf", "application/pdf", b"%PDF-1.7 a report")
    message = staff_notice_queue(
        user=supervisor,
        channel=Channel.EMAIL,
        subject="Weekly summary",
        body="The numbers are attached.",
        cause="test",
        attachments=[report],
    )
    assert message is not None
    Sender(threading.Event()).run_once()
    (received,) = mailbox.received
    assert received["Subject"] == "Weekly summary"
    assert received.is_multipart()
    assert "The numbers are attached." in mail_body(received)
    assert mail_attachments(received) == [("summary.pdf", "application/pdf", report.content)]
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_text_message_carries_no_attachment(make_user: Callable[..., User]) -> None:
    with pytest.raises(ValueError, match="only an e-mail carries attachments"):
        staff_notice_queue(
            user=make_user(Role.OFFICER),
            channel=Channel.SMS,
            subject="Report",
            body="attached",
            cause="test",
            attachments=[Attachment("a.pdf", "application/pdf", b"%PDF")],
        )
