"""The obligations list folds a schedule's repeating check-ins into one line in the
participant's language, after the next one shown in full, instead of thirty identical rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone, translation
from django.utils.translation import gettext

from ontrack.accounts.actors import SYSTEM
from ontrack.messaging.datefmt import format_date
from ontrack.participants.models import Participant
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import CheckinWindow

pytestmark = pytest.mark.django_db


def _schedule(
    participant: Participant,
    *,
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6),
    ends_on: dt.date | None = None,
    interval: int = 1,
) -> None:
    today = timezone.now().astimezone(ZoneInfo(participant.time_zone)).date()
    schedule_services.schedule_set(
        participant,
        actor=SYSTEM,
        data=schedule_services.ScheduleData(
            cadence="weekly",
            weekdays=weekdays,
            interval=interval,
            opens=dt.time(0, 0),
            closes=dt.time(23, 59),
            starts_on=today,
            ends_on=ends_on,
        ),
    )


def _checkin_rows(page: str, language: str) -> int:
    with translation.override(language):
        title = gettext("Check-in from your phone")
    return page.count(f"<strong>{title}</strong>")


def test_daily_checkins_are_one_line_every_day_after_the_next_one_in_full(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="es")
    _schedule(participant)
    page = portal_client(participant).get("/me/").content.decode()
    assert _checkin_rows(page, "es") == 2, "the next check-in, then one line for the rest"
    today = timezone.now().astimezone(ZoneInfo(participant.time_zone)).date()
    assert f"{format_date(today, 'es')}, 00:00</time> – 23:59" in page
    assert "Después, todos los días" in page
    assert page.count("00:00 – 23:59") == 1


def test_a_schedule_with_an_end_says_until_when(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="pt")
    today = timezone.now().astimezone(ZoneInfo(participant.time_zone)).date()
    ends = today + dt.timedelta(days=12)
    _schedule(participant, ends_on=ends)
    page = portal_client(participant).get("/me/").content.decode()
    assert _checkin_rows(page, "pt") == 2
    assert f"Depois, todos os dias até {format_date(ends, 'pt')}" in page


def test_weekly_checkins_name_their_days_in_the_participants_language(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="ht")
    _schedule(participant, weekdays=(0, 3), interval=2)
    page = portal_client(participant).get("/me/").content.decode()
    assert _checkin_rows(page, "ht") == 2
    assert "Apre sa, chak 2 semèn (lendi, jedi)" in page


def test_an_adhoc_check_in_is_never_folded_into_the_schedule(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="en")
    _schedule(participant)
    open_checkin_window(participant)
    page = portal_client(participant).get("/me/").content.decode()
    assert _checkin_rows(page, "en") == 3
    assert "Then every day" in page
