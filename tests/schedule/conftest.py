"""Schedule fixtures: a participant with a schedule set through the real services, an
office with opening hours, and a check-in window open at a given moment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office
from ontrack.participants.models import Participant
from ontrack.schedule.models import CheckinWindow
from ontrack.schedule.services.schedules import ScheduleData, schedule_set
from ontrack.schedule.services.windows import window_adhoc
from tests.support import photo_bytes

JPEG = photo_bytes()
WEEKDAY_HOURS = {
    d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")
}


@pytest.fixture
def open_window() -> Callable[..., CheckinWindow]:
    """An ad-hoc window around ``at`` (default: now), opened an hour before and closing
    ``hours`` after."""

    def make(
        participant: Participant, at: dt.datetime | None = None, hours: float = 2
    ) -> CheckinWindow:
        at = at or timezone.now()
        return window_adhoc(
            participant,
            actor=SYSTEM,
            opens_at=at - dt.timedelta(hours=1),
            closes_at=at + dt.timedelta(hours=hours),
            now=at - dt.timedelta(hours=1),
        )

    return make


@pytest.fixture
def hours_office(office: Office) -> Office:
    """The test office (Newark, America/New_York) open weekdays 9–12 and 13–17, with slots
    of 30 minutes for 2 people."""
    office.opening_hours = WEEKDAY_HOURS
    office.address = "970 Broad St, Newark, NJ 07102"
    office.save()
    from ontrack.schedule.queries import calendar_for

    calendar = calendar_for(office)
    calendar.slot_minutes = 30
    calendar.slot_capacity = 2
    calendar.save()
    return office


@pytest.fixture
def weekly(make_participant: Callable[..., Participant]) -> Callable[..., Any]:
    """Set a weekly schedule through the service; returns the schedule."""

    def make(
        participant: Participant,
        *,
        weekdays: tuple[int, ...] = (1,),
        opens: str = "08:00",
        closes: str = "20:00",
        starts_on: dt.date,
        now: dt.datetime,
        interval: int = 1,
    ) -> Any:
        return schedule_set(
            participant,
            actor=SYSTEM,
            data=ScheduleData(
                cadence="weekly",
                weekdays=weekdays,
                interval=interval,
                opens=dt.time.fromisoformat(opens),
                closes=dt.time.fromisoformat(closes),
                starts_on=starts_on,
            ),
            now=now,
        )

    return make
