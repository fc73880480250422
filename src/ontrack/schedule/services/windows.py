"""Check-in windows: materialising a schedule's windows up to the horizon, removing the
ones still to come, an officer's ad-hoc window, and handing windows opening soon to
messaging for their reminders.

Windows are kept a rolling horizon ahead (``ONTRACK_SCHEDULE_HORIZON_DAYS``): setting a
schedule generates them up to it, and the periodic job carries each schedule that fell
behind (in its participant's own zone) one day further each day. That job is the hot path
(``bench/horizon.py``: the initial horizon for 100,000 people, then a night), hence plain
SQL in batches and each distinct window computed once. Each window's reminder is computed
by messaging from an anchor this module builds (``checkin_window:<pk>``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.urls import reverse

from ontrack.accounts.actors import Actor
from ontrack.batches import in_batches
from ontrack.messaging.services import ReminderAnchor, reminders_sync
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import participant_event_record
from ontrack.schedule import queries, recurrence
from ontrack.schedule.models import WINDOW_LONGEST, CheckinSchedule, CheckinWindow, Outcome
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
# What generation reads of a schedule (``windows_generate_due`` reads these rows directly:
# a model instance per schedule cost more than the rest of a nightly run). The cadence's
# fields come last, its lists as JSON text: they are decoded once per distinct cadence.
_DUE_FIELDS = (
    "pk",
    "participant_id",
    "participant__time_zone",
    "opens",
    "closes",
    "generated_until",
    "cadence",
    "starts_on",
    "ends_on",
    "interval",
    "weekdays_json",
    "week",
    "day",
    "dates_json",
)
BATCH = 5000  # schedules read, and window rows inserted, at a time
_FRESH = (Outcome.DUE.value, "", False)  # outcome, excused_reason, reminders_synced


@dataclass(frozen=True, slots=True)
class _Due:
    """One schedule as generation needs it."""

    pk: int
    participant_id: int
    zone: str
    opens: dt.time
    closes: dt.time
    generated_until: dt.date | None
    cadence: recurrence.Cadence


class _WindowRows:
    """Window rows in the database's own representation, computed once per distinct
    (cadence, dates) and per distinct (zone, date, hours): most people share their zone,
    their hours and their cadence, and turning a local time into a stored UTC value cost
    more than inserting it (bench/horizon.py)."""

    def __init__(self) -> None:
        self._zones: dict[str, ZoneInfo] = {}
        self._cadences: dict[tuple[Any, ...], recurrence.Cadence] = {}
        self._dates: dict[tuple[recurrence.Cadence, dt.date, dt.date], list[dt.date]] = {}
        self._windows: dict[tuple[str, dt.date, dt.time, dt.time], tuple[Any, ...]] = {}
        self._adapt_date = connection.ops.adapt_datefield_value
        self._adapt_instant = connection.ops.adapt_datetimefield_value

    def due(self, row: tuple[Any, ...]) -> _Due:
        """A ``_DUE_FIELDS`` row as a ``_Due``."""
        key = row[6:]
        if key not in self._cadences:
            kind, starts_on, ends_on, interval, weekdays, week, day, dates = key
            self._cadences[key] = recurrence.Cadence(
                kind,
                starts_on,
                ends_on,
                interval,
                tuple(json.loads(weekdays)),
                week,
                day,
                recurrence.parse_dates(json.loads(dates)),
            )
        pk, participant_id, zone, opens, closes, generated_until = row[:6]
        return _Due(pk, participant_id, zone, opens, closes, generated_until, self._cadences[key])

    def zone(self, name: str) -> ZoneInfo:
        if name not in self._zones:
            self._zones[name] = ZoneInfo(name)
        return self._zones[name]

    def _window(self, zone: str, day: dt.date, opens: dt.time, closes: dt.time) -> tuple[Any, ...]:
        """(closes_at, local_date, opens_at, closes_at as stored)."""
        key = (zone, day, opens, closes)
        if key not in self._windows:
            opens_at, closes_at = recurrence.window_instants(day, opens, closes, self.zone(zone))
            self._windows[key] = (
                closes_at,
                self._adapt_date(day),
                self._adapt_instant(opens_at),
                self._adapt_instant(closes_at),
            )
        return self._windows[key]

    def rows(
        self, due: _Due, start: dt.date, end: dt.date, now: dt.datetime
    ) -> list[tuple[Any, ...]]:
        """The schedule's windows between two local dates that have not closed yet, as rows
        of ``WINDOW_COLUMNS``."""
        key = (due.cadence, start, end)
        if key not in self._dates:
            self._dates[key] = recurrence.occurrence_dates(due.cadence, start, end)
        rows = []
        for day in self._dates[key]:
            closes_at, local_date, opens_at, closes_stored = self._window(
                due.zone, day, due.opens, due.closes
            )
            if closes_at > now:
                rows.append(
                    (due.participant_id, due.pk, local_date, opens_at, closes_stored, *_FRESH)
                )
        return rows


def _windows_insert(rows: list[tuple[Any, ...]]) -> int:
    """Insert window rows, skipping a (participant, date, schedule) already present, and
    return how many were new. Plain SQL: building a model instance per row for
    ``bulk_create`` cost three times the insert itself (bench/schedule.py)."""
    if not rows:
        return 0
    # The table and columns are this module's constants; the values are bound parameters.
    table = CheckinWindow._meta.db_table
    columns = ", ".join(WINDOW_COLUMNS)
    created = 0
    with connection.cursor() as cursor:
        for first in range(0, len(rows), BATCH):
            batch = rows[first : first + BATCH]
            if connection.vendor == "postgresql":
                _postgres_copy(cursor, batch)
                cursor.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_STAGE} "  # noqa: S608
                    f"ON CONFLICT DO NOTHING"
                )
                created += max(cursor.rowcount, 0)
                cursor.execute(f"TRUNCATE {_STAGE}")
            else:
                marks = ", ".join(["%s"] * len(WINDOW_COLUMNS))
                cursor.executemany(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
                    batch,
                )
                created += max(cursor.rowcount, 0)
    return created


# On PostgreSQL a batch is copied into a temporary table first, then inserted from it: an
# executemany there is a round trip a row (87,090 rows: 10 to 19 s), and the client-side
# binding Django uses wrote a batch passed as column arrays out as text (3.0 s of client
# time for those rows, 0.7 s by COPY; bench/horizon.py).
_STAGE = "checkin_window_stage"


def _postgres_copy(cursor: Any, batch: list[tuple[Any, ...]]) -> None:
    """COPY the rows into the transaction's staging table (made on first use, gone at
    commit)."""
    columns = ", ".join(WINDOW_COLUMNS)
    table = CheckinWindow._meta.db_table
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ON COMMIT DROP AS "  # noqa: S608
        f"SELECT {columns} FROM {table} WITH NO DATA"
    )
    with cursor.cursor.copy(f"COPY {_STAGE} ({columns}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)


def _marks_move(advanced: dict[dt.date, list[int]]) -> None:
    """Set the high-water marks, one statement per new mark (one per zone in use, in a
    nightly run). Plain SQL: the ORM's preparation of each id of ``pk__in`` cost more than
    the statement (bench/horizon.py)."""
    table = CheckinSchedule._meta.db_table
    with connection.cursor() as cursor:
        for end, ids in advanced.items():
            mark = connection.ops.adapt_datefield_value(end)
            params: list[Any]
            if connection.vendor == "postgresql":  # one array: no 5,000 placeholders to bind
                sql, params = "id = ANY(%s)", [mark, ids]
            else:
                sql, params = f"id IN ({', '.join(['%s'] * len(ids))})", [mark, *ids]
            cursor.execute(f"UPDATE {table} SET generated_until = %s WHERE {sql}", params)  # noqa: S608


def _generate(
    dues: Sequence[_Due], *, now: dt.datetime, horizon: int, maker: _WindowRows
) -> tuple[int, dict[int, dt.date]]:
    """Insert the windows of ``dues`` from where each stopped up to ``horizon`` days after
    its local today, and move their high-water marks, in one transaction: (windows created,
    the new mark of each schedule that moved)."""
    rows: list[tuple[Any, ...]] = []
    advanced: dict[dt.date, list[int]] = {}
    for due in dues:
        today = now.astimezone(maker.zone(due.zone)).date()
        end = today + dt.timedelta(days=horizon)
        start = today - dt.timedelta(days=1)  # a window opened yesterday may still be open
        if due.generated_until is not None:
            start = max(start, due.generated_until + dt.timedelta(days=1))
        if start > end:
            continue
        rows.extend(maker.rows(due, start, end, now))
        advanced.setdefault(end, []).append(due.pk)
    with transaction.atomic():
        created = _windows_insert(rows)
        _marks_move(advanced)
    return created, {pk: end for end, ids in advanced.items() for pk in ids}


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
    tz_of = dict(
        Participant.objects.filter(
            queries.checkins_required_q(""), pk__in=[s.participant_id for s in schedules]
        ).values_list("pk", "time_zone")
    )
    dues = [
        _Due(
            schedule.pk,
            schedule.participant_id,
            tz_of[schedule.participant_id],
            schedule.opens,
            schedule.closes,
            schedule.generated_until,
            schedule_cadence(schedule),
        )
        for schedule in schedules
        if schedule.active and schedule.participant_id in tz_of
    ]
    created, marks = _generate(dues, now=now, horizon=horizon, maker=_WindowRows())
    for schedule in schedules:
        schedule.generated_until = marks.get(schedule.pk, schedule.generated_until)
    return created


def _behind_q(now: dt.datetime, horizon: int) -> Q:
    """Schedules whose windows stop short of the horizon in their participant's own zone
    (one term per zone in use, so that a schedule already there is not even read)."""
    zones = (
        Participant.objects.filter(checkin_schedule__isnull=False)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )
    behind = Q(generated_until__isnull=True)
    for zone in zones:
        end = now.astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=horizon)
        behind |= Q(participant__time_zone=zone, generated_until__lt=end)
    return behind


def windows_generate_due(*, now: dt.datetime | None = None) -> int:
    """The periodic job: extend every active schedule of a case that must check in (enrolled
    or active, its plan asking for app or phone check-ins) to the horizon. Only schedules
    behind it are read, so once a day each gets one more day; a batch is one read, one
    insert and one update per zone, whatever the number of people."""
    now = now_or_clock(now)
    horizon = settings.ONTRACK_SCHEDULE_HORIZON_DAYS
    behind = CheckinSchedule.objects.filter(
        queries.checkins_required_q(), _behind_q(now, horizon), active=True
    )
    # The ids first, in one read (a batch read with this filter each time made the planner
    # join everyone again per batch), then each batch's rows by their range of ids (a list of
    # 5,000 ids to bind cost more than reading the few rows in between that are not due).
    ids = list(behind.order_by("pk").values_list("pk", flat=True))
    rows = CheckinSchedule.objects.annotate(
        weekdays_json=Cast("weekdays", TextField()), dates_json=Cast("dates", TextField())
    ).values_list(*_DUE_FIELDS)
    maker = _WindowRows()
    created = 0
    for first in range(0, len(ids), BATCH):
        wanted = ids[first : first + BATCH]
        between = rows.filter(pk__gte=wanted[0], pk__lte=wanted[-1])
        due = set(wanted)
        batch = [maker.due(row) for row in between if row[0] in due]
        created += _generate(batch, now=now, horizon=horizon, maker=maker)[0]
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
    if closes_at - opens_at > WINDOW_LONGEST:
        hours = int(WINDOW_LONGEST.total_seconds() // 3600)
        raise ValidationError({"closes_at": f"A check-in window stays open {hours} hours at most."})
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
