"""The sender: claims due rows, one send per message, forward-only statuses, retries at +5
and +10 minutes, reconciliation of rows a dead worker left in "sending", fair share."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.utils import timezone

from ontrack.messaging.models import Message, MessageStatus, Traffic
from ontrack.messaging.outbox import Sender, claim, reconcile
from ontrack.messaging.providers.base import Lookup, ProviderError
from ontrack.messaging.services import message_queue, message_status_set

pytestmark = pytest.mark.django_db
S = MessageStatus


def queue(participant, **kw) -> Message:
    message = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R-7"},
        purpose="receipt",
        **kw,
    )
    assert message is not None
    return message


def sender() -> Sender:
    return Sender(threading.Event())


def test_due_message_is_sent_once_and_recorded(speaker, scripted):
    message = queue(speaker("es"))
    assert sender().run_once() == 1
    assert sender().run_once() == 0
    message.refresh_from_db()
    assert message.status == S.SENT and message.provider_message_id == "S1"
    assert [m.idempotency_key for m in scripted.sent] == [message.idempotency_key]
    assert scripted.sent[0].body.startswith("Registro recibido")


def test_message_for_later_waits(speaker, scripted):
    queue(speaker("es"), send_at=timezone.now() + dt.timedelta(hours=1))
    assert sender().run_once() == 0


def test_transient_errors_retry_at_five_then_ten_minutes_then_fail(speaker, scripted):
    message = queue(speaker("es"))
    scripted.errors = [ProviderError("timeout")] * 3
    started = timezone.now()
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.ERRORED
    assert dt.timedelta(minutes=5) <= message.send_at - started < dt.timedelta(minutes=6)
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now())
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.ERRORED
    assert dt.timedelta(minutes=10) <= message.send_at - started < dt.timedelta(minutes=11)
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now())
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.FAILED and message.attempts == 3 and scripted.sent == []


def test_permanent_error_fails_at_once_and_opt_out_error_records_stop(speaker, scripted, settings):
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "scripted", "email": "scripted"}
    participant = speaker("pt")
    message = queue(participant)
    scripted.errors = [ProviderError("bad number", code="21211", permanent=True)]
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.FAILED and message.error_code == "21211"


def test_row_left_sending_by_a_dead_worker_is_not_sent_again_when_the_provider_has_it(
    speaker, scripted
):
    message = queue(speaker("es"))
    now = timezone.now()
    assert len(claim(channel="sms", provider_name="scripted", limit=10, now=now)) == 1
    # The worker died here, after the provider accepted it but before the "sent" write.
    scripted.lookups[message.idempotency_key] = Lookup(True, "SMalready")
    assert reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2)) == 1
    message.refresh_from_db()
    assert message.status == S.SENT and message.provider_message_id == "SMalready"
    assert sender().run_once() == 0 and scripted.sent == []


def test_row_left_sending_before_the_provider_saw_it_is_sent_once(speaker, scripted):
    message = queue(speaker("es"))
    now = timezone.now()
    claim(channel="sms", provider_name="scripted", limit=10, now=now)
    reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2))
    assert sender().run_once() == 1
    message.refresh_from_db()
    assert message.status == S.SENT and len(scripted.sent) == 1


def test_row_whose_fate_the_provider_cannot_tell_is_failed_not_resent(speaker, scripted):
    message = queue(speaker("es"))
    now = timezone.now()
    claim(channel="sms", provider_name="scripted", limit=10, now=now)
    scripted.lookups[message.idempotency_key] = Lookup(accepted=None)
    reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2))
    message.refresh_from_db()
    assert message.status == S.FAILED and "not resent" in message.status_reason
    assert sender().run_once() == 0


def test_rows_within_their_lease_are_left_alone(speaker, scripted):
    queue(speaker("es"))
    now = timezone.now()
    claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert reconcile(now=now + dt.timedelta(seconds=30), lease=dt.timedelta(minutes=2)) == 0


def test_a_claimed_row_is_not_claimed_again(speaker, scripted):
    queue(speaker("es"))
    now = timezone.now()
    assert len(claim(channel="sms", provider_name="scripted", limit=10, now=now)) == 1
    assert claim(channel="sms", provider_name="scripted", limit=10, now=now) == []


def test_one_to_one_texts_get_their_share_while_bulk_drains(speaker, scripted):
    participant = speaker("es")
    for _ in range(8):
        Message.objects.filter(pk=queue(participant).pk).update(traffic=Traffic.BULK)
    direct = [queue(participant) for _ in range(2)]
    rows = claim(channel="sms", provider_name="scripted", limit=4, now=timezone.now())
    assert {r.pk for r in rows} >= {m.pk for m in direct}
    assert len(rows) == 4


def test_statuses_only_move_forward(speaker):
    message = queue(speaker("es"))
    assert message_status_set(message.pk, S.SENDING)
    assert message_status_set(message.pk, S.DELIVERED)
    assert not message_status_set(message.pk, S.SENT)
    assert not message_status_set(message.pk, S.QUEUED)
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_sender_stops_when_asked(scripted):
    stop = threading.Event()
    stop.set()
    Sender(stop).run(idle_wait=0.01)  # returns at once instead of looping


def test_rows_claimed_but_not_sent_when_stopping_are_given_back(speaker, scripted, settings):
    settings.ONTRACK_MESSAGING_RATES = {"scripted": (1.0, "messages")}
    participant = speaker("es")
    first, second = queue(participant), queue(participant)
    stop = threading.Event()
    stop.set()  # asked to stop while waiting for the rate limit
    assert Sender(stop).run_once() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.SENT
    assert second.status == S.ERRORED and second.attempts == 0
    assert sender().run_once() == 1  # the next worker sends it at once
    assert [m.idempotency_key for m in scripted.sent] == [
        first.idempotency_key,
        second.idempotency_key,
    ]
