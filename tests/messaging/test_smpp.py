"""SMPP against a test SMSC over a real socket: bind, submit_sm, delivery receipts matched
by message id, mobile-originated replies, enquire_link keep-alive, reconnect."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import OperationalError
from pytest_django.fixtures import Settings

from ontrack.messaging.models import InboundMessage, Message, MessageStatus, OptOut
from ontrack.messaging.outbox import Sender
from ontrack.messaging.providers import provider_named
from ontrack.messaging.providers.smpp import SmppProvider
from ontrack.messaging.services.notices import message_queue, message_send_direct
from ontrack.participants.models import Participant
from tests.support import first_phone

pytestmark = pytest.mark.django_db(transaction=True)


def until(condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait for something another thread does (not a timing assertion: only a bound)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OperationalError:
            pass  # SQLite's shared-cache test database: the other thread holds the table
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def queue(participant: Participant, key: str = "checkin_received", **context: Any) -> Message:
    message = message_queue(
        participant=participant,
        template_key=key,
        context=context or {"reference": "R-9"},
        purpose="t",
    )
    assert message is not None
    return message


def smpp_provider() -> SmppProvider:
    """The SMPP provider the sender uses, whose connection these tests watch."""
    provider = provider_named("smpp")
    assert isinstance(provider, SmppProvider)
    return provider


def test_text_is_submitted_and_its_receipt_marks_it_delivered(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    participant = speaker("ht")
    message = queue(participant)
    assert Sender(threading.Event()).run_once() == 1
    (submitted,) = smsc.submitted
    assert submitted["to"] == first_phone(participant).lstrip("+")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.provider_message_id == "M1"
    smsc.receipt("M1", "DELIVRD")
    until(
        lambda: Message.objects.get(pk=message.pk).status == MessageStatus.DELIVERED, "the receipt"
    )
    # The receipt is acknowledged once its status is stored, so the ack follows the write.
    until(lambda: smsc.delivered_acks == 1, "the SMSC to get its deliver_sm_resp")


def test_undelivered_receipt_is_recorded(speaker: Callable[..., Participant], smsc: Any) -> None:
    message = queue(speaker("es"))
    Sender(threading.Event()).run_once()
    smsc.receipt("M1", "UNDELIV")
    until(
        lambda: Message.objects.get(pk=message.pk).status == MessageStatus.UNDELIVERED,
        "the receipt",
    )


def test_long_spanish_text_goes_in_ucs2_parts(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    participant = speaker("es")
    queue(
        participant,
        "hearing_reminder",
        when="mañana",
        place="Tribunal de Inmigración de Newark, 970 Broad St",
    )
    Sender(threading.Event()).run_once()
    assert len(smsc.submitted) >= 2
    assert {s["data_coding"] for s in smsc.submitted} == {0x08}


def _send_as_written(participant: Participant, text: str) -> str:
    """Send ``text`` through the SMSC and return the number it went to."""
    message_send_direct(participant=participant, body=text, purpose="t")
    Sender(threading.Event()).run_once()
    return participant.phones.get().number


UDH_LENGTH = 6  # 0x05, then IEI 0x00, length 3, reference, count, sequence


@pytest.mark.parametrize("escape", ["€", "{"])
def test_gsm_escape_at_the_split_point_goes_whole_into_the_next_part(
    speaker: Callable[..., Participant], smsc: Any, escape: str
) -> None:
    text = "a" * 152 + escape + " and the rest of the notice"
    phone = _send_as_written(speaker("en"), text)
    assert smsc.texts_to(phone) == [text], "the parts put back together are the text sent"
    first = smsc.submitted[0]
    assert first["data_coding"] == 0x00, (
        "the first part stops before the two-septet escape instead of ending in its half"
    )
    assert first["text"][UDH_LENGTH:] == b"a" * 152, (
        "the first part stops before the two-septet escape instead of ending in its half"
    )


def test_emoji_at_the_ucs2_split_point_goes_whole_into_the_next_part(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    text = "á" + "b" * 65 + "😀" + " and the rest of the notice"
    phone = _send_as_written(speaker("es"), text)
    assert smsc.texts_to(phone) == [text], "the parts put back together are the text sent"
    first = smsc.submitted[0]
    assert first["data_coding"] == 0x08
    assert first["text"][UDH_LENGTH:].decode("utf-16-be") == "á" + "b" * 65, (
        "the first part stops before the surrogate pair instead of ending in its half"
    )


def test_reply_from_a_handset_is_received_as_inbound(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    participant = speaker("es")
    smpp_provider()._connected()
    smsc.mobile_originated(first_phone(participant).lstrip("+"), "PARAR")
    until(
        lambda: Message.objects.filter(
            participant=participant, template_key="stop_confirmed"
        ).exists(),
        "the opt-out and its confirmation",
    )
    assert InboundMessage.objects.get().action == "stop"
    assert OptOut.objects.filter(participant=participant).exists()


def test_refused_submit_fails_the_message_with_the_smsc_reason(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    message = queue(speaker("es"))
    smsc.refuse_with = 0x0B  # invalid destination address
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED
    assert message.error_code == "0x0b"


def test_idle_link_sends_enquire_link(
    speaker: Callable[..., Participant], smsc: Any, settings: Settings
) -> None:
    settings.ONTRACK_SMPP_ENQUIRE_LINK_S = 1
    smpp_provider()._connected()
    until(lambda: smsc.enquire_links >= 1, "an enquire_link")


def test_lost_connection_is_rebound_on_the_next_send(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    participant = speaker("fr")
    queue(participant)
    Sender(threading.Event()).run_once()
    smsc.drop_connections()
    until(lambda: smpp_provider()._client is None, "the loss to be noticed")
    queue(participant)
    Sender(threading.Event()).run_once()
    assert smsc.binds == 2
    assert len(smsc.submitted) == 2


def _long_spanish_text(participant: Participant) -> Message:
    message = queue(
        participant,
        "hearing_reminder",
        when="mañana",
        place="Tribunal de Inmigración de Newark, 970 Broad St",
    )
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    return message


def _status(message: Message) -> str:
    return Message.objects.get(pk=message.pk).status


def test_each_part_of_a_long_text_is_remembered_by_its_message_id(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    message = _long_spanish_text(speaker("es"))
    ids = [s["id"] for s in smsc.submitted]
    assert len(ids) >= 2
    assert message.provider_message_id == ids[0]
    assert list(message.parts.values_list("provider_message_id", flat=True)) == ids


def test_long_text_is_delivered_only_when_its_last_part_is(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    from ontrack.messaging.models import MessagePart

    message = _long_spanish_text(speaker("es"))
    first, *rest = [s["id"] for s in smsc.submitted]
    smsc.receipt(rest[-1], "DELIVRD")  # a later part first: not an unknown message
    until(
        lambda: MessagePart.objects.get(provider_message_id=rest[-1]).status == "delivered",
        "the later part's receipt",
    )
    assert _status(message) == MessageStatus.SENT
    for part_id in [first, *rest[:-1]]:
        smsc.receipt(part_id, "DELIVRD")
    until(lambda: _status(message) == MessageStatus.DELIVERED, "every part's receipt")


def test_long_text_with_one_undelivered_part_is_undelivered(
    speaker: Callable[..., Participant], smsc: Any
) -> None:
    message = _long_spanish_text(speaker("es"))
    first, second = [s["id"] for s in smsc.submitted][:2]
    smsc.receipt(first, "DELIVRD")
    smsc.receipt(second, "UNDELIV")
    until(lambda: _status(message) == MessageStatus.UNDELIVERED, "the undelivered part")
    assert "part 2" in Message.objects.get(pk=message.pk).status_reason
