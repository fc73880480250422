"""STOP and START: recording an opt-out (by keyword or a provider's error), and what it does
to texts still waiting: non-essential ones are cancelled, essential ones go by e-mail or are
held for the officer.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from ontrack.messaging.models import Channel, Message, MessageStatus, OptOut, Recipient
from ontrack.messaging.services.routing import message_route

logger = logging.getLogger(__name__)

S = MessageStatus


# Answers to STOP, START and HELP: they go by text to the number that sent the keyword even
# after STOP (carriers expect the confirmation, and it answers the person's own message), and
# are never re-routed to e-mail or the officer.
KEYWORD_REPLIES = frozenset({"stop_confirmed", "start_confirmed", "help_reply"})


# Provider error codes that mean the recipient has opted out at the carrier or provider.
OPT_OUT_ERRORS: dict[str, frozenset[str]] = {"twilio": frozenset({"21610"})}


def _reroutable(message: Message) -> bool:
    return (
        message.recipient == Recipient.PARTICIPANT
        and message.channel == Channel.SMS
        and message.essential
        and message.template_key not in KEYWORD_REPLIES
        and message.participant_id is not None
    )


def opted_out_reroute(message_id: int, *, at: dt.datetime | None = None) -> Message | None:
    """An essential text that can no longer go by text (its person said STOP, or the
    provider refused it as opted out) is written again for the channel ``message_route`` gives an
    opted-out person: e-mail when they have one, else held for the officer to deliver. The
    text's own row is left as it ended (cancelled or failed) with a pointer to the new one.
    Returns the new row, or None when the message is not one to re-route (not essential, a
    keyword answer, to counsel or staff, not a text). Runs in the caller's transaction."""
    message = Message.objects.select_related("participant").filter(pk=message_id).first()
    if message is None or not _reroutable(message):
        return None
    participant = message.participant
    assert participant is not None
    channel, address, status, reason = message_route(participant, essential=True)
    if channel == Channel.SMS:
        return None  # not opted out after all: nothing else to do
    now = at or timezone.now()
    why = f"sent instead of text message {message.pk}: opted out of texts"
    copy = Message.objects.create(
        participant=participant,
        recipient=message.recipient,
        channel=channel,
        to=address,
        template_key=message.template_key,
        language=message.language,
        body=message.body,
        segments=message.segments,
        purpose=message.purpose,
        cause=message.cause,
        essential=True,
        traffic=message.traffic,
        status=status,
        status_reason=(reason if status == S.HELD else why)[:300],
        created_at=now,
        send_at=max(message.send_at, now) if status == S.QUEUED else message.send_at,
        status_at=now,
        anchor_key=message.anchor_key,
        reminder_rule_id=message.reminder_rule_id,
        sent_by=message.sent_by,
        broadcast_id=message.broadcast_id,
    )
    where = "by e-mail" if channel == Channel.EMAIL else "held for the officer"
    Message.objects.filter(pk=message.pk).update(
        status_reason=f"{message.status_reason or 'opted out of texts'}; {where} as message "
        f"{copy.pk}"[:300]
    )
    logger.info("essential text re-routed id=%s new=%s channel=%s", message.pk, copy.pk, channel)
    return copy


def opt_out_record(
    *, participant_id: int | None, source: str, at: dt.datetime | None = None
) -> bool:
    """Record a STOP (by keyword or a provider's opt-out error), cancel the queued
    non-essential texts it now forbids, and send the queued essential ones (court reminders,
    sign-in codes...) by the channel an opted-out person's essential notices take: e-mail,
    or held for the officer (``opted_out_reroute``). Answers to STOP, START and HELP are
    left alone. Returns False when already opted out, and for a message with no participant
    (a notice to staff: a staff phone's opt-out is no participant's)."""
    if participant_id is None:
        return False
    at = at or timezone.now()
    try:
        with transaction.atomic():
            OptOut.objects.create(participant_id=participant_id, since=at, source=source[:60])
    except IntegrityError:
        return False
    waiting_texts = Message.objects.filter(
        participant_id=participant_id,
        recipient=Recipient.PARTICIPANT,
        channel=Channel.SMS,
        status__in=[S.QUEUED, S.ERRORED],
    )
    waiting_texts.filter(essential=False).update(
        status=S.CANCELLED, status_reason="opted out (STOP)", status_at=at
    )
    essential = waiting_texts.filter(essential=True).exclude(template_key__in=KEYWORD_REPLIES)
    for pk in list(essential.values_list("pk", flat=True)):
        with transaction.atomic():
            if Message.objects.filter(pk=pk, status__in=[S.QUEUED, S.ERRORED]).update(
                status=S.CANCELLED, status_reason="opted out of texts (STOP)", status_at=at
            ):
                opted_out_reroute(pk, at=at)
    logger.info("opt-out recorded participant=%s source=%s", participant_id, source)
    return True


def opt_out_clear(*, participant_id: int) -> bool:
    return bool(OptOut.objects.filter(participant_id=participant_id).delete()[0])
