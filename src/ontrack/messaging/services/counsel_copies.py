"""Copies of notices to counsel of record, with the participant's consent: which notices are
copied (a decision per template, held by a test) and the copy's words.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from django.utils import timezone

from ontrack.messaging.datefmt import LANGUAGES as FORMATTED_LANGUAGES
from ontrack.messaging.models import Channel, Message, Recipient, ReminderRule, Template
from ontrack.messaging.rendering import render
from ontrack.messaging.segments import count as segment_count
from ontrack.messaging.services.templates import participant_values, template_get
from ontrack.participants.models import Participant

# Counsel of record, with the participant's consent, gets a copy of every notice about the
# person's obligations and the decisions made about them. Every shipped template is in one of
# these two sets (a test holds them to it), so a new notice is copied or not by a decision.
COPIED_TO_COUNSEL = frozenset(
    {
        "appointment_booked",
        "appointment_moved",
        "appointment_cancelled",
        "appointment_reminder",
        "reschedule_declined",
        "hearing_reminder",
        "review_outcome",
        "supervision_review_outcome",
        "office_closure",
        "contact_update",
    }
)
NOT_COPIED_TO_COUNSEL = frozenset(
    {
        # A secret: whoever holds it signs in as the participant.
        "portal_sign_in",
        # Prompts to check in now, with the person's own check-in link, several a week.
        "checkin_window_open",
        "checkin_reminder",
        # Receipts and answers to the person's own texts and acts, not notices to them.
        "checkin_received",
        "help_reply",
        "stop_confirmed",
        "start_confirmed",
        "language_changed",
        "confirm_received",
        "reschedule_received",
        # The copy itself.
        "counsel_copy",
    }
)


def counsel_copy_text(
    participant: Participant, template: Template, context: Mapping[str, object]
) -> tuple[str, str]:
    """(language, body) of counsel's copy of a notice: in the program's language, the
    notice quoted inside the ``counsel_copy`` template."""
    language = participant.program.default_language
    copy_template = template_get("counsel_copy")
    tz = ZoneInfo(participant.time_zone)
    fmt_language = language if language in FORMATTED_LANGUAGES else "en"

    def body_in(t: Template, values: Mapping[str, object]) -> str:
        bodies = {b.language: b.body for b in t.bodies.all()}
        return render(bodies.get(language) or bodies.get("en", ""), values, fmt_language, tz)

    values = {**participant_values(participant), **context}
    notice = body_in(template, values)
    return language, body_in(copy_template, {"client": participant.full_name, "notice": notice})


def counsel_copy_queue(
    participant: Participant,
    template: Template,
    context: Mapping[str, object],
    *,
    send_at: dt.datetime | None,
    cause: str,
    anchor_key: str = "",
    reminder_rule: ReminderRule | None = None,
) -> Message | None:
    """Counsel of record gets a copy of each notice in ``COPIED_TO_COUNSEL`` when the
    participant consented, in the program's language, by e-mail when counsel has one, else
    by text. A copy of a reminder carries the reminder's anchor and rule, so
    ``reminders_sync`` moves and cancels it with the participant's own."""
    counsel = getattr(participant, "counsel", None)
    if counsel is None or not counsel.consent_to_notices or not (counsel.email or counsel.phone):
        return None
    language, text = counsel_copy_text(participant, template, context)
    now = timezone.now()
    channel, to = (Channel.EMAIL, counsel.email) if counsel.email else (Channel.SMS, counsel.phone)
    return Message.objects.create(
        participant=participant,
        recipient=Recipient.COUNSEL,
        channel=channel,
        to=to,
        template_key=template.key,
        language=language,
        body=text,
        segments=segment_count(text).segments,
        purpose=f"copy to counsel: {template.purpose}"[:200],
        cause=cause[:200],
        essential=True,
        created_at=now,
        send_at=send_at or now,
        status_at=now,
        anchor_key=anchor_key,
        reminder_rule=reminder_rule,
    )
