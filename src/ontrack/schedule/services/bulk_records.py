"""The record of each bulk appointment run, and its undo within a short window.

Every bulk run (``bulk_appointments``: a round of bookings, a bulk cancel or move;
``offices.office_close_day``) is recorded as one ``AppointmentBulkAction`` with its reason,
listing each appointment it booked, cancelled or moved (from and to). For
``ONTRACK_BULK_UNDO_MINUTES`` (the caseload transfer's window) the run can be undone: the
undo reverts exactly what the run changed, one appointment at a time, through the
appointment services, so capacity is checked as for any booking and the participant is told
as the run told them:

- a booking is cancelled (silently if the run did not tell the person either);
- a cancelled appointment is booked again at the same time (the cancelled one stays in the
  history, as it was sent);
- a moved appointment goes back to its earlier time, and a day the run closed is reopened.

An appointment changed since the run, or whose reverse is impossible now (its place was
taken, its time has passed), is left as it is and recorded as skipped with the reason;
nothing is ever overbooked. The undo is an action of its own that names the run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from ontrack.accounts.actors import Actor, actor_user
from ontrack.accounts.models import Office, User
from ontrack.participants.bulk_transfers import undo_window_closes
from ontrack.schedule.models import (
    Appointment,
    AppointmentBulkAction,
    AppointmentBulkItem,
    AppointmentBulkKind,
    AppointmentStatus,
    OfficeClosure,
)
from ontrack.schedule.services.appointments import (
    appointment_book,
    appointment_cancel,
    appointment_move,
)
from ontrack.schedule.services.preamble import now_or_clock, require_office_manager

NO_PLACE = "no free slot in the next 30 days"
WITHDRAWN = "This booking was made in error and is withdrawn."
MOVED_BACK = "Moved back to its earlier time."


def require_reason(reason: str, why: str) -> str:
    """The reason a bulk run is recorded with (and told to each person), stripped; a run
    without one is refused, ``why`` saying what to explain."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": why})
    return reason


def bulk_record(
    *,
    actor: Actor,
    kind: AppointmentBulkKind,
    reason: str,
    now: dt.datetime,
    office: Office | None = None,
    day: dt.date | None = None,
    closure_created: bool = False,
    notified: bool = True,
    undoes: AppointmentBulkAction | None = None,
) -> AppointmentBulkAction:
    return AppointmentBulkAction.objects.create(
        actor=actor_user(actor),
        kind=kind,
        reason=reason,
        office=office,
        day=day,
        closure_created=closure_created,
        notified=notified,
        created_at=now,
        undoes=undoes,
    )


def bulk_item(
    action: AppointmentBulkAction,
    appointment: Appointment,
    *,
    before: tuple[str, dt.datetime | None],
    skipped: str = "",
) -> AppointmentBulkItem:
    """Record one appointment of a run: ``before`` is its (status, start) before the run,
    ("", None) for one the run booked; after is as the appointment stands now."""
    return AppointmentBulkItem.objects.create(
        action=action,
        appointment=appointment,
        status_before=before[0],
        starts_at_before=before[1],
        status_after=appointment.status,
        starts_at_after=appointment.starts_at,
        skipped=skipped[:200],
    )


def bulk_undo_until(action: AppointmentBulkAction) -> dt.datetime:
    return undo_window_closes(action.created_at)


def _may_undo(actor: User, action: AppointmentBulkAction) -> bool:
    """Who undoes a run: for a closed day, whoever may close the office's days; otherwise
    whoever ran it, or a supervisor or administrator. Each appointment is then still
    checked against the actor's caseload by the appointment services."""
    if action.kind == AppointmentBulkKind.CLOSE_DAY:
        if action.office is None:
            return False
        try:
            require_office_manager(actor, action.office)
        except PermissionDenied:
            return False
        return True
    return action.actor_id == actor.pk or actor.manages_caseloads


def bulk_undoable(
    action: AppointmentBulkAction, *, actor: User, now: dt.datetime | None = None
) -> bool:
    """Whether the page offers ``actor`` an undo: a run (not an undo), not undone yet,
    within the window, and theirs to undo."""
    return (
        action.kind != AppointmentBulkKind.UNDO
        and not AppointmentBulkAction.objects.filter(undoes=action).exists()
        and now_or_clock(now) <= bulk_undo_until(action)
        and _may_undo(actor, action)
    )


def _changed_since(appointment: Appointment, item: AppointmentBulkItem) -> str:
    if appointment.status != item.status_after or appointment.starts_at != item.starts_at_after:
        return "changed since"
    return ""


