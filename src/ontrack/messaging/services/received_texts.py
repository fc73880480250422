"""Texts a participant sends us: recorded once per provider message, then acted on by what
they say (``keywords``): STOP/START/HELP, a language change, or an answer another app
registered a handler for (``reply_handlers``); the rest waits in the officer's inbox. A
staff keyword ("ACK 4821", answering an on-call page) from a number that is not a
participant's goes to the handler another app registered for it, and its answer is texted
back.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ontrack.accounts.actors import SystemActor
from ontrack.accounts.models import User
from ontrack.messaging import keywords
from ontrack.messaging.datefmt import LANGUAGES as FORMATTED_LANGUAGES
from ontrack.messaging.models import Channel, InboundAction, InboundMessage
from ontrack.messaging.reply_handlers import (
    InboundReply,
    StaffAnswer,
    StaffReply,
    StaffReplyHandler,
    reply_handler,
    staff_reply_handler,
)
from ontrack.messaging.services.notices import message_send_direct, template_message_queue
from ontrack.messaging.services.opt_out import opt_out_clear, opt_out_record
from ontrack.messaging.services.routing import sms_number
from ontrack.messaging.services.staff_notices import staff_notice_queue
from ontrack.messaging.services.templates import language_for
from ontrack.participants.models import Participant
from ontrack.participants.queries import can_write_participant, participant_for_number
from ontrack.participants.services import participant_update, phone_normalise

logger = logging.getLogger(__name__)


def inbound_simulate(*, user: User, participant: Participant, body: str) -> InboundMessage:
    """A text "from" the participant's phone, for trying replies (STOP, SÍ, a PIN...) in a
    demo or development. Only while texts go to the console provider: with a real provider,
    replies come from real phones only."""
    if settings.ONTRACK_MESSAGING_PROVIDERS.get("sms") != "console":
        raise PermissionDenied("Replies can only be simulated with the console provider.")
    if not can_write_participant(user, participant):
        raise PermissionDenied("You may only simulate replies for your caseload.")
    number = sms_number(participant)
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
    template_message_queue(
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
        return sms_number(participant)


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
    staff_handler = staff_reply_handler(body) if participant is None else None
    if staff_handler is not None:
        return _staff_reply_receive(
            staff_handler,
            provider=provider,
            provider_message_id=provider_message_id,
            from_number=from_number,
            to_number=to_number,
            body=body,
            received_at=received_at,
        )
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


def _staff_reply_receive(
    handler: StaffReplyHandler,
    *,
    provider: str,
    provider_message_id: str,
    from_number: str,
    to_number: str,
    body: str,
    received_at: dt.datetime,
) -> InboundMessage:
    """Record a staff keyword text, let its handler act, and text its answer back to the
    number it came from. Nobody's inbox holds it: the answer already said what came of it.
    A handler that fails changes nothing and the sender is told to use the console."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                inbound = InboundMessage.objects.create(
                    participant=None,
                    provider=provider,
                    provider_message_id=provider_message_id,
                    from_number=from_number[:32],
                    to_number=to_number[:32],
                    body=body,
                    received_at=received_at,
                )
        except IntegrityError:
            return InboundMessage.objects.get(
                provider=provider, provider_message_id=provider_message_id
            )
        reply = StaffReply(from_number=from_number, body=body, received_at=received_at)
        try:
            with transaction.atomic():
                answer = handler(reply)
        except Exception:
            logger.exception("staff reply handler failed inbound=%s", inbound.pk)
            answer = StaffAnswer("Not done", "Something went wrong; please use the console.")
        try:
            staff_notice_queue(
                user=None,
                channel=Channel.SMS,
                subject=answer.subject,
                body=answer.body,
                cause=f"reply to inbound {inbound.pk}",
                address=from_number,
            )
        except ValidationError:
            logger.warning("staff reply not answered inbound=%s reason=bad_number", inbound.pk)
    logger.info("inbound staff text provider=%s inbound=%s", provider, inbound.pk)
    return inbound


def _language_change(participant: Participant, language: str, cause: str) -> bool:
    """Write the person's new language through the participants service (it keeps the
    timeline) and confirm in that language. The confirmation is not essential: after STOP it
    is recorded as not sent. A record the change cannot be saved on goes to the officer."""
    try:
        with transaction.atomic():
            participant_update(
                participant, actor=SystemActor("language by text"), preferred_language=language
            )
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
