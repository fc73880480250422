"""Check-ins through the contract functions the portal calls: outcomes from the phone's
attempt time, idempotent retries, technical failures that are never missed."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError

from ontrack.accounts.actors import SYSTEM
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData, plan_change
from ontrack.schedule.models import Checkin, CheckinWindow, Outcome, Review, Task, TaskKind
from ontrack.schedule.services.checkins import (
    checkin_phone,
    checkin_submit,
    checkin_technical_failure,
)
from ontrack.schedule.services.retention import checkin_photos_purge_before
from ontrack.schedule.services.watchdog import missed_checkins_mark
from tests.schedule.conftest import JPEG

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 3, 10, 17, 0, tzinfo=dt.UTC)  # 12:00 or 13:00 in New York


def _submit(
    participant: Participant,
    *,
    attempted_at: dt.datetime,
    now: dt.datetime,
    client_ref: str | None = None,
) -> Checkin:
    return checkin_submit(
        participant=participant,
        client_ref=client_ref or str(uuid.uuid4()),
        attempted_at=attempted_at,
        photo=JPEG,
        photo_content_type="image/jpeg",
        lat=40.73,
        lon=-74.17,
        accuracy_m=12.0,
        now=now,
    )


def test_checkin_inside_the_window_is_on_time_with_a_readable_reference(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON)
    checkin = _submit(participant, attempted_at=NOON, now=NOON)
    assert checkin.outcome == Outcome.ON_TIME
    assert checkin.reference.startswith("CK-")
    assert len(checkin.reference) == 9
    assert checkin.review == Review.PENDING
    assert checkin.photo.name
    window.refresh_from_db()
    assert window.outcome == Outcome.ON_TIME


def test_attempt_in_time_uploaded_after_the_window_closed_is_still_on_time(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    received = window.closes_at + dt.timedelta(hours=3)
    checkin = _submit(participant, attempted_at=NOON + dt.timedelta(minutes=30), now=received)
    assert checkin.outcome == Outcome.ON_TIME
    assert checkin.received_at == received


def test_attempt_after_the_window_closed_is_late(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    late = window.closes_at + dt.timedelta(minutes=5)
    checkin = _submit(participant, attempted_at=late, now=late)
    assert checkin.outcome == Outcome.LATE


def test_attempt_time_from_the_future_counts_as_received(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    received = window.closes_at + dt.timedelta(minutes=10)
    checkin = _submit(participant, attempted_at=NOON - dt.timedelta(days=-1), now=received)
    assert checkin.attempted_at == received
    assert checkin.outcome == Outcome.LATE


def test_attempt_before_the_window_opened_counts_from_its_opening(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON)
    checkin = _submit(participant, attempted_at=NOON - dt.timedelta(hours=3), now=NOON)
    assert checkin.attempted_at == window.opens_at
    assert checkin.outcome == Outcome.ON_TIME


def test_retry_with_the_same_client_ref_returns_the_first_receipt(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    open_window(participant, NOON)
    ref = str(uuid.uuid4())
    first = _submit(participant, attempted_at=NOON, now=NOON, client_ref=ref)
    again = _submit(
        participant, attempted_at=NOON, now=NOON + dt.timedelta(minutes=2), client_ref=ref
    )
    assert again.pk == first.pk
    assert again.reference == first.reference
    assert Checkin.objects.filter(participant=participant).count() == 1


def test_checkin_with_no_window_is_refused(make_participant: Callable[..., Participant]) -> None:
    participant = make_participant()
    with pytest.raises(ValidationError, match="no check-in open"):
        _submit(participant, attempted_at=NOON, now=NOON)


def test_checkin_without_a_photo_is_refused(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    open_window(participant, NOON)
    with pytest.raises(ValidationError):
        checkin_submit(
            participant=participant,
            client_ref=str(uuid.uuid4()),
            attempted_at=NOON,
            photo=b"",
            photo_content_type="image/jpeg",
            lat=None,
            lon=None,
            accuracy_m=None,
            now=NOON,
        )


def test_technical_failure_opens_a_task_and_is_never_counted_as_missed(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON, hours=1)
    checkin = checkin_technical_failure(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=NOON,
        reason="camera",
        detail="NotAllowedError",
        now=NOON,
    )
    assert checkin.outcome == Outcome.TECHNICAL_FAILURE
    task = Task.objects.get(participant=participant)
    assert task.kind == TaskKind.TECHNICAL_FAILURE
    assert "Camera" in task.summary
    assert missed_checkins_mark(now=window.closes_at + dt.timedelta(days=1)) == 0
    window.refresh_from_db()
    assert window.outcome == Outcome.TECHNICAL_FAILURE


def test_a_technical_failure_keeps_every_window_open_then_from_being_missed(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    long = open_window(participant, NOON, hours=6)
    short = open_window(participant, NOON + dt.timedelta(minutes=30), hours=1)
    checkin_technical_failure(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=NOON + dt.timedelta(minutes=40),
        reason="location",
        now=NOON + dt.timedelta(minutes=40),
    )
    assert missed_checkins_mark(now=long.closes_at + dt.timedelta(days=1)) == 0
    for window in (long, short):
        window.refresh_from_db()
        assert window.outcome == Outcome.TECHNICAL_FAILURE, window


def test_a_later_successful_checkin_replaces_a_technical_failure(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    window = open_window(participant, NOON)
    checkin_technical_failure(
        participant=participant,
        client_ref=str(uuid.uuid4()),
        attempted_at=NOON,
        reason="upload",
        now=NOON,
    )
    _submit(
        participant, attempted_at=NOON + dt.timedelta(minutes=5), now=NOON + dt.timedelta(minutes=5)
    )
    window.refresh_from_db()
    assert window.outcome == Outcome.ON_TIME


def test_phone_checkin_needs_the_plan_to_allow_it(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    open_window(participant, NOON)
    assert checkin_phone(participant=participant, received_at=NOON) is None
    plan_change(
        participant,
        actor=SYSTEM,
        plan=PlanData(level="standard", review_date=dt.date(2026, 9, 1), phone_checkins=True),
        reason="phone check-ins",
    )
    checkin = checkin_phone(participant=participant, received_at=NOON)
    assert checkin is not None
    assert checkin.outcome == Outcome.ON_TIME
    assert checkin.modality == "phone"
    assert checkin.lat is None
    again = checkin_phone(participant=participant, received_at=NOON + dt.timedelta(minutes=1))
    assert again is not None
    assert again.pk == checkin.pk


def test_phone_checkin_outside_a_window_is_none(
    make_participant: Callable[..., Participant],
) -> None:
    participant = make_participant(
        plan=PlanData(level="standard", review_date=dt.date(2026, 9, 1), phone_checkins=True)
    )
    assert checkin_phone(participant=participant, received_at=NOON) is None


def test_photo_retention_deletes_the_file_and_keeps_the_record(
    make_participant: Callable[..., Participant], open_window: Callable[..., CheckinWindow]
) -> None:
    participant = make_participant()
    open_window(participant, NOON)
    checkin = _submit(participant, attempted_at=NOON, now=NOON)
    storage, name = checkin.photo.storage, checkin.photo.name
    assert name is not None, "the check-in has a photo"
    assert storage.exists(name)
    assert checkin_photos_purge_before(NOON) == 0
    assert checkin_photos_purge_before(NOON + dt.timedelta(days=1)) == 1
    checkin.refresh_from_db()
    assert not checkin.photo
    assert not storage.exists(name)
    assert checkin.outcome == Outcome.ON_TIME
