"""A daily window and an ad-hoc window open at the same time: one check-in, from the portal or
by texting the PIN, settles both, the portal stops listing them, and the watchdog later
finds nothing missed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.alerts.models import Alert
from ontrack.messaging.services import inbound_receive
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData
from ontrack.portal.services import pin_set
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import CheckinWindow
from tests.support import photo_bytes

pytestmark = pytest.mark.django_db

JPEG = photo_bytes()


def _plan() -> PlanData:
    review = timezone.localdate() + dt.timedelta(days=90)
    return PlanData(level="standard", review_date=review, app_checkins=True, phone_checkins=True)


def _daily_and_adhoc(participant: Participant) -> tuple[CheckinWindow, CheckinWindow]:
    """A daily schedule whose window opened two hours ago and closes in ten (the walk-through
    had 08:00–20:00), and an officer's ad-hoc window opened an hour ago for four hours
    (09:07–13:07): both open now."""
    now = timezone.now().replace(second=0, microsecond=0)
    zone = ZoneInfo(participant.time_zone)
    opens = (now - dt.timedelta(hours=2)).astimezone(zone)
    closes = (now + dt.timedelta(hours=10)).astimezone(zone)
    schedule_services.schedule_set(
        participant,
        actor=SYSTEM,
        data=schedule_services.ScheduleData(
            cadence="weekly",
            weekdays=(0, 1, 2, 3, 4, 5, 6),
            opens=opens.time(),
            closes=closes.time(),
            starts_on=opens.date() - dt.timedelta(days=1),
        ),
        now=now,
    )
    daily = CheckinWindow.objects.get(participant=participant, opens_at=opens)
    adhoc = schedule_services.window_adhoc(
        participant,
        actor=SYSTEM,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(hours=3),
        now=now - dt.timedelta(hours=1),
    )
    return daily, adhoc


def _nothing_missed_after(daily: CheckinWindow, participant: Participant) -> None:
    later = daily.closes_at + dt.timedelta(hours=3)
    schedule_services.missed_checkins_mark(now=later)
    daily.refresh_from_db()
    assert daily.outcome == "on_time", f"the daily window is {daily.outcome}, not settled"
    assert not Alert.objects.filter(participant=participant, kind="missed_checkin").exists()


def test_a_portal_checkin_settles_the_daily_and_the_adhoc_window_open_together(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    participant = make_participant(preferred_language="en", plan=_plan())
    daily, adhoc = _daily_and_adhoc(participant)
    client = portal_client(participant)
    response = client.post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": timezone.now().isoformat(),
            "lat": "40.7357",
            "lon": "-74.1724",
            "accuracy_m": "12",
            "photo": SimpleUploadedFile("me.jpg", JPEG, content_type="image/jpeg"),
        },
    )
    assert response.status_code == 200
    adhoc.refresh_from_db()
    assert adhoc.outcome == "on_time"

    page = client.get("/me/").content.decode()
    local_open = timezone.localtime(daily.opens_at, ZoneInfo(participant.time_zone))
    assert local_open.isoformat() not in page, "the settled daily window is still listed"
    assert 'href="/me/check-in/"' not in page, "the page still offers to check in"
    _nothing_missed_after(daily, participant)


def test_a_pin_texted_in_settles_the_daily_and_the_adhoc_window_open_together(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant(preferred_language="es", plan=_plan())
    pin_set(participant, "4812")
    daily, adhoc = _daily_and_adhoc(participant)
    inbound_receive(
        provider="console",
        provider_message_id=str(uuid.uuid4()),
        from_number=participant.phones.get().number,
        body="4812",
        received_at=timezone.now(),
    )
    adhoc.refresh_from_db()
    assert adhoc.outcome == "on_time"
    _nothing_missed_after(daily, participant)


def test_a_late_checkin_for_a_closed_adhoc_window_is_on_time_for_the_daily_one(
    make_participant: Callable[..., Participant], portal_client: Callable[..., Client]
) -> None:
    """The ad-hoc window closed before the attempt: the check-in is late for it (it is the
    last window that opened) and on time for the daily window still open."""
    participant = make_participant(preferred_language="en", plan=_plan())
    now = timezone.now()
    daily, _ = _daily_and_adhoc(participant)
    short = schedule_services.window_adhoc(
        participant,
        actor=SYSTEM,
        opens_at=now - dt.timedelta(minutes=50),
        closes_at=now - dt.timedelta(minutes=20),
        now=now - dt.timedelta(hours=1),
    )
    response = portal_client(participant).post(
        "/me/check-in/submit/",
        {
            "client_ref": str(uuid.uuid4()),
            "attempted_at": now.isoformat(),
            "photo": SimpleUploadedFile("me.jpg", JPEG, content_type="image/jpeg"),
        },
    )
    assert response.json()["outcome"] == "late"
    short.refresh_from_db()
    assert short.outcome == "late"
    _nothing_missed_after(daily, participant)
