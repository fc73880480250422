"""What an officer does from the messaging inbox: answer a participant's texts, mark a reply
handled, record that a held notice was delivered by hand. Each checks the officer's caseload.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.messaging.models import InboundMessage, Message, MessageStatus
from ontrack.messaging.services.delivery_status import message_status_set
from ontrack.messaging.services.notices import message_send_direct
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant

S = MessageStatus


def reply_send(*, user: User, participant: Participant, body: str) -> Message:
    """An officer's reply from the conversation view; it answers every open reply of the
    participant (they are one conversation)."""
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may only message participants on your caseload.")
    with transaction.atomic():
        message = message_send_direct(
            participant=participant, body=body, purpose="officer's reply", sent_by=user
        )
        InboundMessage.objects.filter(participant=participant, needs_answer=True).update(
            needs_answer=False, answered_at=timezone.now(), answered_by=user
        )
    return message


def inbound_mark_handled(*, user: User, inbound: InboundMessage) -> None:
    if inbound.participant is None or not can_write_participant(user, inbound.participant):
        raise PermissionDenied("You may only handle replies from your caseload.")
    InboundMessage.objects.filter(pk=inbound.pk).update(
        needs_answer=False, answered_at=timezone.now(), answered_by=user
    )


def held_message_mark_delivered(*, user: User, message: Message) -> None:
    """The officer delivered a held notice another way (call, visit, counsel)."""
    if message.participant is None or not can_write_participant(user, message.participant):
        raise PermissionDenied("You may only handle notices of your caseload.")
    message_status_set(message.pk, S.DELIVERED, reason=f"delivered by {user} in person or by phone")
