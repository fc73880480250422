"""Check-in windows: materialising a schedule's windows up to the horizon, removing the
ones still to come, an officer's ad-hoc window, and handing windows opening soon to
messaging for their reminders.

Generation is the hot path of the daily job (``bench/schedule.py``), hence the plain
``executemany`` insert; each window's reminder is computed by messaging from an anchor
this module builds (``checkin_window:<pk>``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse

from ontrack.accounts.actors import Actor
from ontrack.batches import in_batches
from ontrack.messaging.services import ReminderAnchor, reminders_sync
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import participant_event_record
from ontrack.schedule import queries, recurrence
from ontrack.schedule.models import CheckinSchedule, CheckinWindow, Outcome
from ontrack.schedule.services.preamble import now_or_clock, require_write

logger = logging.getLogger(__name__)


def schedule_cadence(schedule: CheckinSchedule) -> recurrence.Cadence:
    """The stored schedule as the pure ``recurrence.Cadence`` its windows are computed
    from (here rather than in ``schedules`` because generation is what needs it)."""
    return recurrence.Cadence(
        kind=schedule.cadence,
        starts_on=schedule.starts_on,
        ends_on=schedule.ends_on,
        interval=schedule.interval,
        weekdays=tuple(schedule.weekdays),
        week=schedule.week,
        day=schedule.day,
        dates=recurrence.parse_dates(schedule.dates),
    )


def future_windows_remove(
    participant: Participant, *, now: dt.datetime, include_open: bool = False
) -> int:
    """Delete windows that have not opened and have no check-in, cancelling their
    reminders; the past (and anything the person already did) stays as it was.
    ``include_open`` also takes the window open right now (still nothing in it): a case
    suspended or closed mid-window is not then held to it."""
    upcoming = Q(closes_at__gt=now) if include_open else Q(opens_at__gt=now)
    doomed = list(
        CheckinWindow.objects.filter(upcoming, participant=participant, outcome=Outcome.DUE)
        .exclude(checkins__isnull=False)
        .values_list("pk", "reminders_synced", "closes_at")
    )
    for pk, synced, closes_at in doomed:
        if synced:
            reminders_sync(_window_anchor_from(pk, participant.pk, closes_at, cancelled=True))
    CheckinWindow.objects.filter(pk__in=[pk for pk, _s, _c in doomed]).delete()
    return len(doomed)


WINDOW_COLUMNS = (
    "participant_id",
    "schedule_id",
    "local_date",
    "opens_at",
    "closes_at",
    "outcome",
    "excused_reason",
    "reminders_synced",
)


def _window_rows(
    schedule: CheckinSchedule, zone: ZoneInfo, start: dt.date, end: dt.date, now: dt.datetime
) -> list[tuple[Any, ...]]:
    """The schedule's windows between two local dates that have not closed yet, as rows
    of ``WINDOW_COLUMNS`` in the database's own representation."""
    adapt_date = connection.ops.adapt_datefield_value
    adapt_instant = connection.ops.adapt_datetimefield_value
    return [
        (
            schedule.participant_id,
            schedule.pk,
            adapt_date(day),
            adapt_instant(opens_at),
            adapt_instant(closes_at),
            Outcome.DUE.value,
            "",
            False,
        )
        for day, opens_at, closes_at in recurrence.windows(
            schedule_cadence(schedule), schedule.opens, schedule.closes, zone, start, end
        )
        if closes_at > now
    ]


