"""Replies: matched by number, keywords in every shipped language, STOP honoured, handlers
registered by other apps, free text to the officer's inbox."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone

from ontrack.messaging import inbound
from ontrack.messaging.models import InboundMessage, Message, MessageStatus, OptOut
from ontrack.messaging.services import inbound_receive, message_queue

pytestmark = pytest.mark.django_db
_ids = itertools.count(1)


def text_from(participant, body: str) -> InboundMessage:
    return inbound_receive(
        provider="test",
        provider_message_id=f"SM{next(_ids)}",
        from_number=participant.phones.first().number,
        body=body,
        received_at=timezone.now(),
    )


def last_text(participant) -> Message:
    return Message.objects.filter(participant=participant).order_by("-id").first()


@pytest.fixture
def handlers():
    """Registers reply handlers for a test and restores the registry afterwards."""
    saved = dict(inbound._handlers)
    yield inbound.register_reply_handler
    inbound._handlers.clear()
    inbound._handlers.update(saved)


def test_spanish_si_confirms_through_the_registered_handler(speaker, handlers):
    seen = []
    handlers("confirm", lambda reply: seen.append(reply) or "Gracias, confirmado.")
    participant = speaker("es")
    received = text_from(participant, "Sí")
    assert received.action == "confirm" and not received.needs_answer
    assert seen[0].participant_id == participant.pk and seen[0].language == "es"
    assert last_text(participant).body == "Gracias, confirmado."


def test_creole_wi_confirms(speaker, handlers):
    handlers("confirm", lambda reply: "Mèsi, randevou ou konfime.")
    participant = speaker("ht")
    assert text_from(participant, "Wi").action == "confirm"
    assert last_text(participant).body == "Mèsi, randevou ou konfime."


def test_confirm_with_nothing_to_confirm_goes_to_the_officer(speaker, handlers):
    handlers("confirm", lambda reply: None)
    assert text_from(speaker("pt"), "SIM").needs_answer


def test_creole_help_answers_with_the_office_contact_in_creole(speaker):
    participant = speaker("ht")
    assert text_from(participant, "ÈD").action == "help"
    answer = last_text(participant)
    assert answer.language == "ht" and answer.body.startswith("Newark: rele")


def test_stop_in_spanish_opts_out_and_later_reminders_are_not_sent(speaker):
    participant = speaker("es")
    queued = message_queue(
        participant=participant,
        template_key="appointment_reminder",
        context={"when": timezone.now() + dt.timedelta(days=2), "place": "x", "purpose": "y"},
        purpose="reminder",
        send_at=timezone.now() + dt.timedelta(days=1),
    )
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


def test_creole_stop_and_start(speaker):
    participant = speaker("ht")
    text_from(participant, "SISPANN")
    assert OptOut.objects.filter(participant=participant).exists()
    text_from(participant, "Kòmanse")
    assert not OptOut.objects.filter(participant=participant).exists()
    assert last_text(participant).body.startswith("Ou ap resevwa rapèl pa tèks ankò")


def test_reschedule_request_goes_to_the_officer_and_is_acknowledged(speaker):
    participant = speaker("es")
    received = text_from(participant, "cambiar")
    assert received.action == "reschedule" and received.needs_answer
    assert last_text(participant).template_key == "reschedule_received"


def test_digits_only_reply_is_a_pin_for_the_registered_handler(speaker, handlers):
    handlers("pin", lambda reply: f"PIN {reply.body} ok")
    participant = speaker("fr")
    assert text_from(participant, "4812").action == "pin"
    assert last_text(participant).body == "PIN 4812 ok"


def test_free_text_lands_in_the_inbox(speaker):
    participant = speaker("es")
    received = text_from(participant, "No tengo transporte el martes")
    assert received.action == "" and received.needs_answer
    assert received.participant == participant


def test_same_provider_message_twice_is_acted_on_once(speaker):
    participant = speaker("es")
    kwargs = dict(
        provider="test",
        provider_message_id="SMdup",
        from_number=participant.phones.first().number,
        body="AYUDA",
        received_at=timezone.now(),
    )
    first, second = inbound_receive(**kwargs), inbound_receive(**kwargs)
    assert first.pk == second.pk
    assert Message.objects.filter(participant=participant, template_key="help_reply").count() == 1


def test_unknown_number_is_kept_for_staff_without_a_participant(db):
    received = inbound_receive(
        provider="test",
        provider_message_id="SMx",
        from_number="+12025550199",
        body="hello?",
        received_at=timezone.now(),
    )
    assert received.participant is None and received.needs_answer


# --- STOP and essential notices ------------------------------------------------------------


def _hearing_reminder(participant) -> Message:
    message = message_queue(
        participant=participant,
        template_key="hearing_reminder",
        context={"when": timezone.now() + dt.timedelta(days=3), "place": "970 Broad St"},
        purpose="hearing reminder",
        send_at=timezone.now() + dt.timedelta(days=1),
    )
    assert message is not None and message.channel == "sms" and message.essential
    return message


def test_stop_sends_a_queued_court_reminder_by_e_mail_instead(speaker):
    participant = speaker("es", email="maria@example.org")
    reminder = _hearing_reminder(participant)
    text_from(participant, "STOP")
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.CANCELLED
    instead = Message.objects.get(participant=participant, template_key="hearing_reminder",
                                  channel="email")  # fmt: skip
    assert instead.status == MessageStatus.QUEUED and instead.to == "maria@example.org"
    assert instead.body == reminder.body and instead.send_at == reminder.send_at
    assert f"message {instead.pk}" in reminder.status_reason


def test_stop_holds_a_queued_court_reminder_for_the_officer_without_e_mail(speaker):
    participant = speaker("ht")
    reminder = _hearing_reminder(participant)
    text_from(participant, "SISPANN")
    held = Message.objects.get(participant=participant, template_key="hearing_reminder",
                               channel="officer")  # fmt: skip
    assert held.status == MessageStatus.HELD and "officer" in held.status_reason
    reminder.refresh_from_db()
    assert reminder.status == MessageStatus.CANCELLED


def test_stop_confirmation_goes_by_text_to_the_number_that_sent_stop(speaker):
    participant = speaker("es", email="maria@example.org")
    text_from(participant, "PARAR")
    answer = last_text(participant)
    assert answer.template_key == "stop_confirmed"
    assert answer.channel == "sms" and answer.status == MessageStatus.QUEUED
    assert answer.to == participant.phones.first().number


def test_help_from_an_opted_out_person_is_answered_by_text(speaker):
    participant = speaker("ht")
    text_from(participant, "SISPANN")
    text_from(participant, "ÈD")
    answer = last_text(participant)
    assert answer.template_key == "help_reply" and answer.channel == "sms"
    assert answer.status == MessageStatus.QUEUED and answer.body.startswith("Newark: rele")


def test_start_confirmation_goes_by_text(speaker):
    participant = speaker("fr")
    text_from(participant, "ARRÊT")
    text_from(participant, "DÉMARRER")
    answer = last_text(participant)
    assert answer.template_key == "start_confirmed" and answer.channel == "sms"
    assert answer.status == MessageStatus.QUEUED


# --- language change by text ---------------------------------------------------------------


def test_idioma_es_switches_to_spanish_and_confirms_in_spanish(speaker):
    from ontrack.participants.models import ParticipantEvent

    participant = speaker("en")
    received = text_from(participant, "IDIOMA ES")
    assert received.action == "language" and not received.needs_answer
    participant.refresh_from_db()
    assert participant.preferred_language == "es"
    answer = last_text(participant)
    assert answer.template_key == "language_changed" and answer.language == "es"
    assert "recibirá nuestros mensajes en español" in answer.body
    event = ParticipantEvent.objects.filter(participant=participant).order_by("-id").first()
    assert event.kind == "edited" and event.data["preferred_language"] == ["en", "es"]


def test_kreyol_alone_switches_to_haitian_creole_and_confirms_in_creole(speaker):
    participant = speaker("es")
    assert text_from(participant, "Kreyòl").action == "language"
    participant.refresh_from_db()
    assert participant.preferred_language == "ht"
    answer = last_text(participant)
    assert answer.language == "ht" and "an kreyòl" in answer.body
    later = message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "R-1"},
        purpose="receipt",
    )
    assert later.body.startswith("Nou resevwa"), "later notices follow the new language"


def test_lang_with_an_unknown_language_goes_to_the_officer(speaker):
    participant = speaker("en")
    received = text_from(participant, "LANG klingon")
    assert received.needs_answer and received.action == ""
    participant.refresh_from_db()
    assert participant.preferred_language == "en"


# --- a keyword followed by free text --------------------------------------------------------


def test_keyword_followed_by_free_text_still_counts_and_the_text_is_kept(speaker, handlers):
    seen = []
    handlers("reschedule", lambda reply: seen.append(reply.body) or None)
    participant = speaker("es")
    received = text_from(participant, "CAMBIAR por favor, no tengo transporte")
    assert received.action == "reschedule"
    assert received.body == "CAMBIAR por favor, no tengo transporte"
    assert seen == ["CAMBIAR por favor, no tengo transporte"]


def test_yes_thanks_confirms(speaker, handlers):
    handlers("confirm", lambda reply: "Confirmed.")
    participant = speaker("en")
    assert text_from(participant, "YES thanks").action == "confirm"
    assert last_text(participant).body == "Confirmed."


def test_cancel_followed_by_a_sentence_is_not_an_opt_out(speaker):
    participant = speaker("en")
    received = text_from(participant, "Cancel my appointment please")
    assert received.action == "" and received.needs_answer
    assert not OptOut.objects.filter(participant=participant).exists()
