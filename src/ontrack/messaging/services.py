"""Every write of messaging: queueing notices, reminders, status callbacks, opt-outs,
inbound replies, officers' replies and template edits.

``message_queue`` and ``reminders_sync`` are the contract other apps call (brief,
"messaging"); both write in the caller's transaction, so a notice exists exactly when the
appointment (or sign-in challenge...) that caused it does.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.batches import in_batches
from ontrack.messaging import keywords, reminder_time
from ontrack.messaging.datefmt import LANGUAGES as FORMATTED_LANGUAGES
from ontrack.messaging.inbound import InboundReply, reply_handler
from ontrack.messaging.models import (
    STATUS_TRANSITIONS,
    Channel,
    InboundAction,
    InboundMessage,
    Message,
    MessagePart,
    MessageStatus,
    OptOut,
    Recipient,
    ReminderRule,
    Template,
    TemplateBody,
    Traffic,
)
from ontrack.messaging.rendering import render
from ontrack.messaging.sealing import PLACEHOLDERS, seal
from ontrack.messaging.segments import count as segment_count
from ontrack.participants.models import Participant, Phone, Status
from ontrack.participants.queries import can_write_participant
from ontrack.participants.services import participant_update, phone_normalise

logger = logging.getLogger(__name__)

S = MessageStatus


# --- templates and rendering ----------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    language: str
    body: str


def participant_values(participant: Participant) -> dict[str, object]:
    """The variables every body may use without the caller passing them."""
    office = participant.office
    return {
        "name": participant.given_name,
        "office": office.name,
        "office_phone": office.phone,
        "office_address": " ".join(office.address.split()),
    }


def language_for(participant: Participant, available: Iterable[str]) -> str:
    """The participant's language when the template has it, else the program's default,
    else English (every shipped template has English)."""
    languages = set(available)
    for language in (participant.preferred_language, participant.program.default_language):
        if language in languages:
            return language
    return "en" if "en" in languages or not languages else sorted(languages)[0]


def template_get(key: str) -> Template:
    """The template, installing the shipped ones first if this database lacks them (a data
    migration installs them, but a flushed test database or a restored dump may not have
    them, and a notice must not fail for that)."""
    from ontrack.messaging.shipped import TEMPLATES

    try:
        return Template.objects.prefetch_related("bodies").get(key=key)
    except Template.DoesNotExist:
        if key not in TEMPLATES:
            raise ValueError(f"no message template {key!r}") from None
    templates_install()
    return Template.objects.prefetch_related("bodies").get(key=key)


def template_render(
    template: Template, participant: Participant, context: Mapping[str, object]
) -> Rendered:
    bodies = {b.language: b.body for b in template.bodies.all()}
    language = language_for(participant, bodies)
    values = {**participant_values(participant), **context}
    tz = ZoneInfo(participant.time_zone)
    fmt_language = language if language in FORMATTED_LANGUAGES else "en"
    return Rendered(language, render(bodies.get(language, ""), values, fmt_language, tz))


def template_body_save(*, user: User, template: Template, language: str, body: str) -> TemplateBody:
    """Edit (or add) one language's body. Administrators and supervisors only: these words go
    to every participant of the program."""
    if not template_editable_by(user):
        raise PermissionDenied("Only administrators and supervisors edit message templates.")
    if language not in dict(settings.LANGUAGES) and language not in FORMATTED_LANGUAGES:
        raise ValidationError({"language": f"{language!r} is not a language ontrack speaks."})
    if not body.strip():
        raise ValidationError({"body": "A message cannot be empty."})
    saved, _ = TemplateBody.objects.update_or_create(
        template=template, language=language, defaults={"body": body.strip()}
    )
    template.save(update_fields=["updated_at"])
    return saved


def template_editable_by(user: User) -> bool:
    return user.is_active and user.role in {"administrator", "supervisor"}


def templates_install() -> int:
    """Add any shipped template, body or reminder rule that is missing (never overwriting
    an edit). Returns how many rows were added."""
    from ontrack.messaging.shipped import REMINDER_RULES, TEMPLATES

    added = 0
    for key, shipped in TEMPLATES.items():
        template, created = Template.objects.get_or_create(
            key=key,
            defaults={
                "purpose": shipped.purpose,
                "essential": shipped.essential,
                "bulk": shipped.bulk,
            },
        )
        added += created
        for language, body in shipped.bodies.items():
            _, created = TemplateBody.objects.get_or_create(
                template=template, language=language, defaults={"body": body}
            )
            added += created
    if not ReminderRule.objects.exists():
        ReminderRule.objects.bulk_create(
            ReminderRule(kind=kind, offset_minutes=offset, local_time=at, template_key=key)
            for kind, offset, at, key in REMINDER_RULES
        )
        added += len(REMINDER_RULES)
    return added


# --- the outbox -------------------------------------------------------------------------


# Answers to STOP, START and HELP: they go by text to the number that sent the keyword even
# after STOP (carriers expect the confirmation, and it answers the person's own message), and
# are never re-routed to e-mail or the officer.
KEYWORD_REPLIES = frozenset({"stop_confirmed", "start_confirmed", "help_reply"})


def is_opted_out(participant_id: int) -> bool:
    return OptOut.objects.filter(participant_id=participant_id).exists()


def _sms_number(participant: Participant) -> str:
    phone = participant.phones.order_by("-is_primary", "id").first()
    return phone.number if phone is not None else ""


def _route(participant: Participant, *, essential: bool) -> tuple[str, str, str, str]:
    """(channel, address, status, reason) for a message to the participant. Texts first;
    someone who said STOP gets essential notices by e-mail, or, without one, the notice is
    held for their officer to deliver (a court date must not be lost to an opt-out)."""
    opted_out = is_opted_out(participant.pk)
    number = "" if opted_out else _sms_number(participant)
    if opted_out and not essential:
        return Channel.SMS, "", S.SUPPRESSED, "opted out of texts (STOP)"
    if number:
        return Channel.SMS, number, S.QUEUED, ""
    if participant.email:
        return Channel.EMAIL, participant.email, S.QUEUED, ""
    if essential:
        why = "opted out of texts" if opted_out else "no phone or e-mail"
        return Channel.OFFICER, "", S.HELD, f"{why}: the officer must deliver this notice"
    return Channel.SMS, "", S.SUPPRESSED, "no phone or e-mail on file"


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
        else _route(participant, essential=essential)
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


def _counsel_text(
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


def _counsel_copy(
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
    language, text = _counsel_text(participant, template, context)
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
    return _queue(
        participant=participant,
        template_key=template_key,
        context=context,
        purpose=purpose,
        essential=essential,
        send_at=send_at,
        cause=cause,
        secrets=secrets,
    )


def _queue(
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
        _counsel_copy(
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


def staff_notice_queue(
    *,
    user: User | None,
    channel: str,
    subject: str,
    body: str,
    cause: str,
    address: str = "",
) -> Message | None:
    """Write one notice to a staff member (their e-mail or phone on their account) or, with
    ``user=None``, to a fixed ``address``, in the caller's transaction. Staff notices are
    about work, not to a participant: no participant, no opt-out, no template. The subject
    is the body's first sentence, which is what the e-mail sender uses as its subject line.
    Returns None (and writes nothing) when there is no address to send to."""
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValueError(f"staff notices go by e-mail or text, not {channel!r}")
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
    return Message.objects.create(
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


def held_message_delivered(*, user: User, message: Message) -> None:
    """The officer delivered a held notice another way (call, visit, counsel)."""
    if message.participant is None or not can_write_participant(user, message.participant):
        raise PermissionDenied("You may only handle notices of your caseload.")
    message_status_set(message.pk, S.DELIVERED, reason=f"delivered by {user} in person or by phone")


def message_status_set(
    message_id: int, status: str, *, reason: str = "", error_code: str = ""
) -> bool:
    """Move one message forward to ``status`` if ``STATUS_TRANSITIONS`` allows it from the
    status it has now; anything else (a duplicate or late callback) changes nothing. Returns
    whether it moved. The conditional UPDATE makes it safe against a concurrent writer."""
    allowed_from = [old for old, nexts in STATUS_TRANSITIONS.items() if status in nexts]
    now = timezone.now()
    fields: dict[str, object] = {"status": status, "status_at": now}
    if reason:
        fields["status_reason"] = reason[:300]
    if error_code:
        fields["error_code"] = error_code[:20]
    if status in {S.SENT, S.DELIVERED, S.UNDELIVERED}:
        # The first of these to arrive says when it left us.
        Message.objects.filter(pk=message_id, sent_at__isnull=True).update(sent_at=now)
    moved = Message.objects.filter(pk=message_id, status__in=allowed_from).update(**fields)
    return bool(moved)


def status_callback_apply(
    *,
    provider: str,
    provider_message_id: str,
    status: str,
    idempotency_key: str = "",
    error_code: str = "",
    reason: str = "",
) -> bool:
    """A delivery report from a provider. Reports may come twice, late, or before our own
    "sent" write (the provider answered the callback faster than the sender committed); the
    idempotency key in the callback URL finds the row then, and the forward-only status
    machine ignores anything that would move it back. A report on one part of a text sent
    in parts (``MessagePart``) settles that part, and the message once its outcome is known.
    An opt-out error on an essential notice sends it again by the channel left
    (``opted_out_reroute``). Returns whether the message's status moved."""
    part = (
        MessagePart.objects.filter(provider=provider, provider_message_id=provider_message_id)
        .only("pk", "message_id", "number")
        .first()
    )
    if part is not None:
        return _part_status_apply(part, status, reason=reason, error_code=error_code)
    rows = Message.objects.filter(provider=provider, provider_message_id=provider_message_id)
    message = rows.only("pk").first()
    if message is None and idempotency_key:
        message = Message.objects.filter(idempotency_key=idempotency_key).only("pk").first()
        if message is not None:
            Message.objects.filter(pk=message.pk, provider_message_id="").update(
                provider=provider, provider_message_id=provider_message_id
            )
    if message is None:
        logger.warning(
            "status callback for an unknown message provider=%s id=%s",
            provider,
            provider_message_id,
        )
        return False
    opted_out = error_code in OPT_OUT_ERRORS.get(provider, ())
    if opted_out:
        opt_out_record(
            participant_id=Message.objects.get(pk=message.pk).participant_id,
            source=f"{provider} error {error_code}",
        )
    with transaction.atomic():
        moved = message_status_set(message.pk, status, reason=reason, error_code=error_code)
        if moved and opted_out and status in {S.FAILED, S.UNDELIVERED}:
            opted_out_reroute(message.pk)
    return moved


