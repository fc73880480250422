"""message_queue: one outbox row in the caller's transaction, in the person's language and
on their clock, honouring STOP, copied to consenting counsel."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction

from ontrack.messaging.models import Channel, Message, MessageStatus, OptOut, Recipient
from ontrack.messaging.sealing import unseal
from ontrack.messaging.services.notices import message_queue
from ontrack.messaging.services.opt_out import opt_out_record
from ontrack.participants.models import Counsel, Participant
from tests.support import first_phone

pytestmark = pytest.mark.django_db

WHEN = dt.datetime(2026, 3, 10, 14, 0, tzinfo=dt.UTC)  # 10:00 in New York (EDT)


def _book(participant: Participant, key: str = "appointment_booked") -> Message | None:
    return message_queue(
        participant=participant,
        template_key=key,
        context={"when": WHEN, "place": "970 Broad St", "purpose": "Plan review"},
        purpose="appointment booked",
        cause="appointment:1",
    )


def test_notice_is_written_in_spanish_on_the_participants_clock(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    message = _book(participant)
    assert message is not None
    assert message.status == MessageStatus.QUEUED
    assert message.language == "es"
    assert message.channel == Channel.SMS
    assert message.to == first_phone(participant)
    assert "el martes 10 de marzo a las 10:00" in message.body
    assert message.body.startswith("Hola María")


def test_notice_in_haitian_creole_names_the_day_in_creole(
    speaker: Callable[..., Participant],
) -> None:
    message = _book(speaker("ht"))
    assert message is not None
    assert "madi 10 mas a 10:00" in message.body


def test_language_without_templates_falls_back_to_the_programs_default(
    speaker: Callable[..., Participant],
) -> None:
    message = _book(speaker("quc"))  # K'iche': no shipped bodies
    assert message is not None
    assert message.language == "en"
    assert "Tuesday, March 10 at 10:00 AM" in message.body


def _book_then_fail(participant: Participant) -> None:
    """Books inside a transaction whose later save fails, so the booking goes with it."""
    with transaction.atomic():
        _book(participant)
        raise RuntimeError("the appointment could not be saved")


def test_row_is_rolled_back_with_its_cause(speaker: Callable[..., Participant]) -> None:
    participant = speaker("fr")
    with pytest.raises(RuntimeError):
        _book_then_fail(participant)
    assert not Message.objects.filter(participant=participant).exists()


def test_opted_out_participant_gets_no_reminder_and_it_is_recorded(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    opt_out_record(participant_id=participant.pk, source="keyword STOP")
    assert _book(participant, "appointment_reminder") is None
    (row,) = Message.objects.filter(participant=participant)
    assert row.status == MessageStatus.SUPPRESSED
    assert "STOP" in row.status_reason


def test_essential_notice_after_stop_is_held_for_the_officer_without_email(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    OptOut.objects.create(participant=participant, since=WHEN, source="keyword STOP")
    message = message_queue(
        participant=participant,
        template_key="hearing_reminder",
        context={"when": WHEN, "place": "Newark Immigration Court"},
        purpose="hearing",
        essential=True,
    )
    assert message is not None
    assert message.status == MessageStatus.HELD
    assert message.channel == Channel.OFFICER


def test_essential_notice_after_stop_goes_by_email_when_there_is_one(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("pt", email="p@example.org")
    OptOut.objects.create(participant=participant, since=WHEN, source="keyword STOP")
    message = message_queue(
        participant=participant,
        template_key="portal_sign_in",
        context={},
        secrets={"code": "123456", "link": "https://x/me/link/abc/"},
        purpose="sign-in",
        essential=True,
    )
    assert message is not None
    assert message.channel == Channel.EMAIL
    assert message.to == "p@example.org"
    assert "123456" in unseal(message.sealed_body)


def test_appointment_notice_is_copied_to_consenting_counsel(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("ht")
    Counsel.objects.create(
        participant=participant,
        name="A. Lawyer",
        email="lawyer@example.org",
        consent_to_notices=True,
    )
    _book(participant)
    copy = Message.objects.get(participant=participant, recipient=Recipient.COUNSEL)
    assert copy.channel == Channel.EMAIL
    assert copy.to == "lawyer@example.org"
    assert copy.body.startswith(f"Copy for counsel of {participant.full_name}:")
    assert "Tuesday, March 10 at 10:00 AM" in copy.body


def test_counsel_without_consent_gets_nothing(speaker: Callable[..., Participant]) -> None:
    participant = speaker("es")
    Counsel.objects.create(participant=participant, name="B", email="b@example.org")
    _book(participant)
    assert not Message.objects.filter(recipient=Recipient.COUNSEL).exists()


def test_every_shipped_key_renders_in_every_shipped_language(
    speaker: Callable[..., Participant],
) -> None:
    from ontrack.messaging.default_templates import TEMPLATES

    for language in ("en", "es", "pt", "ht", "fr"):
        participant = speaker(language)
        for key in TEMPLATES:
            message = message_queue(
                participant=participant,
                template_key=key,
                context={
                    "when": WHEN,
                    "until": WHEN,
                    "place": "x",
                    "purpose": "y",
                    "code": "1",
                    "link": "l",
                    "reference": "R1",
                    "outcome": "o",
                    "client": "c",
                    "notice": "n",
                    "date": dt.date(2026, 3, 10),
                },
                purpose="test",
            )
            assert message is not None
            assert message.language == language
            assert "{" not in message.body, (key, language, message.body)


def test_dates_follow_the_participants_time_zone(speaker: Callable[..., Participant]) -> None:
    participant = speaker("en", time_zone="America/Los_Angeles")
    message = _book(participant)
    assert message is not None
    assert "7:00 AM" in message.body
    assert WHEN.astimezone(ZoneInfo("America/Los_Angeles")).hour == 7


def test_retention_purges_old_texts_but_keeps_what_still_waits(
    speaker: Callable[..., Participant],
) -> None:
    from ontrack.messaging.services.retention import messages_purge_before

    participant = speaker("es")
    old, waiting = _book(participant), _book(participant)
    assert old is not None
    Message.objects.filter(pk=old.pk).update(status=MessageStatus.DELIVERED)
    cutoff = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert messages_purge_before(cutoff) == 1
    assert list(Message.objects.filter(participant=participant)) == [waiting]
