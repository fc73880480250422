"""The participant gives or withdraws consent to copies of their notices for their counsel
of record from the portal, in their language; the change is on their case's timeline as
theirs."""

from __future__ import annotations

import pytest

from ontrack.participants.models import Counsel, EventKind, Participant
from ontrack.participants.services import counsel_set

pytestmark = pytest.mark.django_db


def _with_counsel(participant: Participant, *, consent: bool) -> Participant:
    counsel_set(
        participant,
        actor=None,
        name="Ana Abogada",
        email="ana@example.org",
        consent_to_notices=consent,
    )
    return participant


def test_the_participant_gives_and_withdraws_consent_from_the_portal(
    make_participant, portal_client
):
    participant = _with_counsel(make_participant(preferred_language="es"), consent=False)
    client = portal_client(participant)
    page = client.get("/me/counsel/").content.decode()
    assert "Ana Abogada" in page and "Su abogado:" in page, "the page is in the person's language"
    assert client.post("/me/counsel/", {"consent": "yes"}).status_code == 302
    counsel = Counsel.objects.get(participant=participant)
    assert counsel.consent_to_notices and counsel.consent_recorded_at is not None
    event = participant.events.filter(kind=EventKind.COUNSEL_CHANGED).first()
    assert event is not None and "portal" in event.summary and event.actor is None
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
    make_participant, portal_client, language, words
):
    participant = _with_counsel(make_participant(preferred_language=language), consent=False)
    page = portal_client(participant).get("/me/counsel/").content.decode()
    assert words in page


def test_without_counsel_of_record_the_page_says_so_and_changes_nothing(
    make_participant, portal_client
):
    participant = make_participant(preferred_language="en")
    client = portal_client(participant)
    assert "No lawyer is recorded" in client.get("/me/counsel/").content.decode()
    assert client.post("/me/counsel/", {"consent": "yes"}).status_code == 200
    assert not Counsel.objects.filter(participant=participant).exists()
