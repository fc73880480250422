"""Appointments booked, cancelled or moved many at a time: a round of plan reviews, the
bookings imported from the system being replaced, everyone booked on a day the office
closes.

Bulk booking takes places one slot at a time with a conditional UPDATE, so a single
booking made meanwhile is never overbooked; moving goes through ``appointment_move`` one
appointment after another so each sees the places the previous ones took.

Each run needs a reason and is recorded as one ``AppointmentBulkAction`` listing what it
changed, which can be undone for a short while (``bulk_records``). Moving one appointment
to the nearest free slot (``appointments_move_nearest`` alone) is not a bulk run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from ontrack.accounts.actors import Actor, actor_user
from ontrack.accounts.models import Office
from ontrack.participants.models import Participant
from ontrack.schedule import queries
from ontrack.schedule.models import (
    Appointment,
    AppointmentBulkAction,
    AppointmentBulkKind,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    OfficeClosure,
    OfficeSlot,
)
from ontrack.schedule.services.appointments import (
    appointment_cancel,
    appointment_move,
    appointment_notify,
)
from ontrack.schedule.services.bulk_records import (
    NO_PLACE,
    bulk_item,
    bulk_record,
    require_reason,
)
from ontrack.schedule.services.preamble import now_or_clock, require_write

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BookingRequest:
    participant: Participant
    type: str
    not_before: dt.datetime


def _assign_slots(
    office: Office, requests: Sequence[BookingRequest], *, search_days: int = 366
) -> list[tuple[BookingRequest, tuple[dt.datetime, dt.datetime]]]:
    """Give each request the first slot with a free place at or after its ``not_before``,
    earliest requests first, counting places already taken in the database."""
    calendar = queries.calendar_for(office)
    zone = ZoneInfo(office.time_zone)
    pending = sorted(requests, key=lambda r: r.not_before)
    first_day = pending[0].not_before.astimezone(zone).date()
    closed = set(
        OfficeClosure.objects.filter(
            office=office, date__gte=first_day, date__lte=first_day + dt.timedelta(days=search_days)
        ).values_list("date", flat=True)
    )
    taken = dict(
        OfficeSlot.objects.filter(office=office, starts_at__gte=pending[0].not_before).values_list(
            "starts_at", "booked"
        )
    )
    placed: list[tuple[BookingRequest, tuple[dt.datetime, dt.datetime]]] = []
    waiting: list[BookingRequest] = []
    index = 0
    for offset in range(search_days + 1):
        day = first_day + dt.timedelta(days=offset)
        if day in closed:
            continue
        for start, end in queries.office_slot_times(office, day, calendar):
            while index < len(pending) and pending[index].not_before <= start:
                waiting.append(pending[index])
                index += 1
            free = calendar.slot_capacity - taken.get(start, 0)
            while free > 0 and waiting:
                placed.append((waiting.pop(0), (start, end)))
                free -= 1
        if index == len(pending) and not waiting:
            return placed
    raise ValidationError(
        f"Only {len(placed)} of {len(requests)} fit in the next {search_days} days."
    )


def appointments_book_many(
    *,
    actor: Actor,
    office: Office,
    requests: Sequence[BookingRequest],
    reason: str,
    notify: bool = True,
    now: dt.datetime | None = None,
) -> AppointmentBulkAction:
    """Book many office appointments at once (e.g. a round of plan reviews): each person
    gets the first slot with a free place at or after their ``not_before``. All or none,
    recorded as one action with its reason.

    Places are taken one slot at a time with a conditional UPDATE (``booked + n <=
    capacity``), so a single booking made meanwhile is never overbooked: the bulk booking
    fails instead and can be run again. ``notify=False`` is for appointments the people
    already know of (e.g. imported from the system being replaced): no notice, no
    reminders."""
    now = now_or_clock(now)
    reason = require_reason(reason, "Say why these appointments are booked.")
    if not requests:
        raise ValidationError("No one to book.")
    for request in requests:
        require_write(actor, request.participant)
        if request.participant.office_id != office.pk:
            raise ValidationError(f"{request.participant} is not at {office}.")
        if request.type not in AppointmentType.values:
            raise ValidationError({"type": f"Unknown appointment type {request.type!r}."})
    with transaction.atomic():
        placed = _assign_slots(office, requests)
        counts: dict[tuple[dt.datetime, dt.datetime], int] = {}
        for _request, bounds in placed:
            counts[bounds] = counts.get(bounds, 0) + 1
        capacity = queries.calendar_for(office).slot_capacity
        existing = {
            s.starts_at: s
            for s in OfficeSlot.objects.filter(
                office=office, starts_at__in=[start for start, _end in counts]
            )
        }
        fresh = [
            OfficeSlot(office=office, starts_at=start, ends_at=end, capacity=capacity, booked=n)
            for (start, end), n in counts.items()
            if start not in existing
        ]
        slots = {s.starts_at: s for s in OfficeSlot.objects.bulk_create(fresh, batch_size=1000)}
        for (start, _end), n in counts.items():
            slot = existing.get(start)
            if slot is None:
                continue
            if not OfficeSlot.objects.filter(pk=slot.pk, booked__lte=F("capacity") - n).update(
                booked=F("booked") + n
            ):
                raise ValidationError("Places were taken meanwhile; book the round again.")
            slots[start] = slot
        appointments = Appointment.objects.bulk_create(
            [
                Appointment(
                    participant=request.participant,
                    office=office,
                    slot=slots[start],
                    kind=AppointmentKind.OFFICE,
                    type=request.type,
                    starts_at=start,
                    ends_at=end,
                    booked_by=actor_user(actor),
                    created_at=now,
                )
                for request, (start, end) in placed
            ],
            batch_size=1000,
        )
        action = bulk_record(
            actor=actor,
            kind=AppointmentBulkKind.BOOK,
            reason=reason,
            now=now,
            office=office,
            notified=notify,
        )
        for appointment in appointments:
            bulk_item(action, appointment, before=("", None))
            if notify:
                appointment_notify(
                    appointment, "appointment_booked", f"booked by {actor or 'the system'}"
                )
    logger.info("appointments booked in bulk office=%s count=%s", office.pk, len(appointments))
    return action


def appointments_cancel_many(
    *,
    actor: Actor,
    appointment_ids: Iterable[int],
    reason: str,
    now: dt.datetime | None = None,
) -> AppointmentBulkAction:
    """Cancel several appointments at once, all or none, recorded as one action with its
    reason (each person is told it)."""
    now = now_or_clock(now)
    reason = require_reason(reason, "Say why these appointments are cancelled.")
    ids = list(appointment_ids)
    if not ids:
        raise ValidationError("No appointment to cancel.")
    with transaction.atomic():
        action = bulk_record(actor=actor, kind=AppointmentBulkKind.CANCEL, reason=reason, now=now)
        for pk in ids:
            appointment = appointment_cancel(actor=actor, appointment_id=pk, reason=reason, now=now)
            bulk_item(action, appointment, before=(AppointmentStatus.BOOKED, appointment.starts_at))
    return action


@dataclass(frozen=True)
class BulkMove:
    moved: list[Appointment]
    unplaced: list[Appointment]


def appointments_move_nearest(
    *,
    actor: Actor,
    appointment_ids: Sequence[int],
    avoid_day: dt.date | None = None,
    reason: str,
    now: dt.datetime | None = None,
) -> BulkMove:
    """Move each appointment to the free slot nearest its present time (never in the past,
    never on ``avoid_day``), one after another so each sees the places the previous ones
    took; each person is told of their own new time. Those with no free slot within 30 days
    are left as they are and listed for the officer."""
    now = now_or_clock(now)
    moved: list[Appointment] = []
    unplaced: list[Appointment] = []
    appointments = (
        Appointment.objects.select_related("office", "participant")
        .filter(pk__in=appointment_ids, status=AppointmentStatus.BOOKED)
        .order_by("starts_at", "pk")
    )
    for appointment in appointments:
        require_write(actor, appointment.participant)
        if appointment.kind != AppointmentKind.OFFICE:
            unplaced.append(appointment)
            continue
        slot = queries.nearest_free_slot(
            appointment.office,
            appointment.starts_at,
            not_before=now,
            avoid_day=avoid_day,
            avoid_start=appointment.starts_at,
        )
        if slot is None:
            unplaced.append(appointment)
            continue
        moved.append(
            appointment_move(
                actor=actor,
                appointment_id=appointment.pk,
                starts_at=slot.starts_at,
                reason=reason,
                now=now,
            )
        )
    logger.info("appointments moved count=%s unplaced=%s", len(moved), len(unplaced))
    return BulkMove(moved=moved, unplaced=unplaced)


def appointments_move_many(
    *,
    actor: Actor,
    appointment_ids: Sequence[int],
    reason: str,
    avoid_day: dt.date | None = None,
    into: AppointmentBulkAction | None = None,
    now: dt.datetime | None = None,
) -> AppointmentBulkAction:
    """Move each appointment to the nearest free slot (``appointments_move_nearest``) as one
    recorded run with its reason: each moved one from and to, each left in place with why.
    ``into`` is the run to record them in (a closed day's); otherwise a move of its own."""
    now = now_or_clock(now)
    reason = require_reason(reason, "Say why these appointments move.")
    with transaction.atomic():
        action = into or bulk_record(
            actor=actor, kind=AppointmentBulkKind.MOVE, reason=reason, now=now
        )
        before = dict(
            Appointment.objects.filter(pk__in=appointment_ids).values_list("pk", "starts_at")
        )
        result = appointments_move_nearest(
            actor=actor,
            appointment_ids=appointment_ids,
            avoid_day=avoid_day,
            reason=reason if into is None else f"Office closed: {reason}",
            now=now,
        )
        for appointment in result.moved:
            bulk_item(
                action, appointment, before=(AppointmentStatus.BOOKED, before[appointment.pk])
            )
        for appointment in result.unplaced:
            bulk_item(
                action,
                appointment,
                before=(appointment.status, appointment.starts_at),
                skipped=NO_PLACE
                if appointment.kind == AppointmentKind.OFFICE
                else "a home visit: move it by hand",
            )
    return action
