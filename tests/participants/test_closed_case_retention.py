"""Closed cases past their retention period go whole, with what hangs from them; open cases
and recently closed ones stay, and the run records counts only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import User
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alert_raise
from ontrack.audit.models import RetentionRun
from ontrack.audit.retention import retention_purge_all
from ontrack.messaging.models import Message
from ontrack.messaging.services import message_queue
from ontrack.participants.models import Participant
from ontrack.participants.services import participant_close
from ontrack.schedule import services as schedule_services
from ontrack.schedule.models import Checkin, CheckinWindow
from ontrack.tracking.models import (
    DeviceAssignment,
    DeviceCommand,
    DeviceEventRecord,
    Position,
)
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services import device_directory, device_locate_request, store_batch
from tests.support import photo_bytes

pytestmark = pytest.mark.django_db


def _closed(
    make_participant: Callable[..., Participant],
    officer: User,
    *,
    years_ago: float,
    participant: Participant | None = None,
) -> Participant:
    participant = participant or make_participant()
    now = timezone.now()
    schedule_services.window_adhoc(
        participant,
        actor=SYSTEM,
        opens_at=now - dt.timedelta(hours=1),
        closes_at=now + dt.timedelta(hours=2),
        now=now - dt.timedelta(hours=1),
    )
    schedule_services.checkin_submit(
        participant=participant,
        client_ref="before-closure",
        attempted_at=now,
        photo=photo_bytes(),
        photo_content_type="image/jpeg",
        lat=40.73,
        lon=-74.17,
        accuracy_m=10,
    )
    alert_raise(participant_id=participant.pk, kind="missed_checkin", source="x", occurred_at=now)
    message_queue(
        participant=participant,
        template_key="checkin_received",
        context={"reference": "CK-TEST"},
        purpose="test",
    )
    participant_close(participant, actor=officer, reason="case_concluded")
    Participant.objects.filter(pk=participant.pk).update(
        closed_at=now - dt.timedelta(days=365 * years_ago)
    )
    return participant


def test_cases_closed_longer_than_the_period_are_removed_with_their_records(
    make_participant: Callable[..., Participant],
    officer: User,
    settings: Settings,
    worn_gt06: Callable[[str], Participant],
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "closed_cases": 365 * 5}
    old = _closed(make_participant, officer, years_ago=6)
    recent = _closed(make_participant, officer, years_ago=1)
    wore_a_device = _closed(
        make_participant, officer, years_ago=7, participant=worn_gt06("358899051234560")
    )
    still_open = make_participant()
    assert Message.objects.filter(participant_id=old.pk).exists()
    assert CheckinWindow.objects.filter(participant_id=old.pk).exists()

    removed = retention_purge_all()

    assert removed["closed_cases"] == 2
    assert not DeviceAssignment.objects.filter(participant_id=wore_a_device.pk).exists()
    remaining = set(Participant.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, still_open.pk}
    assert not CheckinWindow.objects.filter(participant_id=old.pk).exists()
    assert not Checkin.objects.filter(participant_id=old.pk).exists()
    assert not Alert.objects.filter(participant_id=old.pk).exists()
    assert not Message.objects.filter(participant_id=old.pk).exists()
    assert Alert.objects.filter(participant_id=recent.pk).exists()
    run = RetentionRun.objects.get(kind="closed_cases")
    assert (run.removed, run.days) == (2, 365 * 5)


def _track(participant: Participant, officer: User, imei: str) -> None:
    """A fix and a tamper event from the participant's device while worn, and an officer's
    on-demand location request."""
    info = device_directory()[imei]
    at = timezone.now() - dt.timedelta(minutes=30)
    store_batch(
        [
            (info, Fix(imei, at, 40.73, -74.17)),
            (info, DeviceEvent(imei, at, EventKind.TAMPER, "strap")),
        ],
        received_at=at,
    )
    device = DeviceAssignment.objects.get(participant=participant).device
    device_locate_request(actor=officer, device=device)


def test_a_closed_case_past_its_period_leaves_no_positions_events_or_commands(
    make_participant: Callable[..., Participant],
    officer: User,
    settings: Settings,
    worn_gt06: Callable[[str], Participant],
) -> None:
    settings.ONTRACK_RETENTION_DAYS = {**settings.ONTRACK_RETENTION_DAYS, "closed_cases": 365}
    gone = worn_gt06("358899051234561")
    _track(gone, officer, "358899051234561")
    kept = worn_gt06("358899051234562")
    _track(kept, officer, "358899051234562")
    assert Position.objects.filter(participant_id=gone.pk).count() == 1
    assert DeviceEventRecord.objects.filter(participant_id=gone.pk).count() == 1
    _closed(make_participant, officer, years_ago=2, participant=gone)

    assert retention_purge_all()["closed_cases"] == 1

    assert not Position.objects.filter(participant_id=gone.pk).exists()
    assert not DeviceEventRecord.objects.filter(participant_id=gone.pk).exists()
    assert not DeviceCommand.objects.filter(participant_id=gone.pk).exists()
    assert Position.objects.count() == 1, "the open case's track stays"
    assert DeviceEventRecord.objects.count() == 1, "the open case's track stays"
    assert DeviceCommand.objects.filter(participant_id=kept.pk).count() == 1
