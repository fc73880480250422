"""What messaging contributes to a person's timeline: every message about them (to them,
copies to their counsel, notices to staff) with where it got to, and every text they sent.
Bodies are shown as staff always see them: secrets are already placeholders in ``body``,
and a texted PIN is stored as a placeholder too."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from ontrack.messaging.models import (
    Channel,
    InboundAction,
    InboundMessage,
    Message,
    MessageStatus,
    Recipient,
)
from ontrack.participants.timeline import (
    Entry,
    Query,
    Source,
    page_rows,
    register_source,
)

MESSAGE_OUT = "message_out"
MESSAGE_IN = "message_in"
BODY_SHOWN = 300

RECIPIENT_WORDS = {
    Recipient.PARTICIPANT: "to the participant",
    Recipient.COUNSEL: "copy to counsel",
    Recipient.STAFF: "notice to staff",
}
REPLY_WORDS = {
    InboundAction.CONFIRM: "confirmed",
    InboundAction.RESCHEDULE: "asked to reschedule",
    InboundAction.HELP: "asked for help",
    InboundAction.STOP: "asked to stop texts",
    InboundAction.START: "asked to receive texts again",
    InboundAction.PIN: "checked in with a PIN",
    InboundAction.LANGUAGE: "changed language",
}


def _shortened(body: str) -> str:
    return body if len(body) <= BODY_SHOWN else body[: BODY_SHOWN - 1] + "…"


def message_out_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        Message.objects.filter(participant=q.participant).select_related("sent_by"),
        q,
        MESSAGE_OUT,
        time="created_at",
    )
    link = reverse("messaging:conversation", args=[q.participant.pk])
    entries = []
    for m in rows:
        channel = Channel(m.channel).label if m.channel in Channel.values else "Message"
        who = RECIPIENT_WORDS.get(Recipient(m.recipient), "") if m.recipient else ""
        status = MessageStatus(m.status).label.lower()
        detail = _shortened(m.body)
        if m.status_reason:
            detail += f" · {m.status_reason}"
        entries.append(
            Entry(
                at=m.created_at,
                kind=MESSAGE_OUT,
                id=m.pk,
                title=" ".join(part for part in (channel, who) if part) + f": {status}",
                detail=detail,
                link=link,
                actor=str(m.sent_by) if m.sent_by else "system",
                technical=(
                    ("message", str(m.pk)),
                    ("template", m.template_key or "—"),
                    ("status", m.status),
                    ("purpose", m.purpose),
                    *((("provider error", m.error_code),) if m.error_code else ()),
                ),
            )
        )
    return entries


def message_in_entries(q: Query) -> Sequence[Entry]:
    rows = page_rows(
        InboundMessage.objects.filter(participant=q.participant), q, MESSAGE_IN, time="received_at"
    )
    link = reverse("messaging:conversation", args=[q.participant.pk])
    entries = []
    for i in rows:
        action = InboundAction(i.action) if i.action in InboundAction.values else None
        words = REPLY_WORDS.get(action) if action else None
        entries.append(
            Entry(
                at=i.received_at,
                kind=MESSAGE_IN,
                id=i.pk,
                title="Text received" + (f": {words}" if words else ""),
                detail=_shortened(i.body) + (" · waiting for an answer" if i.needs_answer else ""),
                link=link,
                actor="the participant",
                technical=(("inbound", str(i.pk)), ("keyword", i.action or "—")),
            )
        )
    return entries


def register() -> None:
    register_source(Source(kind=MESSAGE_OUT, group="messages", entries=message_out_entries))
    register_source(Source(kind=MESSAGE_IN, group="messages", entries=message_in_entries))
