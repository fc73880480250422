"""Bulk appointment runs: each needs a reason, is recorded as one action listing what it
changed, and can be undone within ``ONTRACK_BULK_UNDO_MINUTES``; the undo reverts exactly
what the run changed through the appointment services, telling each person, and leaves (and
names) anything changed since or whose place is taken (``schedule.services.bulk_records``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessLogEntry
from ontrack.messaging.models import Message
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentBulkAction,
    AppointmentBulkKind,
    AppointmentStatus,
    OfficeClosure,
    OfficeSlot,
)
from ontrack.schedule.services.appointments import appointment_book, appointment_move
from ontrack.schedule.services.bulk_appointments import (
    BookingRequest,
    appointments_book_many,
    appointments_cancel_many,
    appointments_move_many,
)
from ontrack.schedule.services.bulk_records import appointments_bulk_undo
from ontrack.schedule.services.offices import office_close_day

pytestmark = pytest.mark.django_db

NEWARK = ZoneInfo("America/New_York")
RUN_AT = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)  # Monday 07:00 in Newark
SOON = RUN_AT + dt.timedelta(minutes=5)


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A wall-clock time in Newark in March 2026, as an aware datetime."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=NEWARK)


def _book(participant: Participant, officer: User, at: dt.datetime) -> Appointment:
    return appointment_book(
        participant, actor=officer, type="routine_checkin", starts_at=at, now=RUN_AT
    )


def _notices(template_key: str) -> int:
    return Message.objects.filter(template_key=template_key).count()


def _status(appointment: Appointment) -> str:
    return Appointment.objects.get(pk=appointment.pk).status


# --- a reason, and the record -------------------------------------------------------------


def test_a_bulk_cancel_without_a_reason_is_refused_and_cancels_nothing(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = _book(make_participant(), officer, _at(10, 9))
    with pytest.raises(ValidationError, match="Say why"):
        appointments_cancel_many(actor=officer, appointment_ids=[booked.pk], reason="  ", now=SOON)
    assert _status(booked) == AppointmentStatus.BOOKED
    assert not AppointmentBulkAction.objects.exists()


@pytest.mark.parametrize("run", ["book", "move", "close"])
def test_every_other_bulk_run_needs_a_reason_too(
    run: str,
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    participant = make_participant()
    booked = _book(participant, officer, _at(10, 9))
    supervisor = make_user(Role.SUPERVISOR)
    runs: dict[str, Callable[[], object]] = {
        "book": lambda: appointments_book_many(
            actor=officer,
            office=hours_office,
            requests=[BookingRequest(participant, "plan_review", _at(10, 9))],
            reason="",
            now=RUN_AT,
        ),
        "move": lambda: appointments_move_many(
            actor=officer, appointment_ids=[booked.pk], reason="", now=SOON
        ),
        "close": lambda: office_close_day(
            actor=supervisor, office=hours_office, day=dt.date(2026, 3, 10), reason=" ", now=SOON
        ),
    }
    with pytest.raises(ValidationError, match="Say why"):
        runs[run]()
    assert Appointment.objects.get(pk=booked.pk).starts_at == _at(10, 9)
    assert not OfficeClosure.objects.exists()
    assert not AppointmentBulkAction.objects.exists()


def test_a_bulk_cancel_is_recorded_as_one_action_listing_each_appointment(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = [_book(make_participant(), officer, _at(10, 9)) for _ in range(2)]
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[a.pk for a in booked], reason="Office flooded", now=SOON
    )
    assert (run.kind, run.reason, run.actor) == (
        AppointmentBulkKind.CANCEL,
        "Office flooded",
        officer,
    )
    assert [
        (i.appointment_id, i.status_before, i.starts_at_before, i.status_after)
        for i in run.items.all()
    ] == [(a.pk, AppointmentStatus.BOOKED, _at(10, 9), AppointmentStatus.CANCELLED) for a in booked]


# --- undo, each kind ----------------------------------------------------------------------


def test_undoing_a_bulk_cancel_books_each_again_at_its_time_and_tells_them(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = [_book(make_participant(), officer, _at(10, 9)) for _ in range(2)]
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[a.pk for a in booked], reason="Office flooded", now=SOON
    )
    told_before = _notices("appointment_booked")
    undo = appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert undo.undoes == run
    again = Appointment.objects.filter(status=AppointmentStatus.BOOKED)
    assert sorted((a.participant_id, a.starts_at) for a in again) == sorted(
        (a.participant_id, a.starts_at) for a in booked
    )
    assert _notices("appointment_booked") == told_before + 2
    assert OfficeSlot.objects.get(starts_at=_at(10, 9)).booked == 2
    assert not undo.items.exclude(skipped="").exists()


def test_undoing_a_bulk_booking_cancels_what_it_booked_and_tells_them(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    people = [make_participant() for _ in range(3)]
    run = appointments_book_many(
        actor=officer,
        office=hours_office,
        requests=[BookingRequest(p, "plan_review", _at(10, 9)) for p in people],
        reason="Plan review round",
        now=RUN_AT,
    )
    appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert set(Appointment.objects.values_list("status", flat=True)) == {
        AppointmentStatus.CANCELLED
    }
    assert _notices("appointment_cancelled") == 3
    assert sum(OfficeSlot.objects.values_list("booked", flat=True)) == 0


def test_undoing_a_bulk_booking_no_one_was_told_of_tells_no_one(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    run = appointments_book_many(
        actor=officer,
        office=hours_office,
        requests=[BookingRequest(make_participant(), "plan_review", _at(10, 9))],
        reason="Imported from the old system",
        notify=False,
        now=RUN_AT,
    )
    appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert Appointment.objects.get().status == AppointmentStatus.CANCELLED
    assert not Message.objects.exists()


def test_undoing_a_bulk_move_puts_each_back_at_its_earlier_time_and_tells_them(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = [_book(make_participant(), officer, _at(10, 9)) for _ in range(2)]
    run = appointments_move_many(
        actor=officer, appointment_ids=[a.pk for a in booked], reason="Officer in court", now=SOON
    )
    moved_to = {i.appointment_id: i.starts_at_after for i in run.items.all()}
    assert all(at != _at(10, 9) for at in moved_to.values())
    appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert {a.starts_at for a in Appointment.objects.all()} == {_at(10, 9)}
    assert _notices("appointment_moved") == 4  # told of the move, then of the move back
    assert OfficeSlot.objects.get(starts_at=_at(10, 9)).booked == 2


def test_undoing_a_closed_day_reopens_it_and_moves_everyone_back(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    booked = _book(make_participant(), officer, _at(11, 9))
    run = office_close_day(
        actor=supervisor,
        office=hours_office,
        day=dt.date(2026, 3, 11),
        reason="Burst pipe",
        now=SOON,
    )
    assert run.closure_created
    assert Appointment.objects.get(pk=booked.pk).starts_at != _at(11, 9)
    appointments_bulk_undo(actor=supervisor, action=run, now=SOON)
    assert not OfficeClosure.objects.exists(), "the day the run closed is open again"
    assert Appointment.objects.get(pk=booked.pk).starts_at == _at(11, 9)


# --- the window, and what an undo leaves ---------------------------------------------------


def test_undo_is_refused_once_the_window_has_closed(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = _book(make_participant(), officer, _at(10, 9))
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[booked.pk], reason="Office flooded", now=RUN_AT
    )
    with pytest.raises(ValidationError, match="can no longer be undone"):
        appointments_bulk_undo(actor=officer, action=run, now=RUN_AT + dt.timedelta(minutes=16))
    assert _status(booked) == AppointmentStatus.CANCELLED
    assert AppointmentBulkAction.objects.count() == 1


def test_undo_skips_a_cancelled_appointment_whose_place_was_taken_and_never_overbooks(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = [_book(make_participant(), officer, _at(10, 9)) for _ in range(2)]
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[a.pk for a in booked], reason="Office flooded", now=RUN_AT
    )
    _book(make_participant(), officer, _at(10, 9))  # one of the two places taken meanwhile
    undo = appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert OfficeSlot.objects.get(starts_at=_at(10, 9)).booked == 2, "capacity 2, never more"
    (skipped,) = undo.items.exclude(skipped="")
    assert "fully booked" in skipped.skipped
    assert skipped.appointment_id == booked[0].pk
    assert undo.items.filter(skipped="").count() == 1


def test_undo_leaves_an_appointment_moved_again_since_the_run(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = _book(make_participant(), officer, _at(10, 9))
    run = appointments_move_many(
        actor=officer, appointment_ids=[booked.pk], reason="Officer in court", now=RUN_AT
    )
    appointment_move(actor=officer, appointment_id=booked.pk, starts_at=_at(12, 14), now=RUN_AT)
    undo = appointments_bulk_undo(actor=officer, action=run, now=SOON)
    assert Appointment.objects.get(pk=booked.pk).starts_at == _at(12, 14)
    assert [i.skipped for i in undo.items.all()] == ["changed since"]


def test_a_run_is_undone_once_and_an_undo_is_not_undone(
    make_participant: Callable[..., Participant], hours_office: Office, officer: User
) -> None:
    booked = _book(make_participant(), officer, _at(10, 9))
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[booked.pk], reason="Office flooded", now=RUN_AT
    )
    undo = appointments_bulk_undo(actor=officer, action=run, now=SOON)
    with pytest.raises(ValidationError, match="already been undone"):
        appointments_bulk_undo(actor=officer, action=run, now=SOON)
    with pytest.raises(ValidationError, match="cannot itself be undone"):
        appointments_bulk_undo(actor=officer, action=undo, now=SOON)


def test_another_officer_may_not_undo_someone_elses_run(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
) -> None:
    booked = _book(make_participant(), officer, _at(10, 9))
    run = appointments_cancel_many(
        actor=officer, appointment_ids=[booked.pk], reason="Office flooded", now=RUN_AT
    )
    with pytest.raises(PermissionDenied):
        appointments_bulk_undo(actor=make_user(Role.OFFICER), action=run, now=SOON)
    assert _status(booked) == AppointmentStatus.CANCELLED


# --- through the pages ---------------------------------------------------------------------


def _next_slot(office: Office) -> dt.datetime:
    now = timezone.now()
    slot = queries.nearest_free_slot(
        office, now + dt.timedelta(days=2), not_before=now + dt.timedelta(hours=1)
    )
    assert slot is not None
    return slot.starts_at


def test_the_day_pages_bulk_cancel_shows_its_result_and_undo_on_the_page_after(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    start = _next_slot(hours_office)
    people = [make_participant() for _ in range(2)]
    booked = [
        appointment_book(p, actor=officer, type="routine_checkin", starts_at=start) for p in people
    ]
    client = client_for(officer)
    body = client.post(
        "/schedule/bulk/",
        {"action": "cancel", "appointments": [str(a.pk) for a in booked], "reason": "x"},
    ).content.decode()
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found
    no_reason = client.post("/schedule/bulk/", {"token": found.group(1), "reason": " "})
    assert no_reason.status_code == 400, "the confirmation asks a reason"
    done = client.post("/schedule/bulk/", {"token": found.group(1), "reason": "Office flooded"})
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "2 appointment(s) cancelled" in page
    assert "Office flooded" in page
    assert all(p.full_name in page for p in people)
    assert "Undo this" in page
    listed = AccessLogEntry.objects.filter(path=done["Location"]).latest("at")
    assert all(f",{p.pk}," in listed.participant_ids for p in people), "the read is logged"
    undone = client.post(done["Location"] + "undo/")
    assert undone.status_code == 302
    assert "2 appointment(s) put back" in client.get(undone["Location"]).content.decode()
    assert Appointment.objects.filter(status=AppointmentStatus.BOOKED).count() == 2
    assert "Undo this" not in client.get(done["Location"]).content.decode()


def test_a_run_in_another_caseload_is_not_found(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    booked = appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_next_slot(hours_office),
    )
    run = appointments_cancel_many(actor=officer, appointment_ids=[booked.pk], reason="Flooded")
    stranger = client_for(make_user(Role.OFFICER))
    assert stranger.get(f"/schedule/bulk/{run.pk}/").status_code == 404
    assert stranger.post(f"/schedule/bulk/{run.pk}/undo/").status_code == 404
    assert _status(booked) == AppointmentStatus.CANCELLED


def test_the_undo_button_is_refused_with_the_reason_once_the_window_closed(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    client_for: Callable[[User], Client],
    settings: Settings,
) -> None:
    settings.ONTRACK_BULK_UNDO_MINUTES = 0  # the window closes as soon as the run is done
    booked = appointment_book(
        make_participant(),
        actor=officer,
        type="routine_checkin",
        starts_at=_next_slot(hours_office),
    )
    run = appointments_cancel_many(actor=officer, appointment_ids=[booked.pk], reason="Flooded")
    client = client_for(officer)
    assert "Undo this" not in client.get(f"/schedule/bulk/{run.pk}/").content.decode()
    refused = client.post(f"/schedule/bulk/{run.pk}/undo/")
    assert refused.status_code == 400
    assert "can no longer be undone" in refused.content.decode()
    assert _status(booked) == AppointmentStatus.CANCELLED


def test_a_supervisor_undoes_a_closed_day_from_the_page_after_closing_it(
    make_participant: Callable[..., Participant],
    hours_office: Office,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    start = _next_slot(hours_office)
    booked = appointment_book(
        make_participant(), actor=officer, type="routine_checkin", starts_at=start
    )
    day = start.astimezone(ZoneInfo(hours_office.time_zone)).date()
    client = client_for(make_user(Role.SUPERVISOR))
    close = {"form": "close", "day": day.isoformat(), "reason": "Staff training"}
    body = client.post(f"/schedule/offices/{hours_office.pk}/", close).content.decode()
    found = re.search(r'name="token" value="([^"]+)"', body)
    assert found
    done = client.post(f"/schedule/offices/{hours_office.pk}/", {**close, "token": found.group(1)})
    assert done.status_code == 302
    page = client.get(done["Location"]).content.decode()
    assert "Closed; 1 appointment(s) moved" in page
    assert "the day is open again" in page
    undone = client.post(done["Location"] + "undo/")
    assert undone.status_code == 302
    assert not OfficeClosure.objects.exists()
    assert Appointment.objects.get(pk=booked.pk).starts_at == start
