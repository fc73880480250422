"""Answers to texted replies about appointments, registered with messaging's reply handlers
(``messaging.reply_handlers``) in ``ScheduleConfig.ready`` (messaging may not import
schedule).

"CONFIRM" confirms the next booked appointment; "RESCHEDULE ..." asks for another time for
it (the officer decides). Answers are entirely in the reply's language: the sentence from
schedule's translations, the date written by messaging's ``datefmt`` (Django has no locale
data for Haitian Creole, so its date formats would put an English date in a Creole answer).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from ontrack.messaging.datefmt import LANGUAGES as DATE_LANGUAGES
from ontrack.messaging.datefmt import format_datetime
from ontrack.messaging.reply_handlers import InboundReply
from ontrack.participants.models import Participant
from ontrack.schedule.models import Appointment, AppointmentStatus
from ontrack.schedule.services.appointments import appointment_confirm
from ontrack.schedule.services.reschedules import reschedule_request_create


def _participant(reply: InboundReply) -> Participant | None:
    return Participant.objects.filter(pk=reply.participant_id).first()


def _language(reply: InboundReply, participant: Participant) -> str:
    """The answer's language: the one messaging chose for the reply (one it can write dates
    in), else the participant's, else English."""
    for language in (reply.language, participant.preferred_language):
        if language in DATE_LANGUAGES:
            return language
    return "en"


def _when(appointment: Appointment, participant: Participant, language: str) -> str:
    return format_datetime(appointment.starts_at, language, ZoneInfo(participant.time_zone))


def confirm_reply(reply: InboundReply) -> str | None:
    participant = _participant(reply)
    if participant is None:
        return None
    language = _language(reply, participant)
    with translation.override(language):
        appointment = appointment_confirm(participant=participant, at=reply.received_at)
        if appointment is None:
            return _("You have no appointment to confirm.")
        return _("Thank you. Your appointment on %(when)s is confirmed.") % {
            "when": _when(appointment, participant, language)
        }


def reschedule_reply(reply: InboundReply) -> str | None:
    """A request for the next booked appointment, with the text as the reason; None (the
    officer reads it in the inbox) when there is nothing to move."""
    participant = _participant(reply)
    if participant is None:
        return None
    appointment = (
        Appointment.objects.filter(
            participant=participant,
            status=AppointmentStatus.BOOKED,
            starts_at__gt=reply.received_at,
        )
        .order_by("starts_at")
        .first()
    )
    if appointment is None:
        return None
    try:
        reschedule_request_create(
            participant=participant,
            appointment_id=appointment.pk,
            reason=f"By text message: {reply.body.strip()[:500]}",
            now=reply.received_at,
        )
    except ValidationError:
        return None
    language = _language(reply, participant)
    with translation.override(language):
        return _(
            "We received your request to change your appointment on %(when)s. "
            "Your officer will answer."
        ) % {"when": _when(appointment, participant, language)}