def _part_status_apply(part: MessagePart, status: str, *, reason: str, error_code: str) -> bool:
    """A receipt for one part: the part moves from "sent" to its outcome once; the message
    becomes undelivered or failed with the first part that is, and delivered when the last
    part is."""
    if status not in (S.DELIVERED, S.UNDELIVERED, S.FAILED):
        return False
    MessagePart.objects.filter(pk=part.pk, status=S.SENT).update(
        status=status, status_at=timezone.now()
    )
    statuses = list(
        MessagePart.objects.filter(message_id=part.message_id).values_list("status", flat=True)
    )
    if status in (S.UNDELIVERED, S.FAILED):
        why = f"part {part.number} of {len(statuses)}" + (f": {reason}" if reason else "")
        return message_status_set(part.message_id, status, reason=why, error_code=error_code)
    if all(s == S.DELIVERED for s in statuses):
        return message_status_set(part.message_id, S.DELIVERED, reason=reason)
    return False


def message_parts_record(
    message_id: int, *, provider: str, provider_message_ids: list[str], at: dt.datetime
) -> None:
    """Remember the id of each part of a text the provider sent in parts (the first is also
    the message's own ``provider_message_id``), so that each part's receipt is matched."""
    if len(provider_message_ids) < 2:
        return
    MessagePart.objects.bulk_create(
        [
            MessagePart(
                message_id=message_id,
                number=number,
                provider=provider,
                provider_message_id=part_id,
                status=S.SENT,
                status_at=at,
            )
            for number, part_id in enumerate(provider_message_ids, start=1)
        ],
        ignore_conflicts=True,
    )


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
    provider refused it as opted out) is written again for the channel ``_route`` gives an
    opted-out person: e-mail when they have one, else held for the officer to deliver. The
    text's own row is left as it ended (cancelled or failed) with a pointer to the new one.
    Returns the new row, or None when the message is not one to re-route (not essential, a
    keyword answer, to counsel or staff, not a text). Runs in the caller's transaction."""
    message = Message.objects.select_related("participant").filter(pk=message_id).first()
    if message is None or not _reroutable(message):
        return None
    participant = message.participant
    assert participant is not None
    channel, address, status, reason = _route(participant, essential=True)
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


