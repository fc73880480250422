"""Messaging over JSON: the outbox, a participant's conversation, a one-to-one text, and
the progress of a bulk message. Same permission rules as the console; every read of a
participant's messages is access-logged."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema, Status

from ontrack.accounts.web import staff_user
from ontrack.apipages import KeysetPagination, paginate
from ontrack.apitypes import BodySchema
from ontrack.audit.models import AccessAction
from ontrack.messaging import broadcasts
from ontrack.messaging.models import Message
from ontrack.messaging.queries import broadcasts_visible_to, conversation_entries
from ontrack.messaging.services.inbox import reply_send
from ontrack.participants.gate import (
    participant_for_change,
    participant_read,
    participants_listed,
)
from ontrack.participants.queries import participants_visible_to

router = Router(tags=["messaging"])


class MessageOut(Schema):
    id: int
    participant_id: int
    recipient: str
    channel: str
    to: str
    template_key: str
    language: str
    body: str
    segments: int
    purpose: str
    status: str
    status_reason: str
    error_code: str
    created_at: dt.datetime
    send_at: dt.datetime
    sent_at: dt.datetime | None
    broadcast_id: int | None


class MessageQuery(Schema):
    participant: int | None = None
    status: str = ""
    broadcast: int | None = None


class EntryOut(Schema):
    at: dt.datetime
    outgoing: bool
    body: str
    status: str = ""
    action: str = ""


class SendIn(BodySchema):
    body: str


class BroadcastOut(Schema):
    id: int
    template: str
    purpose: str
    status: str
    audience_size: int
    expanded: int
    skipped: int
    send_at: dt.datetime
    progress: dict[str, int]


def _messages_shown(request: HttpRequest, messages: list[Message]) -> None:
    participants_listed(
        request, (m.participant_id for m in messages), what="messages", action=AccessAction.API_READ
    )


@router.get("/messages", response=list[MessageOut])
@paginate(KeysetPagination, page_size=100, max_page_size=500, shown=_messages_shown)
def message_list(request: HttpRequest, query: Query[MessageQuery]) -> QuerySet[Message]:
    """Newest first."""
    user = staff_user(request)
    rows = Message.objects.filter(participant__in=participants_visible_to(user))
    if query.participant:
        rows = rows.filter(participant_id=query.participant)
    if query.status:
        rows = rows.filter(status=query.status)
    if query.broadcast:
        rows = rows.filter(broadcast_id=query.broadcast)
    return rows.order_by("-created_at", "-id")


@router.get("/participants/{participant_id}/conversation", response=list[EntryOut])
def conversation(request: HttpRequest, participant_id: int) -> list[dict[str, object]]:
    participant = participant_read(
        request, participant_id, what="message conversation", action=AccessAction.API_READ
    )
    return conversation_entries(participant)


@router.post("/participants/{participant_id}/messages", response={201: MessageOut})
def message_send(request: HttpRequest, participant_id: int, payload: SendIn) -> Status:
    user = staff_user(request)
    participant = participant_for_change(request, participant_id)
    return Status(201, reply_send(user=user, participant=participant, body=payload.body))


@router.get("/broadcasts/{broadcast_id}", response=BroadcastOut)
def broadcast_status(request: HttpRequest, broadcast_id: int) -> dict[str, object]:
    user = staff_user(request)
    broadcast = get_object_or_404(
        broadcasts_visible_to(user).select_related("template"), pk=broadcast_id
    )
    progress = broadcasts.broadcast_progress(broadcast)
    return {
        "id": broadcast.pk,
        "template": broadcast.template.key,
        "purpose": broadcast.purpose,
        "status": broadcast.status,
        "audience_size": broadcast.audience_size,
        "expanded": broadcast.expanded,
        "skipped": broadcast.skipped,
        "send_at": broadcast.send_at,
        "progress": progress,
    }
