"""The retention purge of messages (registered with audit's retention in ``apps.py``)."""

from __future__ import annotations

import datetime as dt

from ontrack.messaging.models import InboundMessage, Message, MessageStatus

S = MessageStatus


def messages_purge_before(cutoff: dt.datetime) -> int:
    """Delete texts sent or received before ``cutoff`` (retention). A message still waiting
    to go (queued, sending, errored, held) is kept whatever its age."""
    waiting = [S.QUEUED, S.SENDING, S.ERRORED, S.HELD]
    sent, _ = Message.objects.filter(created_at__lt=cutoff).exclude(status__in=waiting).delete()
    received, _ = InboundMessage.objects.filter(received_at__lt=cutoff, needs_answer=False).delete()
    return sent + received
