"""An office's appointment calendar: slot length and capacity, and closed days (whose
appointments move to the nearest free slot). Only the office's supervisor or an
administrator runs it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet

from ontrack.accounts.models import Office, Role, User
from ontrack.schedule import queries, recurrence
from ontrack.schedule.models import Appointment, AppointmentKind, AppointmentStatus, OfficeClosure
from ontrack.schedule.services.bulk_appointments import BulkMove, appointments_move_nearest
from ontrack.schedule.services.preamble import now_or_clock


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
) -> BulkMove:
    """Record that the office is closed on a local date (holiday, closure) and move
    everyone booked there that day, each to the nearest free slot. ``expected``, the
    appointments a preview showed, must still be exactly those booked: otherwise nothing
    is done, so that no one is moved who was not shown."""
    _require_office_manager(actor, office)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the office is closed."})
    now = now_or_clock(now)
    with transaction.atomic():
        OfficeClosure.objects.get_or_create(
            office=office, date=day, defaults={"reason": reason.strip()[:200], "created_by": actor}
        )
        ids = list(office_day_bookings(office, day).values_list("pk", flat=True))
        if expected is not None and set(ids) != set(expected):
            raise ValidationError(
                "The day's bookings changed since the preview; nothing was closed. "
                "Preview the closure again."
            )
    return appointments_move_nearest(
        actor=actor,
        appointment_ids=ids,
        avoid_day=day,
        reason=f"Office closed: {reason.strip()}",
        now=now,
    )


def _require_office_manager(actor: User, office: Office) -> None:
    """The office's supervisor, or an administrator, runs its calendar."""
    if not actor.manages_caseloads or (
        actor.role != Role.ADMINISTRATOR and actor.office_id != office.pk
    ):
        raise PermissionDenied("Only the office's supervisor or an administrator may do that.")


def office_calendar_set(
    *, actor: User, office: Office, slot_minutes: int, slot_capacity: int
) -> None:
    _require_office_manager(actor, office)
    if not 5 <= slot_minutes <= 240 or not 1 <= slot_capacity <= 500:
        raise ValidationError("Slots of 5–240 minutes, 1–500 people each.")
    calendar = queries.calendar_for(office)
    calendar.slot_minutes = slot_minutes
    calendar.slot_capacity = slot_capacity
    calendar.save()
