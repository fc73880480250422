"""Writing notices to a participant into the outbox: from a template (``message_queue``, the
contract other apps call) or as written by a person (``message_send_direct``). Both write in
the caller's transaction, so a notice exists exactly when the change that caused it does.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.messaging.models import Channel, Message, MessageStatus, ReminderRule, Traffic
from ontrack.messaging.sealing import PLACEHOLDERS, seal
from ontrack.messaging.segments import count as segment_count
from ontrack.messaging.services.counsel_copies import COPIED_TO_COUNSEL, counsel_copy_queue
from ontrack.messaging.services.routing import message_route
from ontrack.messaging.services.templates import Rendered, template_get, template_render
from ontrack.participants.models import Participant

logger = logging.getLogger(__name__)

S = MessageStatus


def _message_write(
    *,
    participant: Participant,
    template_key: str,
    rendered: Rendered,
    purpose: str,
    essential: bool,
    send_at: dt.datetime | None,
    cause: str,
    traffic: str = Traffic.DIRECT,
    anchor_key: str = "",
    reminder_rule: ReminderRule | None = None,
    sent_by: User | None = None,
    reply_to: str = "",
    sealed: Rendered | None = None,
) -> Message:
    """``reply_to``: a number to text whatever the opt-out (the answer to a keyword).
    ``sealed``: the text with its secrets, when ``rendered`` holds placeholders instead
    (``messaging.sealing``)."""
    now = timezone.now()
    channel, address, status, reason = (
        (str(Channel.SMS), reply_to, str(S.QUEUED), "")
        if reply_to
        else message_route(participant, essential=essential)
    )
    return Message.objects.create(
        participant=participant,
        channel=channel,
        to=address,
        template_key=template_key,
        language=rendered.language,
        body=rendered.body,
        sealed_body=seal(sealed.body) if sealed is not None else "",
        segments=segment_count((sealed or rendered).body).segments,
        purpose=purpose[:200],
        cause=cause[:200],
        essential=essential,
        traffic=traffic,
        status=status,
        status_reason=reason,
        created_at=now,
        send_at=send_at or now,
        status_at=now,
        anchor_key=anchor_key,
        reminder_rule=reminder_rule,
        sent_by=sent_by,
    )


def message_queue(
    *,
    participant: Participant,
    template_key: str,
    context: dict[str, object],
    purpose: str,
    essential: bool = False,
    send_at: dt.datetime | None = None,
    cause: str = "",
    secrets: Mapping[str, str] | None = None,
) -> Message | None:
    """Write one notice to the outbox in the caller's transaction, in the participant's
    language. Returns None when nothing may be sent (opted out of a non-essential message,
    or no way to reach the person); that outcome is still recorded as a "suppressed" row.
    Notices in ``COPIED_TO_COUNSEL`` are copied to consenting counsel. ``secrets`` (a
    sign-in code, a one-time link) go into the text only as the provider gets it; the
    stored body shows placeholders (``messaging.sealing``)."""
    return template_message_queue(
        participant=participant,
        template_key=template_key,
        context=context,
        purpose=purpose,
        essential=essential,
        send_at=send_at,
        cause=cause,
        secrets=secrets,
    )


def template_message_queue(
    *,
    participant: Participant,
    template_key: str,
    context: Mapping[str, object],
    purpose: str,
    essential: bool,
    send_at: dt.datetime | None,
    cause: str,
    anchor_key: str = "",
    reminder_rule: ReminderRule | None = None,
    reply_to: str = "",
    secrets: Mapping[str, str] | None = None,
) -> Message | None:
    """``message_queue`` with what only messaging itself passes: a reminder's anchor and
    rule (``reminders``), and ``reply_to``, the number a keyword's answer goes to whatever
    the opt-out (``received_texts``)."""
    if send_at is not None and send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    template = template_get(template_key)
    essential = essential or template.essential
    shown = {key: PLACEHOLDERS.get(key, "[secret]") for key in secrets or {}}
    message = _message_write(
        participant=participant,
        template_key=template_key,
        rendered=template_render(template, participant, {**context, **shown}),
        sealed=(
            template_render(template, participant, {**context, **secrets}) if secrets else None
        ),
        purpose=purpose,
        essential=essential,
        send_at=send_at,
        cause=cause,
        anchor_key=anchor_key,
        reminder_rule=reminder_rule,
        reply_to=reply_to,
    )
    if template_key in COPIED_TO_COUNSEL and not reply_to:
        counsel_copy_queue(
            participant,
            template,
            context,
            send_at=send_at,
            cause=cause,
            anchor_key=anchor_key,
            reminder_rule=reminder_rule,
        )
    if message.status == S.SUPPRESSED:
        logger.info(
            "message suppressed participant=%s template=%s reason=%s",
            participant.pk,
            template_key,
            message.status_reason,
        )
        return None
    return message


# A text written by a person is refused past this many segments: phones reassemble long
# texts unreliably, and each segment is billed.
MAX_SEGMENTS = 10


def message_send_direct(
    *,
    participant: Participant,
    body: str,
    purpose: str,
    sent_by: User | None = None,
    essential: bool = True,
) -> Message:
    """A one-to-one text written by a person or a reply handler, sent as written. Answers to
    the participant's own texts count as essential: they asked."""
    if not body.strip():
        raise ValidationError({"body": "A message cannot be empty."})
    segments = segment_count(body.strip()).segments
    if segments > MAX_SEGMENTS:
        raise ValidationError(
            {
                "body": f"This text would go as {segments} SMS segments; at most "
                f"{MAX_SEGMENTS} are sent. Shorten it."
            }
        )
    language = participant.preferred_language
    return _message_write(
        participant=participant,
        template_key="",
        rendered=Rendered(language, body.strip()),
        purpose=purpose,
        essential=essential,
        send_at=None,
        cause="reply",
        sent_by=sent_by,
    )
