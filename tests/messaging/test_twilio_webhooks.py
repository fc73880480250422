"""Twilio webhooks: signatures checked against the public URL with the SDK's validator
(Twilio's published example included); forged requests get 403 and store nothing;
status callbacks replayed twice and out of order end in the right status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings
from twilio.request_validator import RequestValidator

from ontrack.messaging.models import InboundMessage, Message, MessageStatus
from ontrack.messaging.providers.twilio import signature_valid
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant
from tests.support import first_phone

pytestmark = pytest.mark.django_db
TOKEN = "12345"
PUBLIC = "https://ontrack.example.org"


@pytest.fixture(autouse=True)
def twilio_settings(settings: Settings) -> None:
    settings.ONTRACK_TWILIO_AUTH_TOKEN = TOKEN
    settings.ONTRACK_PUBLIC_URL = PUBLIC


def post_signed(path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
    """POST as Twilio would: signed over the public URL it called (Django sees another host)."""
    if signature is None:
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + path, params)
    return Client().post(path, params, headers={"X-Twilio-Signature": signature})


def test_twilios_published_example_signature_is_accepted(settings: Settings) -> None:
    # The worked example on Twilio's "Secure webhooks" page.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature_valid(url, params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert not signature_valid(url, {**params, "Digits": "9999"}, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")


def test_signed_inbound_text_is_stored_and_acted_on(speaker: Callable[..., Participant]) -> None:
    participant = speaker("ht")
    response = post_signed(
        "/messaging/twilio/inbound/",
        {
            "MessageSid": "SM1",
            "From": first_phone(participant),
            "To": "+19735550100",
            "Body": "ÈD",
        },
    )
    assert response.status_code == 200
    assert b"<Response>" in response.content
    (received,) = InboundMessage.objects.all()
    assert received.participant == participant
    assert received.action == "help"


def test_forged_inbound_text_is_refused_and_nothing_is_stored(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    params = {"MessageSid": "SM2", "From": first_phone(participant), "Body": "STOP"}
    assert post_signed("/messaging/twilio/inbound/", params, signature="forged=").status_code == 403
    assert Client().post("/messaging/twilio/inbound/", params).status_code == 403  # unsigned
    signed_for_other_body = RequestValidator(TOKEN).compute_signature(
        PUBLIC + "/messaging/twilio/inbound/", {**params, "Body": "hello"}
    )
    assert (
        post_signed(
            "/messaging/twilio/inbound/", params, signature=signed_for_other_body
        ).status_code
        == 403
    )
    assert not InboundMessage.objects.exists()
    assert not participant.messages.exists()


def test_signature_over_the_internal_url_is_refused(speaker: Callable[..., Participant]) -> None:
    """Signed for http://testserver (what Django sees), not the public URL Twilio called."""
    params = {"MessageSid": "SM3", "From": "+19735550142", "Body": "hi"}
    internal = RequestValidator(TOKEN).compute_signature(
        "http://testserver/messaging/twilio/inbound/", params
    )
    assert post_signed("/messaging/twilio/inbound/", params, signature=internal).status_code == 403


def _sent_message(participant: Participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R-1"},
        purpose="receipt",
    )
    assert message is not None
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.SENDING, provider="twilio")
    return message


def _callback(message: Message, status: str, sid: str = "SMout1", **extra: str) -> Any:
    path = f"/messaging/twilio/status/?key={message.idempotency_key}"
    return post_signed(path, {"MessageSid": sid, "MessageStatus": status, **extra})


def test_callbacks_out_of_order_and_twice_end_delivered(
    speaker: Callable[..., Participant],
) -> None:
    message = _sent_message(speaker("es"))
    # "delivered" overtakes our own "sent" write and Twilio's "sent" callback.
    for status in ["delivered", "sent", "queued", "delivered", "sent"]:
        assert _callback(message, status).status_code == 204
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.provider_message_id == "SMout1"
    assert message.sent_at is not None


def test_failure_callback_with_twilio_opt_out_code_records_the_opt_out(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("pt")
    message = _sent_message(participant)
    _callback(message, "sent")
    _callback(message, "failed", ErrorCode="21610")
    _callback(message, "delivered")  # late and contradictory: ignored
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "21610"
    assert participant.sms_opt_out.source == "twilio error 21610"


def test_forged_status_callback_changes_nothing(speaker: Callable[..., Participant]) -> None:
    message = _sent_message(speaker("fr"))
    path = f"/messaging/twilio/status/?key={message.idempotency_key}"
    response = post_signed(
        path, {"MessageSid": "SMx", "MessageStatus": "delivered"}, signature="AAAA"
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING
    assert message.provider_message_id == ""


def test_callback_for_an_unknown_message_is_ignored(db: None) -> None:
    assert (
        post_signed(
            "/messaging/twilio/status/", {"MessageSid": "SMnone", "MessageStatus": "delivered"}
        ).status_code
        == 204
    )
    assert timezone.now()
