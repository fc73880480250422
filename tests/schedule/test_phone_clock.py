"""The phone's clock is believed only so far: an attempt dated long before it arrived
counts at its arrival beyond the cap, and goes to the officer to look at past the review
threshold."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.test import Client
from pytest_django.fixtures import Settings

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.schedule.models import Checkin, CheckinWindow, Outcome, Task, TaskKind
from ontrack.schedule.services.checkins import checkin_submit, checkin_technical_failure
from tests.schedule.conftest import JPEG

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC)


def _submit(participant: Participant, *, attempted_at: dt.datetime, now: dt.datetime) -> Checkin:
    return checkin_submit(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=attempted_at,
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=None,
        lon=None,
        accuracy_m=None,
        now=now,
    )


def _late_upload_tasks(participant: Participant) -> list[Task]:
    return list(Task.objects.filter(participant=participant, kind=TaskKind.LATE_UPLOAD))


def test_an_attempt_dated_beyond_the_cap_counts_at_its_arrival(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS = 48
    participant = make_participant()
    open_window(participant, NOON, hours=1)
    arrived = NOON + dt.timedelta(hours=72)
    checkin = _submit(participant, attempted_at=NOON, now=arrived)
    assert checkin.outcome == Outcome.LATE
    assert checkin.attempted_at == arrived
    assert checkin.phone_attempted_at == NOON
    (task,) = _late_upload_tasks(participant)
    assert "counted at its arrival" in task.summary


def test_an_attempt_dated_within_the_cap_is_believed_but_flagged_for_review(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS = 48
    settings.ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS = 6
    participant = make_participant()
    open_window(participant, NOON, hours=1)
    checkin = _submit(participant, attempted_at=NOON, now=NOON + dt.timedelta(hours=30))
    assert (checkin.outcome, checkin.attempted_at) == (Outcome.ON_TIME, NOON)
    (task,) = _late_upload_tasks(participant)
    assert "30 h" in task.summary
    assert "phone's time was counted" in task.summary


def test_an_attempt_sent_minutes_later_gives_the_officer_no_task(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS = 6
    participant = make_participant()
    open_window(participant, NOON, hours=1)
    checkin = _submit(participant, attempted_at=NOON, now=NOON + dt.timedelta(minutes=20))
    assert checkin.outcome == Outcome.ON_TIME
    assert _late_upload_tasks(participant) == []


def test_a_technical_failure_dated_long_before_is_flagged_too(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS = 6
    participant = make_participant()
    open_window(participant, NOON, hours=1)
    checkin_technical_failure(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=NOON,
        reason="upload",
        detail="HTTP 503",
        now=NOON + dt.timedelta(hours=12),
    )
    assert len(_late_upload_tasks(participant)) == 1


def test_the_review_queue_shows_the_phones_time_when_it_was_not_counted(
    make_participant: Callable[..., Participant],
    open_window: Callable[..., CheckinWindow],
    officer: User,
    client_for: Callable[[User], Client],
    settings: Settings,
) -> None:
    settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS = 48
    participant = make_participant()
    now = dt.datetime.now(dt.UTC)
    open_window(participant, now - dt.timedelta(days=4), hours=1)
    open_window(participant, now)
    _submit(participant, attempted_at=now - dt.timedelta(days=4), now=now)
    page = client_for(officer).get("/schedule/review/").content.decode()
    assert "the phone said" in page
