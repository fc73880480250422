"""Notices to staff (alert escalations, on-call pages): no participant, no template, no
opt-out; the staff member's own e-mail or phone.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from django.conf import settings
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.messaging.models import Channel, Message, MessageAttachment, Recipient
from ontrack.messaging.providers.base import Attachment
from ontrack.messaging.segments import count as segment_count
from ontrack.participants.services import phone_normalise

logger = logging.getLogger(__name__)


def staff_notice_queue(
    *,
    user: User | None,
    channel: str,
    subject: str,
    body: str,
    cause: str,
    address: str = "",
    attachments: Sequence[Attachment] = (),
) -> Message | None:
    """Write one notice to a staff member (their e-mail or phone on their account) or, with
    ``user=None``, to a fixed ``address``, in the caller's transaction. Staff notices are
    about work, not to a participant: no participant, no opt-out, no template. The subject
    is the body's first sentence, which is what the e-mail sender uses as its subject line.
    ``attachments`` (e-mail only) are written with it and go with every attempt.
    Returns None (and writes nothing) when there is no address to send to."""
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValueError(f"staff notices go by e-mail or text, not {channel!r}")
    if attachments and channel != Channel.EMAIL:
        raise ValueError("only an e-mail carries attachments")
    if user is not None and not address:
        address = user.email if channel == Channel.EMAIL else user.phone
    address = address.strip()
    if not address:
        logger.info(
            "staff notice not written user=%s channel=%s reason=no_address cause=%s",
            user.pk if user is not None else "",
            channel,
            cause,
        )
        return None
    if channel == Channel.SMS:
        address = phone_normalise(address)
    text = f"{subject.strip().rstrip('.')}. {body.strip()}"
    now = timezone.now()
    message = Message.objects.create(
        participant=None,
        recipient=Recipient.STAFF,
        channel=channel,
        to=address,
        language=settings.LANGUAGE_CODE,
        body=text,
        segments=segment_count(text).segments,
        purpose="notice to staff",
        cause=cause[:200],
        created_at=now,
        send_at=now,
        status_at=now,
    )
    MessageAttachment.objects.bulk_create(
        MessageAttachment(
            message=message,
            filename=file.filename,
            content_type=file.content_type,
            content=file.content,
        )
        for file in attachments
    )
    return message
