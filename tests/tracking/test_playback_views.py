"""The track page's playback through the real HTTP client: the day around an instant, the
stops, gaps and zones it draws, and who may see it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.audit.models import AccessLogEntry

pytestmark = pytest.mark.django_db

AT = "2026-11-20T14:05:00Z"  # 09:05 EST, at home


def _playback(page: Any) -> dict[str, Any]:
    found = re.search(rb'<script id="track-playback" type="application/json">(.*?)</script>',
                      page.content, re.S)  # fmt: skip
    assert found, "the page carries no playback data"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def _track(participant: Any) -> str:
    return f"/tracking/participants/{participant.pk}/track/"


def test_an_instant_opens_the_offices_day_around_it_with_the_slider_there(
    stopping_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = stopping_track["participant"]
    page = client_for(officer).get(_track(participant), {"at": AT})
    assert page.status_code == 200
    data = _playback(page)
    # Newark's day: midnight EST to midnight EST.
    assert (data["start"], data["end"]) == (1795150800000, 1795237200000)
    assert data["at"] == 1795183500000
    assert data["clock"] == [[1795150800000, -5 * 3600 * 1000, "EST"]]
    assert b"Play back 2026-11-20 00:00 EST to 2026-11-21 00:00 EST" in page.content
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what__startswith="track and playback"
    ).exists()


def test_the_stop_is_drawn_and_listed_with_its_duration_on_the_offices_clock(
    stopping_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(officer).get(_track(stopping_track["participant"]), {"at": AT})
    (stop,) = _playback(page)["stops"]
    assert stop["label"] == "Stopped 8 min, 09:02–09:10 EST"
    assert stop["duration"] == "8 min"
    assert "Stopped 8 min, 09:02–09:10 EST" in page.content.decode()


def test_gaps_break_the_line_and_are_not_drawn_as_travel(
    stopping_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    data = _playback(client_for(officer).get(_track(stopping_track["participant"]), {"at": AT}))
    # Court, home (9), court | store | store: broken by the report without a fix and by the
    # 45 minutes of silence.
    assert [len(segment) for segment in data["segments"]] == [11, 1, 1]
    assert [gap["label"] for gap in data["gaps"]] == [
        "No GPS fix from 2026-11-20 09:12 EST to 2026-11-20 09:15 EST",
        "No report from 2026-11-20 09:15 EST to 2026-11-20 10:00 EST",
    ]


def test_a_shorter_minimum_dwell_is_the_officers_to_choose(
    stopping_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    participant = stopping_track["participant"]
    assert len(_playback(client.get(_track(participant), {"at": AT}))["stops"]) == 1
    none = client.get(_track(participant), {"at": AT, "stop_min": "30"})
    assert _playback(none)["stops"] == []


def test_the_zones_are_drawn_with_their_schedules_in_words(
    stopping_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(officer).get(_track(stopping_track["participant"]), {"day": "2026-11-20"})
    (zone,) = _playback(page)["zones"]
    assert zone["properties"]["schedule_words"] == "every day 21:00–06:00"
    assert 'Home curfew <span class="muted">(inclusion, every day 21:00–06:00)' in (
        page.content.decode()
    )


@pytest.mark.parametrize(
    "query",
    [{"at": "yesterday"}, {"day": "2026-13-40"}, {"stop_min": "0"}, {"stop_min": "many"}],
)
def test_a_malformed_day_instant_or_dwell_is_refused_with_400(
    query: dict[str, str],
    stopping_track: dict[str, Any],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    response = client_for(officer).get(_track(stopping_track["participant"]), query)
    assert response.status_code == 400


def test_another_officers_participant_playback_is_not_found_and_not_logged(
    stopping_track: dict[str, Any],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = stopping_track["participant"]
    stranger = make_user(Role.OFFICER)
    response = client_for(stranger).get(_track(participant), {"at": AT})
    assert response.status_code == 404
    assert not AccessLogEntry.objects.filter(participant_id=participant.pk).exists()
