"""An office's appointment calendar: slot length and capacity, and closed days (whose
appointments move to the nearest free slot). Only the office's supervisor or an
administrator runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from ontrack.accounts.models import Office, User
from ontrack.schedule import queries, recurrence
from ontrack.schedule.models import (
    Appointment,
    AppointmentBulkAction,
    AppointmentBulkKind,
    AppointmentKind,
    AppointmentStatus,
    OfficeClosure,
)
from ontrack.schedule.services.bulk_appointments import appointments_move_many
from ontrack.schedule.services.bulk_records import bulk_record, require_reason
from ontrack.schedule.services.preamble import now_or_clock, require_office_manager


def office_day_bookings(office: Office, day: dt.date) -> QuerySet[Appointment]:
    """The office appointments booked at ``office`` on its local ``day``: whom closing
    that day moves."""
    zone = ZoneInfo(office.time_zone)
    return Appointment.objects.filter(
        office=office,
        kind=AppointmentKind.OFFICE,
        status=AppointmentStatus.BOOKED,
        starts_at__gte=recurrence.local_instant(day, dt.time(0, 0), zone),
        starts_at__lt=recurrence.local_instant(day + dt.timedelta(days=1), dt.time(0, 0), zone),
    )


def office_close_day(
    *,
    actor: User,
    office: Office,
    day: dt.date,
    reason: str,
    expected: Collection[int] | None = None,
    now: dt.datetime | None = None,
) -> AppointmentBulkAction:
    """Record that the office is closed on a local date (holiday, closure) and move
    everyone booked there that day, each to the nearest free slot, as one recorded run
    that can be undone for a short while (``bulk_records``: the day reopens if this run
    closed it). ``expected``, the appointments a preview showed, must still be exactly
    those booked: otherwise nothing is done, so that no one is moved who was not shown."""
    require_office_manager(actor, office)
    reason = require_reason(reason, "Say why the office is closed.")
    now = now_or_clock(now)
    with transaction.atomic():
        _closure, created = OfficeClosure.objects.get_or_create(
            office=office, date=day, defaults={"reason": reason[:200], "created_by": actor}
        )
        ids = list(office_day_bookings(office, day).values_list("pk", flat=True))
        if expected is not None and set(ids) != set(expected):
            raise ValidationError(
                "The day's bookings changed since the preview; nothing was closed. "
                "Preview the closure again."
            )
        action = bulk_record(
            actor=actor,
            kind=AppointmentBulkKind.CLOSE_DAY,
            reason=reason,
            now=now,
            office=office,
            day=day,
            closure_created=created,
        )
        return appointments_move_many(
            actor=actor,
            appointment_ids=ids,
            avoid_day=day,
            reason=reason,
            into=action,
            now=now,
        )


def office_calendar_set(
    *, actor: User, office: Office, slot_minutes: int, slot_capacity: int
) -> None:
    require_office_manager(actor, office)
    if not 5 <= slot_minutes <= 240 or not 1 <= slot_capacity <= 500:
        raise ValidationError("Slots of 5–240 minutes, 1–500 people each.")
    calendar = queries.calendar_for(office)
    calendar.slot_minutes = slot_minutes
    calendar.slot_capacity = slot_capacity
    calendar.save()
