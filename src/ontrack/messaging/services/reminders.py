"""Reminders of an appointment, a check-in window or a hearing: one set per anchor, moved or
cancelled with it. Apps above messaging describe their anchors (``ReminderAnchor``) and call
``reminders_sync`` in their own transaction; hearings (in participants, below messaging)
are followed here, through participants' ``hearing_listeners``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ontrack.messaging import reminder_time
from ontrack.messaging.models import Message, MessageStatus, Recipient, ReminderRule
from ontrack.messaging.services.counsel_copies import counsel_copy_text
from ontrack.messaging.services.notices import template_message_queue
from ontrack.messaging.services.templates import template_get, template_render, templates_install
from ontrack.participants.models import Hearing, HearingOutcome, Participant, Status

S = MessageStatus


@dataclass(frozen=True)
class ReminderAnchor:
    key: str  # unique, e.g. "appointment:123", "checkin_window:9", "hearing:4"
    kind: str  # "appointment" | "checkin_window" | "hearing"
    participant_id: int
    at: dt.datetime  # aware; for a check-in window, when it closes
    context: dict[str, str]
    cancelled: bool = False


def quiet_hours() -> tuple[dt.time, dt.time] | None:
    configured = settings.ONTRACK_MESSAGING_QUIET_HOURS
    if not configured:
        return None
    start, end = (dt.time.fromisoformat(v.strip()) for v in configured)
    return start, end


def reminders_sync(anchor: ReminderAnchor) -> int:
    """(Re)compute the reminders of one anchor: waiting ones (queued, or held for the
    officer) that no longer fit (the anchor moved or was cancelled) are cancelled, missing
    ones are queued, and none is written for a time already past or inside quiet hours.
    Counsel's copies of the reminders carry the same anchor and follow the same way.
    Returns how many of the participant's reminders are now pending. Runs in the caller's
    transaction."""
    waiting = [S.QUEUED, S.HELD]
    pending = Message.objects.filter(anchor_key=anchor.key, status__in=waiting)
    if anchor.at.tzinfo is None:
        raise ValueError("ReminderAnchor.at must be timezone-aware")
    participant = (
        Participant.objects.select_related("office", "program")
        .filter(pk=anchor.participant_id)
        .first()
    )
    now = timezone.now()
    if anchor.cancelled or participant is None or participant.status == Status.CLOSED:
        pending.update(status=S.CANCELLED, status_reason="reminder no longer needed", status_at=now)
        return 0
    tz = ZoneInfo(participant.time_zone)
    context: dict[str, object] = {**anchor.context, "when": anchor.at, "until": anchor.at}
    wanted: dict[tuple[int, dt.datetime], ReminderRule] = {}
    if not ReminderRule.objects.exists():
        templates_install()  # a database that never ran the data migration's rows
    for rule in ReminderRule.objects.filter(kind=anchor.kind, active=True):
        due = reminder_time.reminder_due(
            anchor_at=anchor.at,
            offset=dt.timedelta(minutes=rule.offset_minutes),
            local_time=rule.local_time,
            tz=tz,
            now=now,
            quiet=quiet_hours(),
        )
        if due is not None:
            wanted[(rule.pk, due)] = rule
    existing = Message.objects.filter(anchor_key=anchor.key).exclude(status=S.CANCELLED)
    have: set[tuple[int, dt.datetime]] = set()
    for message in existing.only(
        "pk", "reminder_rule_id", "send_at", "status", "body", "template_key", "recipient"
    ):
        slot = (message.reminder_rule_id or 0, message.send_at)
        if message.status in waiting and slot not in wanted:
            Message.objects.filter(pk=message.pk, status=message.status).update(
                status=S.CANCELLED, status_reason="the appointment moved", status_at=now
            )
            continue
        if message.status in waiting:
            # Same slot, perhaps a new place or purpose: keep the words current.
            template = template_get(message.template_key)
            if message.recipient == Recipient.COUNSEL:
                body = counsel_copy_text(participant, template, context)[1]
            else:
                body = template_render(template, participant, context).body
            if body != message.body:
                Message.objects.filter(pk=message.pk, status=message.status).update(body=body)
        if message.recipient == Recipient.PARTICIPANT:
            have.add(slot)
    for (rule_pk, due), rule in sorted(wanted.items(), key=lambda item: item[0][1]):
        if (rule_pk, due) in have:
            continue
        template_message_queue(
            participant=participant,
            template_key=rule.template_key,
            context=context,
            purpose=f"{anchor.kind.replace('_', ' ')} reminder",
            essential=False,
            send_at=due,
            cause=f"reminder for {anchor.key}",
            anchor_key=anchor.key,
            reminder_rule=rule,
        )
    return Message.objects.filter(
        anchor_key=anchor.key, status__in=waiting, recipient=Recipient.PARTICIPANT
    ).count()


def hearing_anchor(hearing: Hearing) -> ReminderAnchor:
    """A participants.Hearing as an anchor. Only a hearing still "scheduled" is reminded of;
    one cancelled or rescheduled (the new date is a new hearing) cancels its reminders."""
    place = ", ".join(p for p in (hearing.court, hearing.court_address) if p)
    return ReminderAnchor(
        key=f"hearing:{hearing.pk}",
        kind="hearing",
        participant_id=hearing.participant_id,
        at=hearing.scheduled_at,
        context={"place": place},
        cancelled=hearing.outcome != HearingOutcome.SCHEDULED,
    )


def hearing_reminders_follow(*, hearing_id: int) -> None:
    """Keep a hearing's reminders in step with it: registered with participants'
    ``hearing_listeners`` (participants sits below messaging and cannot call it), which
    calls this after each hearing added or changed has committed."""
    hearing = Hearing.objects.filter(pk=hearing_id).first()
    if hearing is None:
        return
    with transaction.atomic():
        reminders_sync(hearing_anchor(hearing))
