"""The sender: claims due rows, one send per message, forward-only statuses, retries at +5
and +10 minutes, reconciliation of rows a dead worker left in "sending", fair share."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.messaging.models import Message, MessageStatus, Traffic
from ontrack.messaging.outbox import Sender, _record_handed, claim, reconcile
from ontrack.messaging.providers.base import Lookup, ProviderError
from ontrack.messaging.services.delivery_status import message_status_set
from ontrack.messaging.services.notices import message_queue
from ontrack.participants.models import Participant

pytestmark = pytest.mark.django_db
S = MessageStatus


def queue(participant: Participant, **kw: Any) -> Message:
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


def test_due_message_is_sent_once_and_recorded(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    message = queue(speaker("es"))
    assert sender().run_once() == 1
    assert sender().run_once() == 0
    message.refresh_from_db()
    assert message.status == S.SENT
    assert message.provider_message_id == "S1"
    assert [m.idempotency_key for m in scripted.sent] == [message.idempotency_key]
    assert scripted.sent[0].body.startswith("Registro recibido")


def test_message_for_later_waits(speaker: Callable[..., Participant], scripted: Any) -> None:
    queue(speaker("es"), send_at=timezone.now() + dt.timedelta(hours=1))
    assert sender().run_once() == 0


def test_transient_errors_retry_at_five_then_ten_minutes_then_fail(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
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
    assert message.status == S.FAILED
    assert message.attempts == 3
    assert scripted.sent == []


def test_permanent_error_fails_at_once_and_opt_out_error_records_stop(
    speaker: Callable[..., Participant], scripted: Any, settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_PROVIDERS = {"sms": "scripted", "email": "scripted"}
    participant = speaker("pt")
    message = queue(participant)
    scripted.errors = [ProviderError("bad number", code="21211", permanent=True)]
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.FAILED
    assert message.error_code == "21211"


def test_row_left_sending_by_a_dead_worker_is_not_sent_again_when_the_provider_has_it(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    message = queue(speaker("es"))
    now = timezone.now()
    [row] = claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert _record_handed(row)
    # The worker died here, after the provider accepted it but before the "sent" write.
    scripted.lookups[message.idempotency_key] = Lookup(True, "SMalready")
    assert reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2)) == 1
    message.refresh_from_db()
    assert message.status == S.SENT
    assert message.provider_message_id == "SMalready"
    assert sender().run_once() == 0
    assert scripted.sent == []


def test_row_handed_over_but_unknown_to_the_provider_is_sent_once(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    message = queue(speaker("es"))
    now = timezone.now()
    [row] = claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert _record_handed(row)  # the worker died before the provider took it
    scripted.lookups[message.idempotency_key] = Lookup(accepted=False)
    reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2))
    assert sender().run_once() == 1
    message.refresh_from_db()
    assert message.status == S.SENT
    assert len(scripted.sent) == 1


def test_row_whose_fate_the_provider_cannot_tell_is_failed_not_resent(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    message = queue(speaker("es"))
    now = timezone.now()
    [row] = claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert _record_handed(row)
    scripted.lookups[message.idempotency_key] = Lookup(accepted=None)
    reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2))
    message.refresh_from_db()
    assert message.status == S.FAILED
    assert "not resent" in message.status_reason
    assert sender().run_once() == 0


def test_rows_claimed_but_never_handed_over_go_back_to_the_queue_without_asking(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    """A dead worker's claim covered a whole batch; only the message it was handing over
    can be in doubt. The others are sent, even by a provider that cannot be asked."""
    participant = speaker("es")
    handed, waiting = queue(participant), queue(participant)
    now = timezone.now()
    rows = claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert [row.pk for row in rows] == [handed.pk, waiting.pk]
    assert _record_handed(rows[0])
    scripted.lookups[handed.idempotency_key] = Lookup(accepted=None)  # cannot tell
    assert reconcile(now=now + dt.timedelta(minutes=5), lease=dt.timedelta(minutes=2)) == 2
    handed.refresh_from_db()
    waiting.refresh_from_db()
    assert handed.status == S.FAILED
    assert waiting.status == S.ERRORED
    assert waiting.attempts == 0
    assert sender().run_once() == 1
    waiting.refresh_from_db()
    assert waiting.status == S.SENT
    assert [m.idempotency_key for m in scripted.sent] == [waiting.idempotency_key]


def test_rows_within_their_lease_are_left_alone(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    queue(speaker("es"))
    now = timezone.now()
    claim(channel="sms", provider_name="scripted", limit=10, now=now)
    assert reconcile(now=now + dt.timedelta(seconds=30), lease=dt.timedelta(minutes=2)) == 0


def test_a_claimed_row_is_not_claimed_again(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    queue(speaker("es"))
    now = timezone.now()
    assert len(claim(channel="sms", provider_name="scripted", limit=10, now=now)) == 1
    assert claim(channel="sms", provider_name="scripted", limit=10, now=now) == []


def test_one_to_one_texts_get_their_share_while_bulk_drains(
    speaker: Callable[..., Participant], scripted: Any
) -> None:
    participant = speaker("es")
    for _ in range(8):
        Message.objects.filter(pk=queue(participant).pk).update(traffic=Traffic.BULK)
    direct = [queue(participant) for _ in range(2)]
    rows = claim(channel="sms", provider_name="scripted", limit=4, now=timezone.now())
    assert {r.pk for r in rows} >= {m.pk for m in direct}
    assert len(rows) == 4


def test_statuses_only_move_forward(speaker: Callable[..., Participant]) -> None:
    message = queue(speaker("es"))
    assert message_status_set(message.pk, S.SENDING)
    assert message_status_set(message.pk, S.DELIVERED)
    assert not message_status_set(message.pk, S.SENT)
    assert not message_status_set(message.pk, S.QUEUED)
    message.refresh_from_db()
    assert message.status == S.DELIVERED


def test_sender_stops_when_asked(scripted: Any) -> None:
    stop = threading.Event()
    stop.set()
    Sender(stop).run(idle_wait=0.01)  # returns at once instead of looping


def test_rows_claimed_but_not_sent_when_stopping_are_given_back(
    speaker: Callable[..., Participant], scripted: Any, settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_RATES = {"scripted": (1.0, "messages")}
    participant = speaker("es")
    first, second = queue(participant), queue(participant)
    stop = threading.Event()
    stop.set()  # asked to stop while waiting for the rate limit
    assert Sender(stop).run_once() == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == S.SENT
    assert second.status == S.ERRORED
    assert second.attempts == 0
    assert sender().run_once() == 1  # the next worker sends it at once
    assert [m.idempotency_key for m in scripted.sent] == [
        first.idempotency_key,
        second.idempotency_key,
    ]


# --- an opt-out error on an essential notice -------------------------------------------------


@pytest.fixture
def opted_out_code(monkeypatch: pytest.MonkeyPatch) -> ProviderError:
    """The scripted provider says "21610" as Twilio does for a recipient who opted out."""
    from ontrack.messaging.services.opt_out import OPT_OUT_ERRORS

    monkeypatch.setitem(OPT_OUT_ERRORS, "scripted", frozenset({"21610"}))
    return ProviderError("Attempt to send to unsubscribed recipient", code="21610", permanent=True)


def _court_reminder(participant: Participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="hearing_reminder",
        context={"when": timezone.now() + dt.timedelta(days=3), "place": "970 Broad St"},
        purpose="hearing reminder",
    )
    assert message is not None
    assert message.essential
    return message


def test_opted_out_error_on_a_court_reminder_sends_it_by_e_mail(
    speaker: Callable[..., Participant], scripted: Any, opted_out_code: ProviderError
) -> None:
    from ontrack.messaging.models import OptOut

    participant = speaker("es", email="maria@example.org")
    reminder = _court_reminder(participant)
    scripted.errors = [opted_out_code]
    sender().run_once()
    reminder.refresh_from_db()
    assert reminder.status == S.FAILED
    assert reminder.error_code == "21610"
    assert OptOut.objects.filter(participant=participant).exists()
    instead = Message.objects.get(participant=participant, channel="email")
    assert instead.body == reminder.body
    assert instead.template_key == "hearing_reminder"
    assert f"message {instead.pk}" in reminder.status_reason
    sender().run_once()
    assert [m.to for m in scripted.sent] == ["maria@example.org"]


def test_opted_out_error_on_a_court_reminder_without_e_mail_holds_it_for_the_officer(
    speaker: Callable[..., Participant], scripted: Any, opted_out_code: ProviderError
) -> None:
    participant = speaker("ht")
    _court_reminder(participant)
    scripted.errors = [opted_out_code]
    sender().run_once()
    held = Message.objects.get(participant=participant, channel="officer")
    assert held.status == S.HELD


def test_opted_out_error_on_a_receipt_that_is_not_essential_only_fails_it(
    speaker: Callable[..., Participant], scripted: Any, opted_out_code: ProviderError
) -> None:
    participant = speaker("es", email="maria@example.org")
    message = queue(participant)
    scripted.errors = [opted_out_code]
    sender().run_once()
    message.refresh_from_db()
    assert message.status == S.FAILED
    assert not Message.objects.filter(participant=participant, channel="email").exists()


def test_opted_out_status_callback_on_a_court_reminder_reroutes_it_once(
    speaker: Callable[..., Participant], scripted: Any, opted_out_code: ProviderError
) -> None:
    from ontrack.messaging.services.delivery_status import status_callback_apply

    participant = speaker("es", email="maria@example.org")
    reminder = _court_reminder(participant)
    sender().run_once()
    reminder.refresh_from_db()
    report = dict(
        provider="scripted", provider_message_id=reminder.provider_message_id, status="failed",
        error_code="21610", reason="Twilio error 21610",
    )  # fmt: skip
    assert status_callback_apply(**report)
    assert not status_callback_apply(**report)  # the same report again
    assert Message.objects.filter(participant=participant, channel="email").count() == 1


# --- one rate across workers -------------------------------------------------------------------


def test_two_senders_reserve_consecutive_turns_in_one_shared_rate(
    speaker: Callable[..., Participant], scripted: Any, settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_RATES = {"scripted": (10.0, "messages")}
    participant = speaker("es")
    for _ in range(30):
        queue(participant)
    now = timezone.now()
    first = claim(channel="sms", provider_name="scripted", limit=15, now=now)
    second = claim(channel="sms", provider_name="scripted", limit=15, now=now)
    turns = [row.not_before - now.timestamp() for row in first + second]
    assert len(turns) == 30
    assert turns == sorted(turns)
    assert sum(1 for t in turns if t <= 0.0) == 10, "only the burst may go at once"
    assert turns[-1] == pytest.approx((30 - 10) / 10.0), "the rest at 10 per second, in turn"


def test_a_claim_reserves_no_further_ahead_than_a_quarter_of_the_lease(
    speaker: Callable[..., Participant], scripted: Any, settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_RATES = {"scripted": (1.0, "messages")}
    settings.ONTRACK_MESSAGING_SENDING_LEASE_S = 8  # reserve at most 2 s ahead
    participant = speaker("es")
    for _ in range(6):
        queue(participant)
    now = timezone.now()
    assert len(claim(channel="sms", provider_name="scripted", limit=6, now=now)) == 3
    assert claim(channel="sms", provider_name="scripted", limit=6, now=now) == []


def test_two_sender_instances_together_keep_to_the_providers_rate(
    speaker: Callable[..., Participant], scripted: Any, settings: Settings
) -> None:
    """Two workers taking turns (each claim a batch of 10): with a bucket each they would
    send 40 messages at once; sharing the provider's bucket they send a burst of 20, then
    20 per second."""
    import time

    settings.ONTRACK_MESSAGING_RATES = {"scripted": (20.0, "messages")}
    settings.ONTRACK_MESSAGING_SENDING_LEASE_S = 2  # batches of 10 per claim
    participant = speaker("es")
    messages = [queue(participant) for _ in range(40)]
    sent_at: list[float] = []
    original_send = scripted.send

    def timed_send(message: Message) -> Any:
        sent_at.append(time.monotonic())
        return original_send(message)

    scripted.send = timed_send
    first, second = Sender(threading.Event()), Sender(threading.Event())
    while first.run_once() + second.run_once():
        pass
    assert first.sent == second.sent == 20, "both workers take their turns"
    assert sorted(m.idempotency_key for m in scripted.sent) == sorted(
        m.idempotency_key for m in messages
    ), "each message exactly once"
    elapsed = max(sent_at) - min(sent_at)
    assert elapsed >= 0.9, f"40 messages at 20/s (burst 20) went out in {elapsed:.2f} s"
