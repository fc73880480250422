"""The participant gives or withdraws consent to copies of their notices for their counsel
of record from the portal, in their language; the change is on their case's timeline as
theirs."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.actors import SYSTEM
from ontrack.participants.models import Counsel, EventKind, Participant
from ontrack.participants.services import counsel_set

pytestmark = pytest.mark.django_db


def _with_counsel(participant: Participant, *, consent: bool) -> Participant:
    counsel_set(
        participant,
        actor=SYSTEM,
        name="Ana Abogada",
        email="ana@example.org",
        consent_to_notices=consent,
    )
    return participant


def test_the_participant_gives_and_withdraws_consent_from_the_portal(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = _with_counsel(make_participant(preferred_language="es"), consent=False)
    client = portal_client(participant)
    page = client.get("/me/counsel/").content.decode()
    assert "Ana Abogada" in page, "the page is in the person's language"
    assert "Su abogado:" in page, "the page is in the person's language"
    assert client.post("/me/counsel/", {"consent": "yes"}).status_code == 302
    counsel = Counsel.objects.get(participant=participant)
    assert counsel.consent_to_notices
    assert counsel.consent_recorded_at is not None
    event = participant.events.filter(kind=EventKind.COUNSEL_CHANGED).first()
    assert event is not None
    assert "portal" in event.summary
    assert event.actor is None
    client.post("/me/counsel/", {"consent": "no"})
    counsel.refresh_from_db()
    assert not counsel.consent_to_notices


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "Copies of my notices to my lawyer"),
        ("es", "Copias de mis avisos a mi abogado"),
        ("pt", "Cópias dos meus avisos para o meu advogado"),
        ("ht", "Kopi avi mwen yo pou avoka mwen"),
        ("fr", "Copies de mes avis à mon avocat"),
    ],
)
def test_the_consent_page_speaks_each_portal_language(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    language: str,
    words: str,
) -> None:
    participant = _with_counsel(make_participant(preferred_language=language), consent=False)
    page = portal_client(participant).get("/me/counsel/").content.decode()
    assert words in page


def test_without_counsel_of_record_the_page_says_so_and_changes_nothing(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="en")
    client = portal_client(participant)
    assert "No lawyer is recorded" in client.get("/me/counsel/").content.decode()
    assert client.post("/me/counsel/", {"consent": "yes"}).status_code == 200
    assert not Counsel.objects.filter(participant=participant).exists()
