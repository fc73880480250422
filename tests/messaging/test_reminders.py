"""reminders_sync: reminders follow their anchor; nothing for a time already past; a
cancelled anchor cancels them; hearings written through participants' services are
followed through participants' hearing listeners."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks, Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.messaging.models import Message, MessageStatus
from ontrack.messaging.services.reminders import ReminderAnchor, reminders_sync
from ontrack.participants.models import Hearing, Participant
from ontrack.participants.services import hearing_add, hearing_update

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def _anchor(participant: Participant, at: dt.datetime, **kw: Any) -> ReminderAnchor:
    return ReminderAnchor(
        key="appointment:77",
        kind="appointment",
        participant_id=participant.pk,
        at=at,
        context={"place": "970 Broad St", "purpose": "Plan review"},
        **kw,
    )


def _pending(participant: Participant) -> list[Message]:
    return list(
        Message.objects.filter(participant=participant, status=MessageStatus.QUEUED).order_by(
            "send_at"
        )
    )


def _in_ten_days_at(hour: int) -> dt.datetime:
    day = (timezone.now().astimezone(NY) + dt.timedelta(days=10)).date()
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=NY)


def test_appointment_gets_three_days_one_day_and_two_hours_reminders(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("es")
    at = _in_ten_days_at(14)
    assert reminders_sync(_anchor(participant, at)) == 3
    sends = [m.send_at.astimezone(NY) for m in _pending(participant)]
    assert [(s.date(), s.hour) for s in sends] == [
        (at.date() - dt.timedelta(days=3), 9),
        (at.date() - dt.timedelta(days=1), 9),
        (at.date(), 12),
    ]
    assert all("Recordatorio" in m.body for m in _pending(participant))


def test_syncing_twice_changes_nothing(speaker: Callable[..., Participant]) -> None:
    participant = speaker("es")
    anchor = _anchor(participant, _in_ten_days_at(14))
    reminders_sync(anchor)
    first = [m.pk for m in _pending(participant)]
    assert reminders_sync(anchor) == 3
    assert [m.pk for m in _pending(participant)] == first


def test_moved_appointment_cancels_old_reminders_and_queues_new_ones(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("pt")
    reminders_sync(_anchor(participant, _in_ten_days_at(14)))
    moved = _in_ten_days_at(14) + dt.timedelta(days=2)
    assert reminders_sync(_anchor(participant, moved)) == 3
    assert all(m.send_at < moved for m in _pending(participant))
    assert (
        Message.objects.filter(participant=participant, status=MessageStatus.CANCELLED).count() == 3
    )


def test_cancelled_anchor_cancels_every_pending_reminder(
    speaker: Callable[..., Participant],
) -> None:
    participant = speaker("fr")
    at = _in_ten_days_at(14)
    reminders_sync(_anchor(participant, at))
    assert reminders_sync(_anchor(participant, at, cancelled=True)) == 0
    assert _pending(participant) == []


def test_no_reminder_for_a_time_already_past(
    speaker: Callable[..., Participant], settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_QUIET_HOURS = ()  # whatever the hour the suite runs at
    participant = speaker("en")
    soon = timezone.now() + dt.timedelta(hours=3)
    assert reminders_sync(_anchor(participant, soon)) == 1  # only "2 hours before" is ahead


def test_early_morning_appointment_reminder_avoids_quiet_hours(
    speaker: Callable[..., Participant], settings: Settings
) -> None:
    settings.ONTRACK_MESSAGING_QUIET_HOURS = ("21:00", "08:00")
    participant = speaker("en")
    at = _in_ten_days_at(7)  # "2 hours before" would be 05:00
    reminders_sync(_anchor(participant, at))
    two_hours = _pending(participant)[-1].send_at.astimezone(NY)
    assert (two_hours.date(), two_hours.hour, two_hours.minute) == (
        at.date() - dt.timedelta(days=1),
        20,
        59,
    )


def _court_hearing_in_ten_days(participant: Participant) -> Hearing:
    """A hearing added through participants' service, as the console and the API add one."""
    return hearing_add(
        participant,
        actor=SYSTEM,
        scheduled_at=_in_ten_days_at(9),
        court="Newark Immigration Court",
        court_address="970 Broad St",
        kind="master_calendar",
    )


def _court_hearing_in_a_failing_transaction(participant: Participant) -> None:
    """A hearing written inside the caller's transaction, which then fails and rolls it back."""
    with transaction.atomic():
        _court_hearing_in_ten_days(participant)
        raise RuntimeError("the caller's transaction fails after the hearing is written")


