"""How the portal writes dates, names languages and time zones: the way a person reading it
in their own language would write them."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from ontrack.messaging.datefmt import DAYS, MONTHS
from ontrack.participants.models import Hearing, Participant

pytestmark = pytest.mark.django_db

OWN_NAMES = ["English", "Español", "Português", "Kreyòl ayisyen", "Français"]


@pytest.mark.parametrize(
    ("language", "pattern"),
    [
        ("es", "{weekday} {day} de {month}"),
        ("pt", "{weekday}, {day} de {month}"),
        ("fr", "{weekday} {day} {month}"),
        ("ht", "{weekday} {day} {month}"),
        ("en", "{weekday}, {month} {day}"),
    ],
)
def test_obligation_dates_read_as_the_language_writes_them(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    hearing_soon: Callable[[Participant], Hearing],
    language: str,
    pattern: str,
) -> None:
    participant = make_participant(preferred_language=language)
    hearing = hearing_soon(participant)
    local = hearing.scheduled_at.astimezone(ZoneInfo(participant.time_zone))
    expected = pattern.format(
        weekday=DAYS[language][local.weekday()],
        day=local.day,
        month=MONTHS[language][local.month - 1],
    )
    page = portal_client(participant).get("/me/").content.decode()
    assert expected in page, f"{expected!r} is not on the page"


@pytest.mark.parametrize("language", ["en", "es", "pt", "ht", "fr"])
def test_the_language_menu_names_each_language_in_its_own_words(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    language: str,
) -> None:
    page = portal_client(make_participant(preferred_language=language)).get("/me/")
    options = re.findall(r"<option value=\"\w+\"[^>]*>([^<]+)</option>", page.content.decode())
    assert options == OWN_NAMES


def test_the_sign_in_page_menu_names_each_language_in_its_own_words(db: None) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="ht").get("/me/sign-in/").content.decode()
    options = re.findall(r"<option value=\"\w+\"[^>]*>([^<]+)</option>", page)
    assert options == OWN_NAMES


@pytest.mark.parametrize(
    ("language", "zone", "name"),
    [
        ("en", "America/New_York", "Eastern Time"),
        ("es", "America/Chicago", "Hora del Centro"),
        ("fr", "America/Los_Angeles", "Heure du Pacifique"),
        ("ht", "America/Denver", "Lè Mòn yo"),
        ("pt", "America/New_York", "Horário do Leste"),
    ],
)
def test_the_time_zone_is_shown_by_its_name_and_abbreviation(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    language: str,
    zone: str,
    name: str,
) -> None:
    from django.utils import timezone

    participant = make_participant(preferred_language=language, time_zone=zone)
    abbreviation = timezone.now().astimezone(ZoneInfo(zone)).strftime("%Z")
    client = portal_client(participant)
    for path in ("/me/my-data/", "/me/"):
        page = client.get(path).content.decode()
        assert f"{name} ({abbreviation})" in page, path
        assert zone not in page, path
