"""The periodic jobs run the services (Huey runs tasks immediately in the tests, and keeps
no result of a periodic task, so the effect is read from the database)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from ontrack.participants.models import Participant
from ontrack.schedule import tasks
from ontrack.schedule.models import CheckinWindow, Outcome

pytestmark = pytest.mark.django_db


def test_missed_checkin_watchdog_task_marks_a_closed_window(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, timezone.now() - dt.timedelta(days=1), hours=1)
    tasks.missed_checkin_watchdog()
    window.refresh_from_db()
    assert window.outcome == Outcome.MISSED


def test_generation_task_extends_schedules(
    make_participant: Callable[..., Participant], weekly: Callable[..., Any]
) -> None:
    participant = make_participant()
    now = timezone.now()
    weekly(participant, weekdays=(0, 1, 2, 3, 4, 5, 6), starts_on=now.date(), now=now)
    CheckinWindow.objects.filter(
        participant=participant, opens_at__gt=now + dt.timedelta(days=7)
    ).delete()
    participant.checkin_schedule.generated_until = now.date() + dt.timedelta(days=7)
    participant.checkin_schedule.save()
    tasks.checkin_windows_generate()
    assert CheckinWindow.objects.filter(
        participant=participant, opens_at__gt=now + dt.timedelta(days=30)
    ).exists()