def test_hearing_added_gets_its_reminders_and_a_cancelled_one_loses_them(
    speaker: Callable[..., Participant],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = speaker("ht")
    with django_capture_on_commit_callbacks(execute=True):
        hearing = _court_hearing_in_ten_days(participant)
    texts = _pending(participant)
    assert len(texts) == 3
    assert all(m.anchor_key == f"hearing:{hearing.pk}" for m in texts)
    assert all("Rapèl tribinal" in m.body for m in texts)
    with django_capture_on_commit_callbacks(execute=True):
        hearing_update(hearing, actor=SYSTEM, outcome="cancelled")
    assert _pending(participant) == []


def test_hearing_moved_moves_its_reminders(
    speaker: Callable[..., Participant],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = speaker("en")
    with django_capture_on_commit_callbacks(execute=True):
        hearing = _court_hearing_in_ten_days(participant)
    before = {m.send_at for m in _pending(participant)}
    with django_capture_on_commit_callbacks(execute=True):
        hearing_update(
            hearing, actor=SYSTEM, scheduled_at=_in_ten_days_at(9) + dt.timedelta(days=7)
        )
    after = _pending(participant)
    assert len(after) == 3, "every reminder is re-timed to the new date, none left at the old one"
    assert {m.send_at for m in after}.isdisjoint(before), (
        "every reminder is re-timed to the new date, none left at the old one"
    )


def test_hearing_added_in_a_rolled_back_transaction_gets_no_reminders(
    speaker: Callable[..., Participant],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    participant = speaker("en")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        _court_hearing_in_a_failing_transaction(participant)
    assert _pending(participant) == []


def _with_counsel(participant: Participant) -> Participant:
    from ontrack.participants.models import Counsel

    Counsel.objects.create(
        participant=participant,
        name="A. Lawyer",
        email="lawyer@example.org",
        consent_to_notices=True,
    )
    return participant


def _counsel_waiting(participant: Participant) -> list[Message]:
    return list(
        Message.objects.filter(
            participant=participant, recipient="counsel", status=MessageStatus.QUEUED
        ).order_by("send_at")
    )


def test_counsel_copies_of_reminders_follow_a_moved_then_cancelled_anchor(
    speaker: Callable[..., Participant],
) -> None:
    participant = _with_counsel(speaker("es"))
    at = _in_ten_days_at(14)
    reminders_sync(_anchor(participant, at))
    copies = _counsel_waiting(participant)
    assert len(copies) == 3
    assert all(c.anchor_key == "appointment:77" for c in copies)
    moved = at + dt.timedelta(days=2)
    reminders_sync(_anchor(participant, moved))
    assert [c.send_at for c in _counsel_waiting(participant)] == [
        m.send_at for m in _pending(participant) if m.recipient == "participant"
    ], "counsel's copies should be due exactly when the participant's reminders are"
    assert all(c.pk not in {old.pk for old in copies} for c in _counsel_waiting(participant))
    reminders_sync(_anchor(participant, moved, cancelled=True))
    assert _counsel_waiting(participant) == [], "no copy of a withdrawn reminder may stay queued"


def test_moving_and_cancelling_a_booked_appointment_leaves_no_stale_counsel_copy(
    speaker: Callable[..., Participant],
) -> None:
    from ontrack.schedule.queries import nearest_free_slot
    from ontrack.schedule.services import appointment_book, appointment_cancel, appointment_move

    participant = _with_counsel(speaker("ht"))
    office = participant.office
    office.opening_hours = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    office.save()
    now = timezone.now()
    first = nearest_free_slot(office, now + dt.timedelta(days=10), not_before=now)
    assert first is not None
    appointment = appointment_book(
        participant, actor=SYSTEM, type="routine_checkin", starts_at=first.starts_at
    )
    reminder_copies = Message.objects.filter(
        participant=participant, recipient="counsel", anchor_key=f"appointment:{appointment.pk}"
    )
    assert reminder_copies.filter(status=MessageStatus.QUEUED).count() == 3
    later = nearest_free_slot(office, now + dt.timedelta(days=20), not_before=now)
    assert later is not None
    appointment_move(actor=SYSTEM, appointment_id=appointment.pk, starts_at=later.starts_at)
    assert all(
        c.send_at < later.starts_at and c.send_at > first.starts_at
        for c in reminder_copies.filter(status=MessageStatus.QUEUED)
    ), "after the move only copies of the new reminders should wait"
    appointment_cancel(actor=SYSTEM, appointment_id=appointment.pk, reason="Court date changed")
    assert not reminder_copies.filter(status=MessageStatus.QUEUED).exists()
    assert Message.objects.filter(
        participant=participant, recipient="counsel", template_key="appointment_cancelled"
    ).exists(), "counsel is still told of the cancellation itself"