def _windows_insert(rows: list[tuple[Any, ...]]) -> int:
    """Insert window rows, skipping a (participant, date, schedule) already present, and
    return how many were new. A plain executemany: building a model instance per row for
    ``bulk_create`` cost three times the insert itself (bench/schedule.py)."""
    if not rows:
        return 0
    table = CheckinWindow._meta.db_table
    # The table and columns are this module's constants; the values are bound parameters.
    columns = ", ".join(WINDOW_COLUMNS)
    marks = ", ".join(["%s"] * len(WINDOW_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING"  # noqa: S608
    created = 0
    with connection.cursor() as cursor:
        for first in range(0, len(rows), 5000):
            cursor.executemany(sql, rows[first : first + 5000])
            created += max(cursor.rowcount, 0)
    return created


def windows_generate(
    schedule: CheckinSchedule, *, now: dt.datetime | None = None, horizon_days: int | None = None
) -> int:
    """Materialise the schedule's windows from where it stopped up to the horizon (local
    dates in the participant's zone). A date that already has a window is skipped."""
    return windows_generate_many([schedule], now=now, horizon_days=horizon_days)


def windows_generate_many(
    schedules: Sequence[CheckinSchedule],
    *,
    now: dt.datetime | None = None,
    horizon_days: int | None = None,
) -> int:
    """``windows_generate`` for many schedules at once: one bulk insert (existing dates are
    skipped by the one-window-per-day constraint) and one update of the high-water marks.
    Schedules of cases that are not required to check in (suspended, closed, or a plan with
    check-ins off) are left as they are: no window, and their mark does not move."""
    now = now_or_clock(now)
    horizon = horizon_days if horizon_days is not None else settings.ONTRACK_SCHEDULE_HORIZON_DAYS
    zones: dict[str, ZoneInfo] = {}
    rows: list[tuple[Any, ...]] = []
    advanced: dict[dt.date, list[int]] = {}
    tz_of = dict(
        Participant.objects.filter(
            queries.checkins_required_q(""), pk__in=[s.participant_id for s in schedules]
        ).values_list("pk", "time_zone")
    )
    for schedule in schedules:
        tz_name = tz_of.get(schedule.participant_id)
        if tz_name is None:
            continue
        zone = zones.setdefault(tz_name, ZoneInfo(tz_name))
        today = now.astimezone(zone).date()
        end = today + dt.timedelta(days=horizon)
        start = today - dt.timedelta(days=1)  # a window opened yesterday may still be open
        if schedule.generated_until is not None:
            start = max(start, schedule.generated_until + dt.timedelta(days=1))
        if start > end or not schedule.active:
            continue
        rows.extend(_window_rows(schedule, zone, start, end, now))
        schedule.generated_until = end
        advanced.setdefault(end, []).append(schedule.pk)
    with transaction.atomic():
        created = _windows_insert(rows)
        for end, ids in advanced.items():
            CheckinSchedule.objects.filter(pk__in=ids).update(generated_until=end)
    return created


def windows_generate_due(*, now: dt.datetime | None = None, chunk: int = 1000) -> int:
    """The daily job: extend every active schedule of a case that must check in (enrolled or
    active, its plan asking for app or phone check-ins) to the horizon."""
    now = now_or_clock(now)
    horizon_end = now.date() + dt.timedelta(days=settings.ONTRACK_SCHEDULE_HORIZON_DAYS - 1)
    due = CheckinSchedule.objects.filter(queries.checkins_required_q(), active=True).filter(
        Q(generated_until__isnull=True) | Q(generated_until__lt=horizon_end)
    )
    created = 0
    batch: list[CheckinSchedule] = []
    for schedule in in_batches(due, size=chunk):
        batch.append(schedule)
        if len(batch) >= chunk:
            created += windows_generate_many(batch, now=now)
            batch = []
    if batch:
        created += windows_generate_many(batch, now=now)
    logger.info("check-in windows generated count=%s", created)
    return created


def window_adhoc(
    participant: Participant,
    *,
    actor: Actor,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    now: dt.datetime | None = None,
) -> CheckinWindow:
    """An officer asks for a check-in outside the schedule (e.g. "within the next two
    hours"); the participant is reminded like for any window."""
    require_write(actor, participant)
    now = now_or_clock(now)
    if closes_at <= opens_at or closes_at <= now:
        raise ValidationError({"closes_at": "The window must close after it opens, in the future."})
    if not queries.checkins_required(participant):
        raise ValidationError(
            "This case is not checking in (suspended, closed, or its plan has check-ins off)."
        )
    with transaction.atomic():
        window = CheckinWindow.objects.create(
            participant=participant,
            local_date=opens_at.astimezone(ZoneInfo(participant.time_zone)).date(),
            opens_at=opens_at,
            closes_at=closes_at,
        )
        checkin_reminders_sync(now=now, participant=participant)
        office_zone = ZoneInfo(participant.office.time_zone)  # as staff read the history
        local_open = opens_at.astimezone(office_zone)
        local_close = closes_at.astimezone(office_zone)
        participant_event_record(
            participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Check-in requested {local_open:%Y-%m-%d %H:%M}–{local_close:%H:%M} "
            f"{local_close.tzname()}",
            at=now,
        )
    return window


def _checkin_link() -> str:
    return f"{settings.ONTRACK_PUBLIC_URL}{reverse('portal:checkin')}"


def _window_anchor_from(
    pk: int, participant_id: int, closes_at: dt.datetime, *, cancelled: bool = False
) -> ReminderAnchor:
    return ReminderAnchor(
        key=f"checkin_window:{pk}",
        kind="checkin_window",
        participant_id=participant_id,
        at=closes_at,
        context={"link": _checkin_link()},
        cancelled=cancelled,
    )


def checkin_reminders_sync(
    *, now: dt.datetime | None = None, participant: Participant | None = None
) -> int:
    """Have messaging compute the reminders of windows opening soon (within
    ``ONTRACK_SCHEDULE_REMINDER_DAYS``) that it has not seen yet. Periodic, and run for one
    participant when their schedule changes."""
    now = now_or_clock(now)
    soon = CheckinWindow.objects.filter(
        reminders_synced=False,
        outcome=Outcome.DUE,
        closes_at__gt=now,
        opens_at__lte=now + dt.timedelta(days=settings.ONTRACK_SCHEDULE_REMINDER_DAYS),
    )
    if participant is not None:
        soon = soon.filter(participant=participant)
    synced = 0
    for window in in_batches(soon):
        with transaction.atomic():
            reminders_sync(_window_anchor_from(window.pk, window.participant_id, window.closes_at))
            CheckinWindow.objects.filter(pk=window.pk).update(reminders_synced=True)
        synced += 1
    return synced
