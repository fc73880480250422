"""Reads of messaging shared by the console and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db.models import Max, QuerySet

from ontrack.accounts.models import Role, User
from ontrack.messaging.models import Broadcast, InboundMessage, Message
from ontrack.participants.caseload_signals import CaseloadSignals, Dated
from ontrack.participants.models import Participant


def broadcasts_visible_to(user: User) -> QuerySet[Broadcast]:
    """Supervisors see their office's bulk messages, administrators all, officers their own."""
    if user.role == Role.SUPERVISOR:
        if user.office_id is None:
            return Broadcast.objects.none()
        return Broadcast.objects.filter(office_id=user.office_id)
    if user.role == Role.ADMINISTRATOR:
        return Broadcast.objects.all()
    return Broadcast.objects.filter(created_by=user)


def conversation_entries(participant: Participant, limit: int = 200) -> list[dict[str, Any]]:
    """Texts both ways, oldest first."""
    sent = Message.objects.filter(participant=participant).order_by("-created_at")[:limit]
    received = InboundMessage.objects.filter(participant=participant).order_by("-received_at")
    out = [
        {"at": m.created_at, "outgoing": True, "body": m.body, "status": m.get_status_display(),
         "reason": m.status_reason, "to": m.to, "recipient": m.recipient, "channel": m.channel}
        for m in sent
    ]  # fmt: skip
    out += [
        {"at": i.received_at, "outgoing": False, "body": i.body, "action": i.action,
         "needs_answer": i.needs_answer}
        for i in received[:limit]
    ]  # fmt: skip
    return sorted(out, key=lambda e: e["at"])


def caseload_text_signals(
    participant_ids: Sequence[int], now: dt.datetime
) -> dict[int, CaseloadSignals]:
    """The caseload list's messaging part (``participants.caseload_signals``), one query for
    the page: the last text each person sent in, as contact."""
    rows = (
        InboundMessage.objects.filter(participant_id__in=participant_ids, received_at__lte=now)
        .order_by()
        .values("participant_id")
        .annotate(at=Max("received_at"))
        .values_list("participant_id", "at")
    )
    return {pk: CaseloadSignals(last_contact=Dated(at, "text")) for pk, at in rows}
