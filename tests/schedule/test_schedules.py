"""Schedules through the services: windows stored in UTC from the participant's zone,
generated ahead, and regenerated on change without touching the past."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from pytest_django.fixtures import Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant, ParticipantEvent
from ontrack.schedule.models import CheckinWindow, Outcome
from ontrack.schedule.services.checkins import checkin_submit
from ontrack.schedule.services.schedules import ScheduleData, schedule_set, schedule_stop
from ontrack.schedule.services.watchdog import missed_checkins_mark
from ontrack.schedule.services.windows import windows_generate_due
from tests.schedule.conftest import JPEG

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


def test_weekly_windows_across_march_change_are_8_to_20_in_new_york(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    participant = make_participant(time_zone="America/New_York")
    now = dt.datetime(2026, 2, 28, 12, tzinfo=dt.UTC)
    weekly(participant, weekdays=(1,), starts_on=dt.date(2026, 3, 1), now=now)
    windows = list(
        CheckinWindow.objects.filter(participant=participant, local_date__lte=dt.date(2026, 3, 17))
    )
    assert [w.local_date for w in windows] == [
        dt.date(2026, 3, 3),
        dt.date(2026, 3, 10),
        dt.date(2026, 3, 17),
    ]
    assert [w.opens_at.hour for w in windows] == [13, 12, 12]  # stored in UTC
    for window in windows:
        assert window.opens_at.astimezone(NEW_YORK).time() == dt.time(8)
        assert window.closes_at.astimezone(NEW_YORK).time() == dt.time(20)


def test_windows_across_november_change_in_sao_paulo_and_lisbon(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    now = dt.datetime(2026, 10, 20, 12, tzinfo=dt.UTC)
    lisbon = make_participant(time_zone="Europe/Lisbon")
    weekly(lisbon, weekdays=(0,), starts_on=dt.date(2026, 10, 19), now=now)
    hours = [
        (w.local_date, w.opens_at.hour)
        for w in CheckinWindow.objects.filter(
            participant=lisbon, local_date__lte=dt.date(2026, 11, 2)
        )
    ]
    assert hours == [(dt.date(2026, 10, 26), 8), (dt.date(2026, 11, 2), 8)]
    earlier = CheckinWindow.objects.filter(participant=lisbon).order_by("opens_at")
    assert all(w.opens_at.astimezone(ZoneInfo("Europe/Lisbon")).hour == 8 for w in earlier)


def test_windows_are_generated_up_to_the_horizon(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any], settings: Settings
) -> None:
    settings.ONTRACK_SCHEDULE_HORIZON_DAYS = 28
    participant = make_participant()
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)  # a Monday
    schedule = weekly(participant, weekdays=(1, 3), starts_on=dt.date(2026, 1, 1), now=now)
    assert CheckinWindow.objects.filter(participant=participant).count() == 8
    assert schedule.generated_until == dt.date(2026, 2, 2)
    # The periodic job a week later adds the next week and nothing twice.
    later = now + dt.timedelta(days=7)
    assert windows_generate_due(now=later) == 2
    assert windows_generate_due(now=later) == 0
    assert CheckinWindow.objects.filter(participant=participant).count() == 10


def test_the_periodic_job_extends_each_schedule_by_one_day_each_day(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any], settings: Settings
) -> None:
    settings.ONTRACK_SCHEDULE_HORIZON_DAYS = 28
    participant = make_participant()
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    schedule = weekly(participant, weekdays=tuple(range(7)), starts_on=dt.date(2026, 1, 1), now=now)
    for days in (1, 2, 3):
        assert windows_generate_due(now=now + dt.timedelta(days=days)) == 1, f"day {days}"
        schedule.refresh_from_db()
        assert schedule.generated_until == dt.date(2026, 2, 2) + dt.timedelta(days=days)


def test_changing_the_schedule_keeps_past_and_completed_windows(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    participant = make_participant()
    start = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    weekly(participant, weekdays=(1,), starts_on=dt.date(2026, 1, 1), now=start)
    windows = list(CheckinWindow.objects.filter(participant=participant).order_by("opens_at"))
    past, checked_in_ahead = windows[0], windows[3]
    # Past window missed; a future one already has a check-in (an early attempt counted for it
    # is impossible, so give it one through an ad-hoc late upload: mark it done directly).
    missed_checkins_mark(now=past.closes_at + dt.timedelta(hours=2))
    checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=checked_in_ahead.opens_at + dt.timedelta(hours=1),
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=None,
        lon=None,
        accuracy_m=None,
        now=checked_in_ahead.opens_at + dt.timedelta(hours=1),
    )
    change_at = past.closes_at + dt.timedelta(days=3)
    weekly(
        participant,
        weekdays=(3,),
        opens="10:00",
        closes="12:00",
        starts_on=dt.date(2026, 1, 1),
        now=change_at,
    )
    kept = CheckinWindow.objects.filter(participant=participant)
    assert kept.filter(pk=past.pk, outcome=Outcome.MISSED).exists()
    assert kept.filter(pk=checked_in_ahead.pk, outcome=Outcome.ON_TIME).exists()
    future = kept.filter(opens_at__gt=change_at).exclude(pk=checked_in_ahead.pk)
    assert future.exists()
    assert {w.local_date.weekday() for w in future} == {3}
    assert {w.opens_at.astimezone(NEW_YORK).time() for w in future} == {dt.time(10)}
    assert (
        ParticipantEvent.objects.filter(
            participant=participant, summary__startswith="Check-in schedule set"
        ).count()
        == 2
    )


def test_monthly_first_tuesday_schedule(make_participant: Callable[..., Participant]) -> None:
    participant = make_participant()
    schedule_set(
        participant,
        actor=SYSTEM,
        data=ScheduleData(
            cadence="monthly_weekday",
            weekdays=(1,),
            week=1,
            opens=dt.time(9),
            closes=dt.time(17),
            starts_on=dt.date(2026, 1, 1),
        ),
        now=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC),
    )
    dates = list(
        CheckinWindow.objects.filter(participant=participant).values_list("local_date", flat=True)
    )
    assert dates == [dt.date(2026, 1, 6), dt.date(2026, 2, 3)]


def test_schedule_without_weekdays_is_refused(make_participant: Callable[..., Participant]) -> None:
    with pytest.raises(ValidationError) as error:
        schedule_set(
            make_participant(),
            actor=SYSTEM,
            data=ScheduleData(
                cadence="weekly",
                opens=dt.time(8),
                closes=dt.time(20),
                starts_on=dt.date(2026, 1, 1),
            ),
        )
    assert "weekdays" in error.value.message_dict


def test_officer_may_not_set_the_schedule_of_another_caseload(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    stranger = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        schedule_set(
            make_participant(),
            actor=stranger,
            data=ScheduleData(
                cadence="weekly",
                weekdays=(1,),
                opens=dt.time(8),
                closes=dt.time(20),
                starts_on=dt.date(2026, 1, 1),
            ),
        )


def test_stopping_the_schedule_removes_only_future_windows(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    participant = make_participant()
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    weekly(participant, weekdays=(1,), starts_on=dt.date(2026, 1, 1), now=now)
    later = now + dt.timedelta(days=15)
    removed = schedule_stop(participant, actor=SYSTEM, now=later)
    assert removed > 0
    assert not CheckinWindow.objects.filter(participant=participant, opens_at__gt=later).exists()
    assert CheckinWindow.objects.filter(participant=participant, opens_at__lt=later).count() == 2