def messages_purge_before(cutoff: dt.datetime) -> int:
    """Delete texts sent or received before ``cutoff`` (retention). A message still waiting
    to go (queued, sending, errored, held) is kept whatever its age."""
    waiting = [S.QUEUED, S.SENDING, S.ERRORED, S.HELD]
    sent, _ = Message.objects.filter(created_at__lt=cutoff).exclude(status__in=waiting).delete()
    received, _ = InboundMessage.objects.filter(received_at__lt=cutoff, needs_answer=False).delete()
    return sent + received


# --- opt-out ----------------------------------------------------------------------------


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


# --- reminders --------------------------------------------------------------------------


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
                body = _counsel_text(participant, template, context)[1]
            else:
                body = template_render(template, participant, context).body
            if body != message.body:
                Message.objects.filter(pk=message.pk, status=message.status).update(body=body)
        if message.recipient == Recipient.PARTICIPANT:
            have.add(slot)
    for (rule_pk, due), rule in sorted(wanted.items(), key=lambda item: item[0][1]):
        if (rule_pk, due) in have:
            continue
        _queue(
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


def hearing_anchor(hearing: object) -> ReminderAnchor:
    """A participants.Hearing as an anchor. Only a hearing still "scheduled" is reminded of;
    one cancelled or rescheduled (the new date is a new hearing) cancels its reminders."""
    from ontrack.participants.models import Hearing, HearingOutcome

    assert isinstance(hearing, Hearing)
    place = ", ".join(p for p in (hearing.court, hearing.court_address) if p)
    return ReminderAnchor(
        key=f"hearing:{hearing.pk}",
        kind="hearing",
        participant_id=hearing.participant_id,
        at=hearing.scheduled_at,
        context={"place": place},
        cancelled=hearing.outcome != HearingOutcome.SCHEDULED,
    )


def hearing_reminders_sync(*, now: dt.datetime | None = None, days: int = 8) -> int:
    """Sync the reminders of every hearing in the next ``days`` (hearings live in
    participants, which cannot call messaging; this runs periodically and on each save)."""
    from ontrack.participants.models import Hearing

    now = now or timezone.now()
    hearings = Hearing.objects.filter(
        scheduled_at__gt=now, scheduled_at__lte=now + dt.timedelta(days=days)
    )
    synced = 0
    for hearing in in_batches(hearings):
        with transaction.atomic():
            reminders_sync(hearing_anchor(hearing))
        synced += 1
    return synced


# --- inbound ----------------------------------------------------------------------------


def participant_for_number(raw: str) -> Participant | None:
    """The participant texting from this number: the most recently enrolled open case (a
    number passed on after a closed case must not reach the old record)."""
    try:
        number = phone_normalise(raw)
    except ValidationError:
        return None
    phone = (
        Phone.objects.filter(number=number)
        .exclude(participant__status=Status.CLOSED)
        .select_related("participant__office", "participant__program")
        .order_by("-participant__enrolled_at")
        .first()
    )
    return phone.participant if phone is not None else None


def inbound_simulate(*, user: User, participant: Participant, body: str) -> InboundMessage:
    """A text "from" the participant's phone, for trying replies (STOP, SÍ, a PIN...) in a
    demo or development. Only while texts go to the console provider: with a real provider,
    replies come from real phones only."""
    if settings.ONTRACK_MESSAGING_PROVIDERS.get("sms") != "console":
        raise PermissionDenied("Replies can only be simulated with the console provider.")
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may only simulate replies for your caseload.")
    number = _sms_number(participant)
    if not number:
        raise ValidationError("This participant has no phone number.")
    return inbound_receive(
        provider="console",
        provider_message_id=f"sim-{uuid.uuid4().hex}",
        from_number=number,
        body=body,
        received_at=timezone.now(),
    )


def _reply_template(
    participant: Participant,
    key: str,
    cause: str,
    *,
    essential: bool = True,
    reply_to: str = "",
) -> None:
    _queue(
        participant=participant,
        template_key=key,
        context={},
        purpose="answer to the participant's text",
        essential=essential,
        send_at=None,
        cause=cause,
        reply_to=reply_to,
    )


def _reply_number(participant: Participant, inbound: InboundMessage) -> str:
    """The number the keyword came from, where its answer goes (opted out or not)."""
    try:
        return phone_normalise(inbound.from_number)
    except ValidationError:
        return _sms_number(participant)


PIN_SHOWN = "[PIN]"


def inbound_receive(
    *,
    provider: str,
    provider_message_id: str,
    from_number: str,
    body: str,
    received_at: dt.datetime,
    to_number: str = "",
) -> InboundMessage:
    """Record a text and act on it (``keywords``): STOP and START change the opt-out, HELP
    answers with the office's contact, "LANG ES" / "KREYÒL"... changes the language the
    person is written to in, CONFIRM / a PIN / a reschedule request go to the handler
    another app registered; whatever is left waits in the officer's inbox. The whole text
    is kept, whatever part of it was a keyword. The same provider message twice (a retried
    webhook) is recorded and acted on once."""
    existing = InboundMessage.objects.filter(
        provider=provider, provider_message_id=provider_message_id
    ).first()
    if existing is not None:
        return existing
    participant = participant_for_number(from_number)
    parsed = keywords.parse(body)
    action = parsed.action
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    participant=participant,
                    provider=provider,
                    provider_message_id=provider_message_id,
                    from_number=from_number[:32],
                    to_number=to_number[:32],
                    # A PIN is a secret: staff pages and exports show that one came, not it.
                    body=PIN_SHOWN if action == InboundAction.PIN else body,
                    received_at=received_at,
                    action=action,
                    needs_answer=participant is None,
                )
        except IntegrityError:
            return InboundMessage.objects.get(
                provider=provider, provider_message_id=provider_message_id
            )
        if participant is not None:
            needs_answer = _inbound_act(participant, inbound, parsed, text=body)
            if needs_answer:
                InboundMessage.objects.filter(pk=inbound.pk).update(needs_answer=True)
                inbound.needs_answer = True
    logger.info(
        "inbound text provider=%s participant=%s action=%s",
        provider,
        participant.pk if participant else None,
        action or "text",
    )
    return inbound


