"""A participant's check-in schedule: setting it, stopping it and describing it.

Setting or stopping a schedule regenerates the windows that have not opened yet (through
``windows``) and records the change on the participant's timeline; the windows already
open or past, and anything the person already did, stay as they were.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction

from ontrack.accounts.actors import Actor, actor_user
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import participant_event_record
from ontrack.schedule import queries
from ontrack.schedule.models import Cadence, CheckinSchedule
from ontrack.schedule.services.preamble import now_or_clock, require_write
from ontrack.schedule.services.windows import (
    checkin_reminders_sync,
    future_windows_remove,
    windows_generate,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleData:
    cadence: str
    opens: dt.time
    closes: dt.time
    starts_on: dt.date
    ends_on: dt.date | None = None
    interval: int = 1
    weekdays: tuple[int, ...] = ()
    week: int = 1
    day: int = 1
    dates: tuple[dt.date, ...] = field(default_factory=tuple)


def _schedule_validate(data: ScheduleData) -> None:
    errors: dict[str, str] = {}
    if data.cadence not in Cadence.values:
        errors["cadence"] = f"Unknown cadence {data.cadence!r}."
    if data.opens == data.closes:
        errors["closes"] = "A window must be open for some time."
    if data.ends_on and data.ends_on < data.starts_on:
        errors["ends_on"] = "The schedule cannot end before it starts."
    if data.cadence == Cadence.WEEKLY:
        if not data.weekdays or any(d not in range(7) for d in data.weekdays):
            errors["weekdays"] = "Choose at least one weekday."
        if not 1 <= data.interval <= 12:
            errors["interval"] = "Every 1 to 12 weeks."
    if data.cadence == Cadence.MONTHLY_WEEKDAY:
        if len(data.weekdays) != 1 or data.weekdays[0] not in range(7):
            errors["weekdays"] = "Choose one weekday."
        if data.week not in (1, 2, 3, 4, -1):
            errors["week"] = "First, second, third, fourth or last."
    if data.cadence == Cadence.MONTHLY_DAY and not 1 <= data.day <= 31:
        errors["day"] = "A day of the month, 1 to 31."
    if data.cadence == Cadence.CUSTOM and not data.dates:
        errors["dates"] = "Give at least one date."
    if errors:
        raise ValidationError(errors)


def schedule_describe(schedule: CheckinSchedule) -> str:
    """The cadence in words, for the console and the timeline."""
    names = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    days = ", ".join(names[d] for d in sorted(schedule.weekdays))
    window = f"{schedule.opens:%H:%M}–{schedule.closes:%H:%M} local"
    if schedule.cadence == Cadence.WEEKLY:
        every = "every week" if schedule.interval == 1 else f"every {schedule.interval} weeks"
        return f"{days}, {every}, {window}"
    if schedule.cadence == Cadence.MONTHLY_WEEKDAY:
        nth = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}[schedule.week]
        return f"The {nth} {days} of each month, {window}"
    if schedule.cadence == Cadence.MONTHLY_DAY:
        return f"Day {schedule.day} of each month, {window}"
    return f"{len(schedule.dates)} set dates, {window}"


def schedule_set(
    participant: Participant,
    *,
    actor: Actor,
    data: ScheduleData,
    now: dt.datetime | None = None,
) -> CheckinSchedule:
    """Set (or change) the participant's check-in schedule and regenerate the windows that
    have not started yet; windows already open or past, or with a check-in, are kept."""
    require_write(actor, participant)
    _schedule_validate(data)
    now = now_or_clock(now)
    with transaction.atomic():
        schedule, _created = CheckinSchedule.objects.update_or_create(
            participant=participant,
            defaults={
                "plan": queries.current_plan(participant),
                "cadence": data.cadence,
                "interval": data.interval,
                "weekdays": sorted(set(data.weekdays)),
                "week": data.week,
                "day": data.day,
                "dates": [d.isoformat() for d in sorted(set(data.dates))],
                "opens": data.opens,
                "closes": data.closes,
                "starts_on": data.starts_on,
                "ends_on": data.ends_on,
                "active": True,
                "generated_until": None,
                "changed_by": actor_user(actor),
                "updated_at": now,
            },
        )
        removed = future_windows_remove(participant, now=now)
        created = windows_generate(schedule, now=now)
        checkin_reminders_sync(now=now, participant=participant)
        participant_event_record(
            participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Check-in schedule set: {schedule_describe(schedule)}",
            data={"windows_removed": removed, "windows_created": created},
            at=now,
        )
    logger.info(
        "schedule set participant=%s removed=%s created=%s", participant.pk, removed, created
    )
    return schedule


def schedule_stop(participant: Participant, *, actor: Actor, now: dt.datetime | None = None) -> int:
    """Stop check-ins: the schedule is kept (inactive) and windows not yet open go."""
    require_write(actor, participant)
    now = now_or_clock(now)
    with transaction.atomic():
        CheckinSchedule.objects.filter(participant=participant).update(
            active=False, changed_by=actor_user(actor), updated_at=now
        )
        removed = future_windows_remove(participant, now=now)
        participant_event_record(
            participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary="Check-in schedule stopped",
            data={"windows_removed": removed},
            at=now,
        )
    return removed
