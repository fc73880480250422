"""SMPP against a test SMSC over a real socket: bind, submit_sm, delivery receipts matched
by message id, mobile-originated replies, enquire_link keep-alive, reconnect."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import OperationalError

from ontrack.messaging.models import InboundMessage, Message, MessageStatus, OptOut
from ontrack.messaging.outbox import Sender
from ontrack.messaging.providers import provider_named
from ontrack.messaging.services import message_queue

pytestmark = pytest.mark.django_db(transaction=True)


def until(condition, what: str, timeout: float = 10.0) -> None:
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


def queue(participant, key="checkin_received", **context):
    message = message_queue(
        participant=participant,
        template_key=key,
        context=context or {"reference": "R-9"},
        purpose="t",
    )
    assert message is not None
    return message


def test_text_is_submitted_and_its_receipt_marks_it_delivered(speaker, smsc):
    participant = speaker("ht")
    message = queue(participant)
    assert Sender(threading.Event()).run_once() == 1
    (submitted,) = smsc.submitted
    assert submitted["to"] == participant.phones.first().number.lstrip("+")
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_message_id == "M1"
    smsc.receipt("M1", "DELIVRD")
    until(
        lambda: Message.objects.get(pk=message.pk).status == MessageStatus.DELIVERED, "the receipt"
    )
    # The receipt is acknowledged once its status is stored, so the ack follows the write.
    until(lambda: smsc.delivered_acks == 1, "the SMSC to get its deliver_sm_resp")


def test_undelivered_receipt_is_recorded(speaker, smsc):
    message = queue(speaker("es"))
    Sender(threading.Event()).run_once()
    smsc.receipt("M1", "UNDELIV")
    until(
        lambda: Message.objects.get(pk=message.pk).status == MessageStatus.UNDELIVERED,
        "the receipt",
    )


def test_long_spanish_text_goes_in_ucs2_parts(speaker, smsc):
    participant = speaker("es")
    queue(
        participant,
        "hearing_reminder",
        when="mañana",
        place="Tribunal de Inmigración de Newark, 970 Broad St",
    )
    Sender(threading.Event()).run_once()
    assert len(smsc.submitted) >= 2 and {s["data_coding"] for s in smsc.submitted} == {0x08}


def test_reply_from_a_handset_is_received_as_inbound(speaker, smsc):
    participant = speaker("es")
    provider = provider_named("smpp")
    provider._connected()
    smsc.mobile_originated(participant.phones.first().number.lstrip("+"), "PARAR")
    until(
        lambda: Message.objects.filter(
            participant=participant, template_key="stop_confirmed"
        ).exists(),
        "the opt-out and its confirmation",
    )
    assert InboundMessage.objects.get().action == "stop"
    assert OptOut.objects.filter(participant=participant).exists()


def test_refused_submit_fails_the_message_with_the_smsc_reason(speaker, smsc):
    message = queue(speaker("es"))
    smsc.refuse_with = 0x0B  # invalid destination address
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "0x0b"


def test_idle_link_sends_enquire_link(speaker, smsc, settings):
    settings.ONTRACK_SMPP_ENQUIRE_LINK_S = 1
    provider_named("smpp")._connected()
    until(lambda: smsc.enquire_links >= 1, "an enquire_link")


def test_lost_connection_is_rebound_on_the_next_send(speaker, smsc):
    participant = speaker("fr")
    queue(participant)
    Sender(threading.Event()).run_once()
    smsc.drop_connections()
    until(lambda: provider_named("smpp")._client is None, "the loss to be noticed")
    queue(participant)
    Sender(threading.Event()).run_once()
    assert smsc.binds == 2 and len(smsc.submitted) == 2


def _long_spanish_text(participant):
    message = queue(
        participant,
        "hearing_reminder",
        when="mañana",
        place="Tribunal de Inmigración de Newark, 970 Broad St",
    )
    Sender(threading.Event()).run_once()
    message.refresh_from_db()
    return message


def _status(message) -> str:
    return Message.objects.get(pk=message.pk).status


def test_each_part_of_a_long_text_is_remembered_by_its_message_id(speaker, smsc):
    message = _long_spanish_text(speaker("es"))
    ids = [s["id"] for s in smsc.submitted]
    assert len(ids) >= 2 and message.provider_message_id == ids[0]
    assert list(message.parts.values_list("provider_message_id", flat=True)) == ids


def test_long_text_is_delivered_only_when_its_last_part_is(speaker, smsc):
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


def test_long_text_with_one_undelivered_part_is_undelivered(speaker, smsc):
    message = _long_spanish_text(speaker("es"))
    first, second = [s["id"] for s in smsc.submitted][:2]
    smsc.receipt(first, "DELIVRD")
    smsc.receipt(second, "UNDELIV")
    until(lambda: _status(message) == MessageStatus.UNDELIVERED, "the undelivered part")
    assert "part 2" in Message.objects.get(pk=message.pk).status_reason
