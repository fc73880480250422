"""Replies: matched by number, keywords in every shipped language, STOP honoured, handlers
registered by other apps, free text to the officer's inbox."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from ontrack.messaging import reply_handlers
from ontrack.messaging.models import InboundMessage, Message, MessageStatus, OptOut
from ontrack.messaging.reply_handlers import InboundReply
from ontrack.messaging.services.notices import message_queue
from ontrack.messaging.services.received_texts import inbound_receive
from ontrack.participants.models import Participant
from tests.support import first_phone

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def text_from(participant: Participant, body: str) -> InboundMessage:
    return inbound_receive(
        provider="test",
        provider_message_id=f"SM{next(_ids)}",
        from_number=first_phone(participant),
        body=body,
        received_at=timezone.now(),
    )


def last_text(participant: Participant) -> Message:
    message = Message.objects.filter(participant=participant).order_by("-id").first()
    assert message is not None, "the participant was sent a text"
    return message


@pytest.fixture
def handlers() -> Iterator[Callable[..., Any]]:
    """Registers reply handlers for a test and restores the registry afterwards."""
    saved = dict(reply_handlers._handlers)
    yield reply_handlers.register_reply_handler
    reply_handlers._handlers.clear()
    reply_handlers._handlers.update(saved)


def test_spanish_si_confirms_through_the_registered_handler(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    seen: list[InboundReply] = []

    def confirm(reply: InboundReply) -> str:
        seen.append(reply)
        return "Gracias, confirmado."

    handlers("confirm", confirm)
    participant = speaker("es")
    received = text_from(participant, "Sí")
    assert received.action == "confirm"
    assert not received.needs_answer
    assert seen[0].participant_id == participant.pk
    assert seen[0].language == "es"
    assert last_text(participant).body == "Gracias, confirmado."


def test_creole_wi_confirms(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    handlers("confirm", lambda reply: "Mèsi, randevou ou konfime.")
    participant = speaker("ht")
    assert text_from(participant, "Wi").action == "confirm"
    assert last_text(participant).body == "Mèsi, randevou ou konfime."


def test_confirm_with_nothing_to_confirm_goes_to_the_officer(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    handlers("confirm", lambda reply: None)
    assert text_from(speaker("pt"), "SIM").needs_answer


def test_creole_help_answers_with_the_office_contact_in_creole(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("ht")
    assert text_from(participant, "ÈD").action == "help"
    answer = last_text(participant)
    assert answer.language == "ht"
    assert answer.body.startswith("Newark: rele")


def test_stop_in_spanish_opts_out_and_later_reminders_are_not_sent(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    queued = message_queue(
        participant=participant,
        template_key="appointment_reminder",
        context={"when": timezone.now() + dt.timedelta(days=2), "place": "x", "purpose": "y"},
        purpose="reminder",
        send_at=timezone.now() + dt.timedelta(days=1),
    )
    assert queued is not None
    assert text_from(participant, "parar").action == "stop"
    assert OptOut.objects.filter(participant=participant).exists()
    queued.refresh_from_db()
    assert queued.status == MessageStatus.CANCELLED
    assert "Ya no recibirá recordatorios" in last_text(participant).body
    assert (
        message_queue(
            participant=participant,
            template_key="appointment_reminder",
            context={"when": timezone.now(), "place": "x", "purpose": "y"},
            purpose="reminder",
        )
        is None
    )


def test_creole_stop_and_start(speaker: Callable[..., Participant]) -> None:
    participant = speaker("ht")
    text_from(participant, "SISPANN")
    assert OptOut.objects.filter(participant=participant).exists()
    text_from(participant, "Kòmanse")
    assert not OptOut.objects.filter(participant=participant).exists()
    assert last_text(participant).body.startswith("Ou ap resevwa rapèl pa tèks ankò")


def test_reschedule_request_goes_to_the_officer_and_is_acknowledged(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    received = text_from(participant, "cambiar")
    assert received.action == "reschedule"
    assert received.needs_answer
    assert last_text(participant).template_key == "reschedule_received"


def test_digits_only_reply_is_a_pin_for_the_registered_handler(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    handlers("pin", lambda reply: f"PIN {reply.body} ok")
    participant = speaker("fr")
    assert text_from(participant, "4812").action == "pin"
    assert last_text(participant).body == "PIN 4812 ok"


def test_free_text_lands_in_the_inbox(speaker: Callable[..., Participant]) -> None:
    participant = speaker("es")
    received = text_from(participant, "No tengo transporte el martes")
    assert received.action == ""
    assert received.needs_answer
    assert received.participant == participant


def test_same_provider_message_twice_is_acted_on_once(speaker: Callable[..., Participant]) -> None:
    participant = speaker("es")
    from_number, received_at = first_phone(participant), timezone.now()

    def receive() -> InboundMessage:
        return inbound_receive(
            provider="test",
            provider_message_id="SMdup",
            from_number=from_number,
            body="AYUDA",
            received_at=received_at,
        )

    first, second = receive(), receive()
    assert first.pk == second.pk
    assert Message.objects.filter(participant=participant, template_key="help_reply").count() == 1


def test_unknown_number_is_kept_for_staff_without_a_participant(db: None) -> None:
    received = inbound_receive(
        provider="test",
        provider_message_id="SMx",
        from_number="+12025550199",
        body="hello?",
        received_at=timezone.now(),
    )
    assert received.participant is None
    assert received.needs_answer


@pytest.fixture
def staff_keyword() -> Iterator[list[reply_handlers.StaffReply]]:
    """A staff keyword "PING" registered for a test (the registry restored afterwards); the
    list collects the replies its handler was given."""
    saved = dict(reply_handlers._staff_handlers)
    seen: list[reply_handlers.StaffReply] = []

    def handler(reply: reply_handlers.StaffReply) -> reply_handlers.StaffAnswer:
        seen.append(reply)
        if "boom" in reply.body:
            raise RuntimeError("the handler failed")
        return reply_handlers.StaffAnswer("Pong", "Heard you.")

    reply_handlers.register_staff_reply_handler("PING", handler)
    yield seen
    reply_handlers._staff_handlers.clear()
    reply_handlers._staff_handlers.update(saved)


def _staff_text(body: str, sid: str) -> InboundMessage:
    return inbound_receive(
        provider="test",
        provider_message_id=sid,
        from_number="(202) 555-0199",
        body=body,
        received_at=timezone.now(),
    )


def test_a_staff_keyword_from_a_staff_number_goes_to_its_handler_and_is_answered_once(
    staff_keyword: list[reply_handlers.StaffReply],
) -> None:
    received = _staff_text("ping 42", "SMs1")
    _staff_text("ping 42", "SMs1")  # the webhook retried
    assert [r.body for r in staff_keyword] == ["ping 42"]
    assert received.participant is None
    assert not received.needs_answer, "answered already: in nobody's inbox"
    (answer,) = Message.objects.filter(to="+12025550199")
    assert answer.body == "Pong. Heard you."


def test_a_failing_staff_handler_is_answered_with_the_console(
    staff_keyword: list[reply_handlers.StaffReply],
) -> None:
    _staff_text("PING boom", "SMs2")
    (answer,) = Message.objects.filter(to="+12025550199")
    assert answer.body == "Not done. Something went wrong; please use the console."


def test_a_participant_texting_a_staff_keyword_reaches_their_officer(
    staff_keyword: list[reply_handlers.StaffReply], speaker: Callable[..., Participant]
) -> None:
    received = text_from(speaker("en"), "PING")
    assert staff_keyword == [], "a participant's text is never a staff reply"
    assert received.needs_answer


# --- STOP and essential notices ------------------------------------------------------------


def _hearing_reminder(participant: Participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="hearing_reminder",
        context={"when": timezone.now() + dt.timedelta(days=3), "place": "970 Broad St"},
        purpose="hearing reminder",
        send_at=timezone.now() + dt.timedelta(days=1),
    )
    assert message is not None
    assert message.channel == "sms"
    assert message.essential
    return message


def test_stop_sends_a_queued_court_reminder_by_e_mail_instead(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es", email="maria@example.org")
    reminder = _hearing_reminder(participant)
    text_from(participant, "STOP")
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.CANCELLED
    instead = Message.objects.get(participant=participant, template_key="hearing_reminder",
                                  channel="email")  # fmt: skip
    assert instead.status == MessageStatus.QUEUED
    assert instead.to == "maria@example.org"
    assert instead.body == reminder.body
    assert instead.send_at == reminder.send_at
    assert f"message {instead.pk}" in reminder.status_reason


def test_stop_holds_a_queued_court_reminder_for_the_officer_without_e_mail(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("ht")
    reminder = _hearing_reminder(participant)
    text_from(participant, "SISPANN")
    held = Message.objects.get(participant=participant, template_key="hearing_reminder",
                               channel="officer")  # fmt: skip
    assert held.status == MessageStatus.HELD
    assert "officer" in held.status_reason
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.CANCELLED


def test_stop_confirmation_goes_by_text_to_the_number_that_sent_stop(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es", email="maria@example.org")
    text_from(participant, "PARAR")
    answer = last_text(participant)
    assert answer.template_key == "stop_confirmed"
    assert answer.channel == "sms"
    assert answer.status == MessageStatus.QUEUED
    assert answer.to == first_phone(participant)


def test_help_from_an_opted_out_person_is_answered_by_text(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("ht")
    text_from(participant, "SISPANN")
    text_from(participant, "ÈD")
    answer = last_text(participant)
    assert answer.template_key == "help_reply"
    assert answer.channel == "sms"
    assert answer.status == MessageStatus.QUEUED
    assert answer.body.startswith("Newark: rele")


def test_start_confirmation_goes_by_text(speaker: Callable[..., Participant]) -> None:
    participant = speaker("fr")
    text_from(participant, "ARRÊT")
    text_from(participant, "DÉMARRER")
    answer = last_text(participant)
    assert answer.template_key == "start_confirmed"
    assert answer.channel == "sms"
    assert answer.status == MessageStatus.QUEUED


# --- language change by text ---------------------------------------------------------------


def test_idioma_es_switches_to_spanish_and_confirms_in_spanish(
    speaker: Callable[..., Participant],
) -> None:
    from ontrack.participants.models import ParticipantEvent

    participant = speaker("en")
    received = text_from(participant, "IDIOMA ES")
    assert received.action == "language"
    assert not received.needs_answer
    participant.refresh_from_db()
    assert participant.preferred_language == "es"
    answer = last_text(participant)
    assert answer.template_key == "language_changed"
    assert answer.language == "es"
    assert "recibirá nuestros mensajes en español" in answer.body
    event = ParticipantEvent.objects.filter(participant=participant).order_by("-id").first()
    assert event is not None
    assert event.kind == "edited"
    assert event.data["preferred_language"] == ["en", "es"]


def test_kreyol_alone_switches_to_haitian_creole_and_confirms_in_creole(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    assert text_from(participant, "Kreyòl").action == "language"
    participant.refresh_from_db()
    assert participant.preferred_language == "ht"
    answer = last_text(participant)
    assert answer.language == "ht"
    assert "an kreyòl" in answer.body
    later = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R-1"},
        purpose="receipt",
    )
    assert later is not None
    assert later.body.startswith("Nou resevwa"), "later notices follow the new language"


def test_lang_with_an_unknown_language_goes_to_the_officer(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("en")
    received = text_from(participant, "LANG klingon")
    assert received.needs_answer
    assert received.action == ""
    participant.refresh_from_db()
    assert participant.preferred_language == "en"


# --- a keyword followed by free text --------------------------------------------------------


def test_keyword_followed_by_free_text_still_counts_and_the_text_is_kept(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    seen: list[str] = []

    def reschedule(reply: InboundReply) -> None:
        seen.append(reply.body)

    handlers("reschedule", reschedule)
    participant = speaker("es")
    received = text_from(participant, "CAMBIAR por favor, no tengo transporte")
    assert received.action == "reschedule"
    assert received.body == "CAMBIAR por favor, no tengo transporte"
    assert seen == ["CAMBIAR por favor, no tengo transporte"]


def test_yes_thanks_confirms(
    speaker: Callable[..., Participant], handlers: Callable[..., Any]
) -> None:
    handlers("confirm", lambda reply: "Confirmed.")
    participant = speaker("en")
    assert text_from(participant, "YES thanks").action == "confirm"
    assert last_text(participant).body == "Confirmed."


def test_cancel_followed_by_a_sentence_is_not_an_opt_out(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("en")
    received = text_from(participant, "Cancel my appointment please")
    assert received.action == ""
    assert received.needs_answer
    assert not OptOut.objects.filter(participant=participant).exists()
