"""Appointments: slots from the office's hours in its zone, capacity held under concurrent
bookings, moves, cancellations, the bulk move of a closed day, and their notices."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, connection

from ontrack.accounts.models import Office, Role, User
from ontrack.messaging.models import Message
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentStatus,
    OfficeClosure,
    OfficeSlot,
    RequestStatus,
    Task,
    TaskStatus,
)
from ontrack.schedule.services.appointments import (
    appointment_book,
    appointment_cancel,
    appointment_confirm,
    appointment_move,
)
from ontrack.schedule.services.bulk_appointments import BookingRequest, appointments_book_many
from ontrack.schedule.services.offices import office_close_day
from ontrack.schedule.services.reschedules import reschedule_decide, reschedule_request_create

pytestmark = pytest.mark.django_db

NEWARK = ZoneInfo("America/New_York")
BOOKED_ON = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)  # Monday 07:00 in Newark


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Newark in March 2026, as an aware datetime."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=NEWARK)


def test_slots_follow_opening_hours_in_the_office_zone_across_dst(hours_office: Office) -> None:
    before = queries.office_slots(hours_office, dt.date(2026, 3, 6))
    after = queries.office_slots(hours_office, dt.date(2026, 3, 9))
    assert len(before) == len(after) == 14  # 9–12 and 13–17 in 30-minute slots
    assert before[0].starts_at.astimezone(dt.UTC).hour == 14  # 09:00 EST
    assert after[0].starts_at.astimezone(dt.UTC).hour == 13  # 09:00 EDT
    assert queries.office_slots(hours_office, dt.date(2026, 3, 7)) == []  # Saturday


def test_booking_tells_the_participant_with_the_stated_purpose(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="en")
    appointment = appointment_book(
        participant, actor=officer, type="document_service", starts_at=_at(10, 9), now=BOOKED_ON
    )
    assert appointment.ends_at == _at(10, 9, 30)
    notice = Message.objects.get(participant=participant, template_key="appointment_booked")
    assert "Document service" in notice.body


def test_booking_outside_hours_or_on_a_closure_is_refused(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    with pytest.raises(ValidationError):
        appointment_book(
            participant,
            actor=officer,
            type="routine_checkin",
            starts_at=_at(10, 12, 30),
            now=BOOKED_ON,
        )
    OfficeClosure.objects.create(office=hours_office, date=dt.date(2026, 3, 11), reason="Holiday")
    with pytest.raises(ValidationError):
        appointment_book(
            participant, actor=officer, type="routine_checkin", starts_at=_at(11, 9), now=BOOKED_ON
        )


def test_a_full_slot_refuses_the_next_booking(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    for _ in range(2):
        appointment_book(
            make_participant(),
            actor=officer,
            type="routine_checkin",
            starts_at=_at(10, 9),
            now=BOOKED_ON,
        )
    with pytest.raises(ValidationError, match="fully booked"):
        appointment_book(
            make_participant(),
            actor=officer,
            type="routine_checkin",
            starts_at=_at(10, 9),
            now=BOOKED_ON,
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_bookings_never_exceed_capacity(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    people = [make_participant() for _ in range(6)]
    start = threading.Barrier(len(people))
    results: list[str] = []

    def book(participant: Participant) -> None:
        start.wait()
        try:
            for _attempt in range(500):
                try:
                    appointment_book(
                        participant,
                        actor=officer,
                        type="routine_checkin",
                        starts_at=_at(10, 9),
                        now=BOOKED_ON,
                    )
                    results.append("booked")
                    return
                except ValidationError:
                    results.append("full")
                    return
                except OperationalError as exc:
                    # The SQLite test database is in memory with a shared cache, where a
                    # writer that finds the table locked fails at once instead of waiting
                    # (busy_timeout does not apply); waiting here stands in for it.
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.005)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["booked"] * 2 + ["full"] * 4
    slot = OfficeSlot.objects.get(office=hours_office)
    assert slot.booked == 2
    assert Appointment.objects.filter(slot=slot, status=AppointmentStatus.BOOKED).count() == 2


def test_move_frees_the_old_place_and_tells_the_participant(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(10, 9), now=BOOKED_ON
    )
    appointment_move(
        actor=officer, appointment_id=appointment.pk, starts_at=_at(12, 14), now=BOOKED_ON
    )
    slots = {s.starts_at: s.booked for s in OfficeSlot.objects.all()}
    assert slots == {_at(10, 9): 0, _at(12, 14): 1}
    assert Message.objects.filter(
        participant=participant, template_key="appointment_moved"
    ).exists()


def test_cancel_needs_a_reason_and_frees_the_place(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    appointment = appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_at(10, 9),
        now=BOOKED_ON,
    )
    with pytest.raises(ValidationError):
        appointment_cancel(actor=officer, appointment_id=appointment.pk, reason=" ", now=BOOKED_ON)
    appointment_cancel(
        actor=officer, appointment_id=appointment.pk, reason="Court date", now=BOOKED_ON
    )
    assert OfficeSlot.objects.get().booked == 0
    assert Appointment.objects.get(pk=appointment.pk).status == AppointmentStatus.CANCELLED


def test_closing_a_day_moves_everyone_to_the_nearest_free_slot(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    people = [make_participant() for _ in range(3)]
    # Wednesday 11 March 09:00: two people (capacity 2); 09:30: one person.
    first = [
        appointment_book(
            p, actor=officer, type="routine_checkin", starts_at=_at(11, 9), now=BOOKED_ON
        )
        for p in people[:2]
    ]
    third = appointment_book(
        people[2], actor=officer, type="plan_review", starts_at=_at(11, 9, 30), now=BOOKED_ON
    )
    # Tuesday 10 March 16:30 (the last slot before the closed day) has one place left.
    appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_at(10, 16, 30),
        now=BOOKED_ON,
    )
    result = office_close_day(
        actor=supervisor,
        office=hours_office,
        day=dt.date(2026, 3, 11),
        reason="Burst pipe",
        now=BOOKED_ON,
    )
    assert not result.items.exclude(skipped="").exists(), "everyone found a place"
    moved = {
        a.pk: a.starts_at
        for a in Appointment.objects.filter(pk__in=[*(a.pk for a in first), third.pk])
    }
    # Nearest in time, earlier or later: Tue 16:30 is 16.5 h before Wed 09:00 (its last
    # place goes to the first person), Tue 16:00 is 17 h before (nearer than Thu 09:00).
    assert moved[first[0].pk] == _at(10, 16, 30)
    assert moved[first[1].pk] == _at(10, 16)
    assert moved[third.pk] == _at(10, 16)
    assert Message.objects.filter(template_key="appointment_moved").count() == 3
    assert OfficeClosure.objects.filter(office=hours_office, date=dt.date(2026, 3, 11)).exists()


def test_an_officer_may_not_close_the_office(hours_office: Office, officer: User) -> None:
    with pytest.raises(PermissionDenied):
        office_close_day(
            actor=officer, office=hours_office, day=dt.date(2026, 3, 11), reason="x", now=BOOKED_ON
        )


def test_officer_may_not_book_for_another_caseload(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    make_user: Callable[..., User],
) -> None:
    stranger = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        appointment_book(
            make_participant(),
            actor=stranger,
            type="routine_checkin",
            starts_at=_at(10, 9),
            now=BOOKED_ON,
        )


def test_reschedule_request_approved_moves_the_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(10, 9), now=BOOKED_ON
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Work shift", now=BOOKED_ON
    )
    again = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Work shift", now=BOOKED_ON
    )
    assert again.pk == request.pk
    task = Task.objects.get(participant=participant)
    reschedule_decide(
        actor=officer, request_id=request.pk, approve=True, starts_at=_at(13, 15), now=BOOKED_ON
    )
    appointment.refresh_from_db()
    request.refresh_from_db()
    task.refresh_from_db()
    assert appointment.starts_at == _at(13, 15)
    assert request.status == RequestStatus.APPROVED
    assert task.status == TaskStatus.DONE


def test_reschedule_decline_needs_a_note(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(10, 9), now=BOOKED_ON
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Sick", now=BOOKED_ON
    )
    with pytest.raises(ValidationError):
        reschedule_decide(actor=officer, request_id=request.pk, approve=False, now=BOOKED_ON)
    reschedule_decide(
        actor=officer,
        request_id=request.pk,
        approve=False,
        note="Hearing prep cannot wait",
        now=BOOKED_ON,
    )
    assert Appointment.objects.get(pk=appointment.pk).starts_at == _at(10, 9)


def test_a_declined_reschedule_request_is_told_to_the_participant_in_their_language(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant(preferred_language="ht")
    appointment = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(10, 9), now=BOOKED_ON
    )
    request = reschedule_request_create(
        participant=participant, appointment_id=appointment.pk, reason="Travay", now=BOOKED_ON
    )
    reschedule_decide(
        actor=officer, request_id=request.pk, approve=False, note="Needed that day", now=BOOKED_ON
    )
    notice = Message.objects.get(participant=participant, template_key="reschedule_declined")
    assert notice.language == "ht", notice.language
    assert "yo pa aksepte demann ou" in notice.body, notice.body
    assert notice.essential


def test_reschedule_of_someone_elses_appointment_is_not_found(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    appointment = appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_at(10, 9),
        now=BOOKED_ON,
    )
    with pytest.raises(Appointment.DoesNotExist.__mro__[1]):
        reschedule_request_create(
            participant=make_participant(), appointment_id=appointment.pk, reason="x", now=BOOKED_ON
        )


def test_confirm_marks_the_next_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    participant = make_participant()
    assert appointment_confirm(participant=participant, at=BOOKED_ON) is None
    later = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(12, 9), now=BOOKED_ON
    )
    sooner = appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=_at(10, 9), now=BOOKED_ON
    )
    confirmed = appointment_confirm(participant=participant, at=BOOKED_ON)
    assert confirmed is not None
    assert confirmed.pk == sooner.pk
    assert Appointment.objects.get(pk=later.pk).confirmed_at is None


def test_home_visit_takes_no_office_place(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    appointment = appointment_book(
        make_participant(),
        actor=officer,
        type="device_fitting",
        kind="home_visit",
        starts_at=_at(10, 18),
        now=BOOKED_ON,
    )
    assert appointment.slot is None
    assert appointment.ends_at == _at(10, 19)
    assert not OfficeSlot.objects.exists()


def test_bulk_booking_fills_slots_in_order_without_exceeding_capacity(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    people = [make_participant() for _ in range(5)]
    appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_at(10, 9),
        now=BOOKED_ON,
    )
    run = appointments_book_many(
        actor=officer,
        office=hours_office,
        requests=[BookingRequest(p, "plan_review", _at(10, 9)) for p in people],
        reason="Plan review round",
        now=BOOKED_ON,
    )
    booked = [i.appointment for i in run.items.select_related("appointment")]
    # 09:00 had one place left (capacity 2), then 09:30 and 10:00 take two each.
    assert sorted(a.starts_at for a in booked) == [
        _at(10, 9),
        _at(10, 9, 30),
        _at(10, 9, 30),
        _at(10, 10),
        _at(10, 10),
    ]
    assert {s.starts_at: s.booked for s in OfficeSlot.objects.all()} == {
        _at(10, 9): 2,
        _at(10, 9, 30): 2,
        _at(10, 10): 2,
    }
    assert Message.objects.filter(template_key="appointment_booked").count() == 6


def test_bulk_booking_refuses_another_caseload(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    make_user: Callable[..., User],
) -> None:
    stranger = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        appointments_book_many(
            actor=stranger,
            office=hours_office,
            requests=[BookingRequest(make_participant(), "plan_review", _at(10, 9))],
            reason="Plan review round",
            now=BOOKED_ON,
        )
