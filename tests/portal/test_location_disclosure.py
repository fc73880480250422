"""What the participant is told about their location is what is collected about them: one
fix at each check-in, or a device's continuous positions, how often, and for how long they
are kept (the retention period of kind ``positions``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.participants.models import Participant
from ontrack.schedule.models import CheckinWindow
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services import device_directory, store_batch

pytestmark = pytest.mark.django_db

IMEI = "358899051234561"


def _a_position_every_minute_for_an_hour() -> None:
    info = device_directory()[IMEI]
    now = timezone.now()
    fixes = [
        (info, Fix(IMEI, now - dt.timedelta(minutes=minute), 40.7357, -74.1724))
        for minute in range(60, 0, -1)
    ]
    store_batch(fixes, received_at=now)


@pytest.mark.parametrize("path", ["/me/check-in/", "/me/my-data/"])
def test_a_gps_wearer_is_told_the_device_sends_positions_how_often_and_how_long_kept(
    worn_gt06: Callable[[str], Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
    settings: Settings,
    path: str,
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "positions": 120}
    participant = worn_gt06(IMEI)  # Spanish-speaking, wearing an ankle monitor
    open_checkin_window(participant)
    _a_position_every_minute_for_an_hour()
    page = portal_client(participant).get(path).content.decode()
    assert "No seguimos su ubicación" not in page, "a GPS wearer is told they are not followed"
    assert "Su monitor de tobillo envía su ubicación todo el tiempo" in page
    assert "aproximadamente cada minuto" in page
    assert "Estas ubicaciones se guardan 120 días" in page


def test_someone_without_a_device_is_told_only_the_checkin_fix_is_taken(
    make_participant: Callable[..., Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = make_participant(preferred_language="en")
    open_checkin_window(participant)
    for path in ("/me/check-in/", "/me/my-data/"):
        page = portal_client(participant).get(path).content.decode()
        assert "We do not follow your location" in page
        assert "your location one time, at that moment" in page
        assert "monitor" not in page


def test_a_device_that_sent_nothing_lately_is_said_so(
    worn_gt06: Callable[[str], Participant],
    portal_client: Callable[..., Client],
    open_checkin_window: Callable[[Participant], CheckinWindow],
) -> None:
    participant = worn_gt06(IMEI)
    participant.preferred_language = "en"
    participant.save(update_fields=["preferred_language"])
    page = portal_client(participant).get("/me/my-data/").content.decode()
    assert "Your ankle monitor sends your position all the time" in page
    assert "It has sent no position in the last day." in page


def test_the_reporting_interval_is_the_typical_gap_not_the_longest() -> None:
    from ontrack.portal.disclosure import reporting_interval

    start = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    times = [start + dt.timedelta(minutes=m) for m in range(10)]
    times.append(start + dt.timedelta(hours=9))  # a night without signal
    assert reporting_interval(times) == dt.timedelta(minutes=1)
    assert reporting_interval(times[:1]) is None