def _withdraw(
    actor: User, undo: AppointmentBulkAction, item: AppointmentBulkItem, now: dt.datetime
) -> Appointment:
    return appointment_cancel(
        actor=actor,
        appointment_id=item.appointment_id,
        reason=WITHDRAWN,
        notify=undo.notified,
        now=now,
    )


def _book_again(
    actor: User, undo: AppointmentBulkAction, item: AppointmentBulkItem, now: dt.datetime
) -> Appointment:
    old = item.appointment
    participant = old.participant
    if participant.office_id != old.office_id:
        raise ValidationError("moved to another office since")
    if Appointment.objects.filter(
        participant=participant, starts_at=old.starts_at, status=AppointmentStatus.BOOKED
    ).exists():
        raise ValidationError("booked again at that time since")
    if old.starts_at <= now:
        raise ValidationError("its time has passed")
    return appointment_book(
        participant,
        actor=actor,
        type=old.type,
        starts_at=old.starts_at,
        kind=old.kind,
        ends_at=old.ends_at,
        note=old.note,
        now=now,
    )


def _move_back(
    actor: User, undo: AppointmentBulkAction, item: AppointmentBulkItem, now: dt.datetime
) -> Appointment:
    assert item.starts_at_before is not None  # a moved appointment had a time before
    if item.starts_at_before <= now:
        raise ValidationError("its earlier time has passed")
    return appointment_move(
        actor=actor,
        appointment_id=item.appointment_id,
        starts_at=item.starts_at_before,
        reason=MOVED_BACK,
        now=now,
    )


Reverse = Callable[[User, AppointmentBulkAction, AppointmentBulkItem, dt.datetime], Appointment]

_REVERSE: dict[str, Reverse] = {
    AppointmentBulkKind.BOOK: _withdraw,
    AppointmentBulkKind.CANCEL: _book_again,
    AppointmentBulkKind.MOVE: _move_back,
    AppointmentBulkKind.CLOSE_DAY: _move_back,
}


def _revert(
    reverse: Reverse,
    actor: User,
    undo: AppointmentBulkAction,
    item: AppointmentBulkItem,
    now: dt.datetime,
) -> None:
    """Revert one appointment and record it, or record why it stays as it is."""
    appointment = Appointment.objects.select_related("participant", "office").get(
        pk=item.appointment_id
    )
    before = (appointment.status, appointment.starts_at)
    skipped = _changed_since(appointment, item)
    if not skipped:
        try:
            with transaction.atomic():
                appointment = reverse(actor, undo, item, now)
        except ValidationError as exc:
            skipped = "; ".join(exc.messages)
        except PermissionDenied:
            skipped = "not in your caseload"
    bulk_item(undo, appointment, before=before, skipped=skipped)


@transaction.atomic
def appointments_bulk_undo(
    *, actor: User, action: AppointmentBulkAction, now: dt.datetime | None = None
) -> AppointmentBulkAction:
    """Undo a bulk run within ``ONTRACK_BULK_UNDO_MINUTES``: each appointment it changed and
    that is still as the run left it is reverted (see the module's docstring); any other is
    recorded as skipped with the reason. Recorded as its own action, naming the run."""
    now = now_or_clock(now)
    action = AppointmentBulkAction.objects.select_for_update().get(pk=action.pk)
    if action.kind == AppointmentBulkKind.UNDO:
        raise ValidationError("An undo cannot itself be undone; run the action again.")
    if not _may_undo(actor, action):
        raise PermissionDenied("Only whoever ran it, or a supervisor, may undo this.")
    if AppointmentBulkAction.objects.filter(undoes=action).exists():
        raise ValidationError("This has already been undone.")
    until = bulk_undo_until(action)
    if now > until:
        raise ValidationError(
            f"This can no longer be undone: the undo window of "
            f"{settings.ONTRACK_BULK_UNDO_MINUTES} minutes closed at {until:%Y-%m-%d %H:%M} UTC. "
            "Change the appointments one by one, with a reason, instead."
        )
    undo = bulk_record(
        actor=actor,
        kind=AppointmentBulkKind.UNDO,
        reason=f"Undoing: {action.reason}",
        now=now,
        office=action.office,
        day=action.day,
        notified=action.notified,
        undoes=action,
    )
    if action.kind == AppointmentBulkKind.CLOSE_DAY and action.closure_created and action.day:
        OfficeClosure.objects.filter(office=action.office, date=action.day).delete()
    # In reverse order, so that each appointment finds its earlier place as the run left it
    # (a later one of the run may have moved into it).
    items = list(action.items.filter(skipped="").select_related("appointment__participant"))
    for item in reversed(items):
        _revert(_REVERSE[action.kind], actor, undo, item, now)
    return undo