def _language_change(participant: Participant, language: str, cause: str) -> bool:
    """Write the person's new language through the participants service (it keeps the
    timeline) and confirm in that language. The confirmation is not essential: after STOP it
    is recorded as not sent. A record the change cannot be saved on goes to the officer."""
    try:
        with transaction.atomic():
            participant_update(participant, actor=None, preferred_language=language)
    except ValidationError:
        logger.warning(
            "language change by text not saved participant=%s language=%s",
            participant.pk,
            language,
        )
        return True
    _reply_template(participant, "language_changed", cause, essential=False)
    return False


def _inbound_act(
    participant: Participant, inbound: InboundMessage, parsed: keywords.Reply, *, text: str
) -> bool:
    """Do what the text asks; return whether it still needs a person to answer it."""
    action = parsed.action
    cause = f"reply to inbound {inbound.pk}"
    if action == InboundAction.STOP:
        opt_out_record(
            participant_id=participant.pk,
            source=f"keyword {keywords.normalise(text)}",
            at=inbound.received_at,
        )
        _reply_template(
            participant, "stop_confirmed", cause, reply_to=_reply_number(participant, inbound)
        )
        return False
    if action == InboundAction.START:
        opt_out_clear(participant_id=participant.pk)
        _reply_template(
            participant, "start_confirmed", cause, reply_to=_reply_number(participant, inbound)
        )
        return False
    if action == InboundAction.HELP:
        _reply_template(
            participant, "help_reply", cause, reply_to=_reply_number(participant, inbound)
        )
        return False
    if action == InboundAction.LANGUAGE:
        return _language_change(participant, parsed.language, cause)
    if action not in {InboundAction.CONFIRM, InboundAction.RESCHEDULE, InboundAction.PIN}:
        return True
    reply = InboundReply(
        participant_id=participant.pk,
        from_number=inbound.from_number,
        body=text,
        received_at=inbound.received_at,
        language=language_for(participant, FORMATTED_LANGUAGES),
    )
    handler = reply_handler(action)
    answer: str | None = None
    if handler is not None:
        try:
            with transaction.atomic():
                answer = handler(reply)
        except Exception:
            logger.exception("reply handler failed action=%s inbound=%s", action, inbound.pk)
            return True
    if action == InboundAction.RESCHEDULE:
        # The officer decides; the person is told the request arrived.
        if answer:
            message_send_direct(
                participant=participant, body=answer, purpose="answer to the participant's text"
            )
        else:
            _reply_template(participant, "reschedule_received", cause)
        return True
    if answer:
        message_send_direct(
            participant=participant, body=answer, purpose="answer to the participant's text"
        )
        return False
    return True
