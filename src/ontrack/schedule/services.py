"""Every change to schedules, check-ins and appointments.

Functions where a staff member acts take ``actor`` and check that they may change the
participant's case before writing; functions the participant reaches through the portal
take the participant (the portal has authenticated them). Each takes an optional ``now``
so that tests and the watchdog can drive time. Notices and reminders go through
``messaging.services`` in the same transaction as the change that causes them; alerts
through ``alerts.services``.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.services import alert_clear, alert_raise
from ontrack.batches import in_batches
from ontrack.messaging.services import ReminderAnchor, message_queue, reminders_sync
from ontrack.participants.models import (
    EventKind,
    Hearing,
    HearingOutcome,
    Participant,
)
from ontrack.participants.queries import can_write_participant
from ontrack.participants.services import CaseChange, participant_event_record
from ontrack.photos import CONTENT_TYPE as PHOTO_CONTENT_TYPE
from ontrack.photos import PhotoRefused, photo_reencode
from ontrack.schedule import queries, recurrence
from ontrack.schedule.face_match import face_matcher
from ontrack.schedule.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    AppointmentType,
    Cadence,
    Checkin,
    CheckinSchedule,
    CheckinWindow,
    FailureReason,
    HearingMiss,
    Modality,
    OfficeClosure,
    OfficeSlot,
    Outcome,
    RequestStatus,
    RescheduleRequest,
    Review,
    Task,
    TaskKind,
    TaskStatus,
)

logger = logging.getLogger(__name__)

ACTIVE_STATUSES = queries.ACTIVE_STATUSES
# Which outcome of a window wins when several attempts or decisions touch it: a completed
# check-in beats everything, and a technical failure beats "missed" (the person tried).
OUTCOME_RANK = {
    Outcome.DUE: 0,
    Outcome.MISSED: 1,
    Outcome.TECHNICAL_FAILURE: 2,
    Outcome.EXCUSED: 3,
    Outcome.LATE: 4,
    Outcome.ON_TIME: 5,
}
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
HOME_VISIT_LENGTH = dt.timedelta(hours=1)


def _now(now: dt.datetime | None) -> dt.datetime:
    return now if now is not None else timezone.now()


def _require_write(actor: User | None, participant: Participant) -> None:
    if actor is not None and not can_write_participant(actor, participant):
        raise PermissionDenied("You may not change this participant's schedule.")


# --- schedules and windows ---------------------------------------------------------------


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


def schedule_cadence(schedule: CheckinSchedule) -> recurrence.Cadence:
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
    actor: User | None,
    data: ScheduleData,
    now: dt.datetime | None = None,
) -> CheckinSchedule:
    """Set (or change) the participant's check-in schedule and regenerate the windows that
    have not started yet; windows already open or past, or with a check-in, are kept."""
    _require_write(actor, participant)
    _schedule_validate(data)
    now = _now(now)
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
                "changed_by": actor,
                "updated_at": now,
            },
        )
        removed = _future_windows_remove(participant, now=now)
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


def schedule_stop(
    participant: Participant, *, actor: User | None, now: dt.datetime | None = None
) -> int:
    """Stop check-ins: the schedule is kept (inactive) and windows not yet open go."""
    _require_write(actor, participant)
    now = _now(now)
    with transaction.atomic():
        CheckinSchedule.objects.filter(participant=participant).update(
            active=False, changed_by=actor, updated_at=now
        )
        removed = _future_windows_remove(participant, now=now)
        participant_event_record(
            participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary="Check-in schedule stopped",
            data={"windows_removed": removed},
            at=now,
        )
    return removed


def _future_windows_remove(
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


CASE_CHANGE_SUMMARY = {
    CaseChange.PLAN_CHANGED: "the plan changed",
    CaseChange.SUSPENDED: "the case was suspended",
    CaseChange.REINSTATED: "the case was reinstated",
    CaseChange.ACTIVATED: "the case was activated",
    CaseChange.CLOSED: "the case was closed",
}


def case_changed(
    *, participant_id: int, change: CaseChange, now: dt.datetime | None = None
) -> None:
    """Follow a change of the case (participants calls this after it commits, through
    ``register_case_change_listener``). A case no longer required to check in (suspended,
    closed, or a plan with app and phone check-ins off) loses the windows still to come,
    including one open now with nothing in it, so that no false "missed check-in" is
    raised; a reinstated case or a changed plan that asks for check-ins gets its windows
    generated again from now. Closing the case also cancels its future appointments."""
    now = _now(now)
    participant = Participant.objects.filter(pk=participant_id).first()
    if participant is None:
        return
    with transaction.atomic():
        removed = created = 0
        schedules = CheckinSchedule.objects.filter(participant=participant)
        if not queries.checkins_required(participant):
            removed = _future_windows_remove(participant, now=now, include_open=True)
            # Generation starts again from "now" when the case is reinstated.
            schedules.update(generated_until=None)
        else:
            schedules.update(plan=queries.current_plan(participant), generated_until=None)
            schedule = schedules.filter(active=True).first()
            if schedule is not None:
                created = windows_generate(schedule, now=now)
                checkin_reminders_sync(now=now, participant=participant)
        if removed or created:
            participant_event_record(
                participant,
                actor=None,
                kind=EventKind.PLAN_CHANGED,
                summary=f"Check-in windows updated because {CASE_CHANGE_SUMMARY[change]}",
                data={"windows_removed": removed, "windows_created": created},
                at=now,
            )
    if change == CaseChange.CLOSED:
        _appointments_cancel_for_closure(participant, now=now)
    elif change == CaseChange.REINSTATED:
        _appointments_settle_after_suspension(participant, now=now)


def _appointments_settle_after_suspension(participant: Participant, *, now: dt.datetime) -> int:
    """Appointments that came and went while the case was suspended were not expected (the
    missed-appointment watchdog skipped them): on reinstatement they are recorded as not
    held, so the watchdog does not then call them missed. No notice: they are past."""
    settled = Appointment.objects.filter(
        participant=participant, status=AppointmentStatus.BOOKED, starts_at__lt=now
    ).update(
        status=AppointmentStatus.CANCELLED,
        status_at=now,
        status_reason="Not held: the case was suspended.",
    )
    if settled:
        logger.info(
            "appointments not held during suspension participant=%s count=%s",
            participant.pk,
            settled,
        )
    return settled


def _appointments_cancel_for_closure(participant: Participant, *, now: dt.datetime) -> int:
    """A closed case keeps no future appointment: each is cancelled through
    ``appointment_cancel`` (its place freed, its reminders withdrawn, the person told)."""
    ids = list(
        Appointment.objects.filter(
            participant=participant, status=AppointmentStatus.BOOKED, starts_at__gt=now
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        appointment_cancel(actor=None, appointment_id=pk, reason="The case was closed.", now=now)
    return len(ids)


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
    now = _now(now)
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
    now = _now(now)
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
    actor: User | None,
    opens_at: dt.datetime,
    closes_at: dt.datetime,
    now: dt.datetime | None = None,
) -> CheckinWindow:
    """An officer asks for a check-in outside the schedule (e.g. "within the next two
    hours"); the participant is reminded like for any window."""
    _require_write(actor, participant)
    now = _now(now)
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
        participant_event_record(
            participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Check-in requested {opens_at:%Y-%m-%d %H:%M}–{closes_at:%H:%M} UTC",
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
    now = _now(now)
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


# --- check-ins ---------------------------------------------------------------------------


def _reference() -> str:
    return "CK-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _window_for_attempt(
    participant: Participant, attempted_at: dt.datetime, received_at: dt.datetime
) -> tuple[CheckinWindow | None, dt.datetime]:
    """The window an attempt belongs to and the attempt time that counts.

    The phone's clock decides (an attempt made in time and uploaded later is on time), but
    only within what is plausible: never after the server received it, never more than
    ``ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS`` before (a phone's clock can be set back:
    beyond that the arrival counts), and never before the window it is counted for opened.
    An attempt belongs to the last window that had opened by then (a later attempt is late
    for it); one that claims a time before any window counts for the window open when it
    arrived, at that window's opening."""
    attempted = min(attempted_at, received_at)
    believable = dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS)
    if received_at - attempted > believable:
        attempted = received_at
    window = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=attempted)
        .order_by("-opens_at")
        .first()
    )
    if window is not None:
        return window, attempted
    window = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=received_at, closes_at__gt=received_at)
        .first()
    )
    return window, (window.opens_at if window is not None else attempted)


def _window_settle(window: CheckinWindow, outcome: str, at: dt.datetime) -> None:
    """Record an outcome on the window if it ranks above the present one; a window that was
    already marked missed and now has an attempt in time clears its missed-check-in alert."""
    if OUTCOME_RANK[Outcome(outcome)] <= OUTCOME_RANK[Outcome(window.outcome)]:
        return
    was_missed = window.outcome == Outcome.MISSED
    window.outcome = outcome
    window.outcome_at = at
    window.save(update_fields=["outcome", "outcome_at"])
    if was_missed:
        alert_clear(
            participant_id=window.participant_id,
            kind="missed_checkin",
            source=f"checkin_window:{window.pk}",
            cleared_at=at,
        )


def _windows_settle(
    participant: Participant,
    primary: CheckinWindow | None,
    outcome: str,
    *,
    attempted: dt.datetime,
    at: dt.datetime,
) -> int:
    """Settle the window an attempt is counted for and every other window of the person's
    that was open at the attempt's time: a daily 08:00–20:00 window and an officer's ad-hoc
    09:07–13:07 window are both satisfied by one check-in at 10:00, and neither may later
    be marked missed. A check-in late for ``primary`` is on time for a window still open
    then; a technical failure is recorded on each (the person tried). Returns how many
    windows besides ``primary`` changed."""
    if primary is not None:
        _window_settle(primary, outcome, at)
    also = Outcome.ON_TIME if outcome in (Outcome.ON_TIME, Outcome.LATE) else Outcome(outcome)
    others = (
        CheckinWindow.objects.select_for_update()
        .filter(participant=participant, opens_at__lte=attempted, closes_at__gt=attempted)
        .exclude(outcome__in=queries.SETTLED_OUTCOMES)
        .order_by("opens_at")
    )
    if primary is not None:
        others = others.exclude(pk=primary.pk)
    changed = 0
    for window in others:
        before = window.outcome
        _window_settle(window, also, at)
        changed += window.outcome != before
    return changed


def _late_upload_flag(checkin: Checkin, *, claimed: dt.datetime, now: dt.datetime) -> None:
    """An attempt the phone dates long before it arrived (offline for days, or a clock set
    back) goes to the officer to look at, whether or not its time was believed."""
    gap = checkin.received_at - claimed
    if gap <= dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_REVIEW_HOURS):
        return
    believed = gap <= dt.timedelta(hours=settings.ONTRACK_SCHEDULE_ATTEMPT_MAX_DELAY_HOURS)
    hours = int(gap.total_seconds() // 3600)
    task_open(
        checkin.participant,
        kind=TaskKind.LATE_UPLOAD,
        source=f"late_upload:{checkin.pk}",
        summary=f"Check-in {checkin.reference} arrived {hours} h after the time the phone "
        f"gives ({claimed:%Y-%m-%d %H:%M} UTC); "
        + ("the phone's time was counted" if believed else "counted at its arrival instead"),
        now=now,
    )


def _existing(participant: Participant, client_ref: str) -> Checkin | None:
    return Checkin.objects.filter(participant=participant, client_ref=client_ref).first()


def _checkin_save(checkin: Checkin) -> Checkin:
    """Insert, or return the row a concurrent retry with the same reference already saved."""
    for _attempt in range(5):
        checkin.reference = _reference()
        try:
            with transaction.atomic():
                checkin.save()
            return checkin
        except IntegrityError:
            existing = _existing(checkin.participant, checkin.client_ref)
            if existing is not None:
                return existing
    raise IntegrityError("could not find a free check-in reference")


def checkin_submit(
    *,
    participant: Participant,
    client_ref: str,
    attempted_at: dt.datetime,
    photo: bytes,
    photo_content_type: str,
    lat: float | None,
    lon: float | None,
    accuracy_m: float | None,
    now: dt.datetime | None = None,
) -> Checkin:
    """Record a check-in from the phone (photo and one location fix). Idempotent on
    ``(participant, client_ref)``: a retry returns the first receipt unchanged. The photo
    waits in the officer's review queue; an enabled face matcher only adds a score."""
    existing = _existing(participant, client_ref)
    if existing is not None:
        return existing
    now = _now(now)
    plan = queries.current_plan(participant)
    if plan is None or not plan.app_checkins:
        raise ValidationError(gettext_lazy("Your plan does not include check-ins from the phone."))
    if not photo or not photo_content_type.startswith("image/"):
        raise ValidationError(gettext_lazy("A photo is needed to check in."))
    if len(photo) > settings.ONTRACK_SCHEDULE_PHOTO_MAX_BYTES:
        raise ValidationError(gettext_lazy("The photo is too large."))
    try:
        photo = photo_reencode(photo)
    except PhotoRefused:
        raise ValidationError(
            gettext_lazy("The photo could not be read. Please take it again.")
        ) from None
    photo_content_type = PHOTO_CONTENT_TYPE
    if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
        raise ValidationError(gettext_lazy("The location is not valid."))
    with transaction.atomic():
        window, attempted = _window_for_attempt(participant, attempted_at, now)
        if window is None:
            raise ValidationError(gettext_lazy("There is no check-in open for you now."))
        outcome = Outcome.ON_TIME if attempted < window.closes_at else Outcome.LATE
        checkin = Checkin(
            participant=participant,
            window=window,
            client_ref=client_ref,
            modality=Modality.APP,
            outcome=outcome,
            attempted_at=attempted,
            received_at=now,
            phone_attempted_at=attempted_at,
            photo_content_type=photo_content_type[:60],
            lat=lat,
            lon=lon,
            accuracy_m=accuracy_m,
            review=Review.PENDING,
            face_match_score=_face_score(participant, photo),
        )
        checkin.photo.save(
            f"{participant.pk}-{secrets.token_hex(8)}.jpg", ContentFile(photo), save=False
        )
        saved = _checkin_save(checkin)
        if saved is not checkin:
            checkin.photo.delete(save=False)
            return saved
        _windows_settle(participant, window, outcome, attempted=attempted, at=now)
        _late_upload_flag(saved, claimed=attempted_at, now=now)
    logger.info(
        "check-in participant=%s window=%s outcome=%s reference=%s",
        participant.pk,
        window.pk,
        outcome,
        saved.reference,
    )
    return saved


def _face_score(participant: Participant, photo: bytes) -> float | None:
    matcher = face_matcher()
    if matcher is None or not participant.photo:
        return None
    with participant.photo.open("rb") as enrolment:
        return matcher.compare(enrolment.read(), photo).score


def checkin_technical_failure(
    *,
    participant: Participant,
    client_ref: str,
    attempted_at: dt.datetime,
    reason: str,
    detail: str = "",
    now: dt.datetime | None = None,
) -> Checkin:
    """The participant tried but the camera or location was unavailable or the upload
    failed. Recorded as such (never as missed) and an officer task is opened, not an
    alert. Idempotent on ``client_ref``."""
    existing = _existing(participant, client_ref)
    if existing is not None:
        return existing
    if reason not in FailureReason.values:
        raise ValidationError(f"Unknown failure reason {reason!r}.")
    now = _now(now)
    with transaction.atomic():
        window, attempted = _window_for_attempt(participant, attempted_at, now)
        candidate = Checkin(
            participant=participant,
            window=window,
            client_ref=client_ref,
            modality=Modality.APP,
            outcome=Outcome.TECHNICAL_FAILURE,
            attempted_at=attempted,
            received_at=now,
            phone_attempted_at=attempted_at,
            failure_reason=reason,
            failure_detail=detail[:500],
        )
        checkin = _checkin_save(candidate)
        if checkin is not candidate:
            return checkin
        _windows_settle(participant, window, Outcome.TECHNICAL_FAILURE, attempted=attempted, at=now)
        _late_upload_flag(checkin, claimed=attempted_at, now=now)
        task_open(
            participant,
            kind=TaskKind.TECHNICAL_FAILURE,
            source=f"checkin:{checkin.pk}",
            summary=f"Check-in could not be completed: {FailureReason(reason).label}"
            + (f" ({detail[:100]})" if detail else ""),
            now=now,
        )
    logger.info(
        "check-in technical failure participant=%s reason=%s reference=%s",
        participant.pk,
        reason,
        checkin.reference,
    )
    return checkin


def checkin_phone(
    *, participant: Participant, received_at: dt.datetime, now: dt.datetime | None = None
) -> Checkin | None:
    """A PIN texted from the registered number (the portal checked it) while a window is
    open checks the person in, without location, where the plan allows phone check-ins.
    None when the plan does not, or no window is open. A second text in the same window
    returns the same check-in."""
    plan = queries.current_plan(participant)
    if plan is None or not plan.phone_checkins:
        return None
    with transaction.atomic():
        window = (
            CheckinWindow.objects.select_for_update()
            .filter(participant=participant, opens_at__lte=received_at, closes_at__gt=received_at)
            .order_by("-opens_at")
            .first()
        )
        if window is None:
            return None
        candidate = Checkin(
            participant=participant,
            window=window,
            client_ref=f"phone:{window.pk}",
            modality=Modality.PHONE,
            outcome=Outcome.ON_TIME,
            attempted_at=received_at,
            received_at=_now(now),
        )
        checkin = _checkin_save(candidate)
        if checkin is candidate:
            _windows_settle(
                participant, window, Outcome.ON_TIME, attempted=received_at, at=received_at
            )
    return checkin


def window_excuse(
    *, actor: User, window_id: int, reason: str, now: dt.datetime | None = None
) -> CheckinWindow:
    """An officer excuses a window (e.g. in hospital, at court) with a written reason; a
    missed-check-in alert it had raised is cleared."""
    now = _now(now)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the check-in is excused."})
    with transaction.atomic():
        window = (
            CheckinWindow.objects.select_for_update()
            .select_related("participant")
            .get(pk=window_id)
        )
        _require_write(actor, window.participant)
        if window.outcome in (Outcome.ON_TIME, Outcome.LATE):
            raise ValidationError("This check-in was completed; there is nothing to excuse.")
        window.excused_reason = reason.strip()[:300]
        window.excused_by = actor
        window.save(update_fields=["excused_reason", "excused_by"])
        _window_settle(window, Outcome.EXCUSED, now)
        participant_event_record(
            window.participant,
            actor=actor,
            kind=EventKind.PLAN_CHANGED,
            summary=f"Check-in of {window.local_date} excused: {reason.strip()[:200]}",
            at=now,
        )
    return window


def checkin_review(
    *,
    actor: User,
    checkin_id: int,
    approve: bool,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Checkin:
    """An officer's identity decision on a check-in photo: approve, or reject with a
    reason. A rejection records what the officer saw; it changes no outcome by itself."""
    now = _now(now)
    with transaction.atomic():
        checkin = (
            Checkin.objects.select_for_update().select_related("participant").get(pk=checkin_id)
        )
        _require_write(actor, checkin.participant)
        if checkin.review != Review.PENDING:
            raise ValidationError("This photo has already been reviewed.")
        if not approve and not reason.strip():
            raise ValidationError({"reason": "Say why the photo does not match."})
        checkin.review = Review.APPROVED if approve else Review.REJECTED
        checkin.review_reason = reason.strip()[:300]
        checkin.reviewed_by = actor
        checkin.reviewed_at = now
        checkin.save(update_fields=["review", "review_reason", "reviewed_by", "reviewed_at"])
    return checkin


# --- tasks -------------------------------------------------------------------------------


def task_open(
    participant: Participant, *, kind: str, source: str, summary: str, now: dt.datetime
) -> Task:
    task, _created = Task.objects.get_or_create(
        source=source,
        defaults={
            "participant": participant,
            "kind": kind,
            "summary": summary[:300],
            "created_at": now,
        },
    )
    return task


def task_source_done(
    *, actor: User | None, source: str, note: str = "", now: dt.datetime | None = None
) -> int:
    """Close the open task ``source`` opened, when what it asked for was done elsewhere (a
    device handed in at the device page closes its retrieval task). Returns 0 or 1."""
    return Task.objects.filter(source=source, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=_now(now), done_by=actor, note=note[:300]
    )


def task_done(
    *, actor: User | None, task_id: int, note: str = "", now: dt.datetime | None = None
) -> Task:
    now = _now(now)
    task = Task.objects.select_related("participant").get(pk=task_id)
    _require_write(actor, task.participant)
    Task.objects.filter(pk=task.pk, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, done_at=now, done_by=actor, note=note[:300]
    )
    task.refresh_from_db()
    return task


# --- appointments ------------------------------------------------------------------------


def _purpose(appointment: Appointment, participant: Participant) -> str:
    with translation.override(participant.preferred_language):
        return str(AppointmentType(appointment.type).label)


def _place(appointment: Appointment, participant: Participant) -> str:
    if appointment.kind == AppointmentKind.HOME_VISIT:
        with translation.override(participant.preferred_language):
            return str(AppointmentKind.HOME_VISIT.label)
    office = appointment.office
    return ", ".join(p for p in (office.name, office.address.replace("\n", ", ")) if p)


def _appointment_anchor(appointment: Appointment) -> ReminderAnchor:
    participant = appointment.participant
    return ReminderAnchor(
        key=f"appointment:{appointment.pk}",
        kind="appointment",
        participant_id=participant.pk,
        at=appointment.starts_at,
        context={
            "place": _place(appointment, participant),
            "purpose": _purpose(appointment, participant),
        },
        cancelled=appointment.status != AppointmentStatus.BOOKED,
    )


def _notify(appointment: Appointment, template_key: str, cause: str) -> None:
    participant = appointment.participant
    message_queue(
        participant=participant,
        template_key=template_key,
        context={
            "when": appointment.starts_at,
            "place": _place(appointment, participant),
            "purpose": _purpose(appointment, participant),
        },
        purpose=f"appointment notice ({appointment.get_type_display()})",
        cause=cause,
    )
    reminders_sync(_appointment_anchor(appointment))


def _slot_take(office: Office, starts_at: dt.datetime) -> OfficeSlot:
    """Take one place in the office slot starting at ``starts_at``: the capacity check and
    the increment are one conditional UPDATE, so it holds under concurrent bookings."""
    bounds = queries.slot_bounds(office, starts_at)
    if bounds is None:
        raise ValidationError({"starts_at": "The office offers no appointment at that time."})
    calendar = queries.calendar_for(office)
    slot, _created = OfficeSlot.objects.get_or_create(
        office=office,
        starts_at=bounds[0],
        defaults={"ends_at": bounds[1], "capacity": calendar.slot_capacity},
    )
    taken = OfficeSlot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(
        booked=F("booked") + 1
    )
    if not taken:
        raise ValidationError({"starts_at": "That time is fully booked."})
    return slot


def _slot_release(slot_id: int | None) -> None:
    if slot_id is not None:
        OfficeSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def appointment_book(
    participant: Participant,
    *,
    actor: User | None,
    type: str,
    starts_at: dt.datetime,
    kind: str = AppointmentKind.OFFICE,
    ends_at: dt.datetime | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Book an office appointment into a slot of the participant's office (capacity is
    respected), or a home visit; the participant is told, with its stated purpose, and
    reminders are set."""
    _require_write(actor, participant)
    now = _now(now)
    if type not in AppointmentType.values:
        raise ValidationError({"type": f"Unknown appointment type {type!r}."})
    if kind not in AppointmentKind.values:
        raise ValidationError({"kind": f"Unknown appointment kind {kind!r}."})
    if starts_at <= now:
        raise ValidationError({"starts_at": "An appointment must be in the future."})
    with transaction.atomic():
        slot = None
        if kind == AppointmentKind.OFFICE:
            slot = _slot_take(participant.office, starts_at)
            ends_at = slot.ends_at
        ends_at = ends_at or starts_at + HOME_VISIT_LENGTH
        if ends_at <= starts_at:
            raise ValidationError({"ends_at": "An appointment must end after it starts."})
        appointment = Appointment.objects.create(
            participant=participant,
            office=participant.office,
            slot=slot,
            kind=kind,
            type=type,
            starts_at=starts_at,
            ends_at=ends_at,
            note=note[:300],
            booked_by=actor,
            created_at=now,
        )
        _notify(appointment, "appointment_booked", f"booked by {actor or 'the system'}")
    logger.info(
        "appointment booked id=%s participant=%s at=%s", appointment.pk, participant.pk, starts_at
    )
    return appointment


def _appointment_for(actor: User | None, appointment_id: int) -> Appointment:
    appointment = (
        Appointment.objects.select_for_update()
        .select_related("participant", "office")
        .get(pk=appointment_id)
    )
    _require_write(actor, appointment.participant)
    return appointment


def appointment_move(
    *,
    actor: User | None,
    appointment_id: int,
    starts_at: dt.datetime,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    """Move a booked appointment to another time (a free slot for an office appointment);
    the participant is told and the reminders follow."""
    now = _now(now)
    if starts_at <= now:
        raise ValidationError({"starts_at": "An appointment must be moved to the future."})
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ValidationError("Only a booked appointment can be moved.")
        old_slot = appointment.slot_id
        length = appointment.ends_at - appointment.starts_at
        if appointment.kind == AppointmentKind.OFFICE:
            slot = _slot_take(appointment.office, starts_at)
            appointment.slot = slot
            appointment.ends_at = slot.ends_at
            _slot_release(old_slot)
        else:
            appointment.ends_at = starts_at + length
        previous = appointment.starts_at
        appointment.starts_at = starts_at
        appointment.status_reason = reason[:300]
        appointment.status_at = now
        appointment.status_by = actor
        appointment.save()
        _notify(appointment, "appointment_moved", reason or "appointment moved")
    logger.info(
        "appointment moved id=%s from=%s to=%s",
        appointment.pk,
        previous.isoformat(),
        starts_at.isoformat(),
    )
    return appointment


def appointment_cancel(
    *,
    actor: User | None,
    appointment_id: int,
    reason: str,
    now: dt.datetime | None = None,
) -> Appointment:
    """Cancel a booked appointment with a reason; its place is freed, the participant is
    told and its reminders are withdrawn."""
    now = _now(now)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the appointment is cancelled."})
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status != AppointmentStatus.BOOKED:
            raise ValidationError("Only a booked appointment can be cancelled.")
        _slot_release(appointment.slot_id)
        appointment.status = AppointmentStatus.CANCELLED
        appointment.status_at = now
        appointment.status_by = actor
        appointment.status_reason = reason.strip()[:300]
        appointment.save()
        _notify(appointment, "appointment_cancelled", reason)
        RescheduleRequest.objects.filter(
            appointment=appointment, status=RequestStatus.PENDING
        ).update(
            status=RequestStatus.DECLINED,
            decided_by=actor,
            decided_at=now,
            decision_note="The appointment was cancelled.",
        )
    return appointment


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
    actor: User | None,
    office: Office,
    requests: Sequence[BookingRequest],
    notify: bool = True,
    now: dt.datetime | None = None,
) -> list[Appointment]:
    """Book many office appointments at once (e.g. a round of plan reviews): each person
    gets the first slot with a free place at or after their ``not_before``. All or none.

    Places are taken one slot at a time with a conditional UPDATE (``booked + n <=
    capacity``), so a single booking made meanwhile is never overbooked: the bulk booking
    fails instead and can be run again. ``notify=False`` is for appointments the people
    already know of (e.g. imported from the system being replaced): no notice, no
    reminders."""
    now = _now(now)
    if not requests:
        return []
    for request in requests:
        _require_write(actor, request.participant)
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
                    booked_by=actor,
                    created_at=now,
                )
                for request, (start, end) in placed
            ],
            batch_size=1000,
        )
        if notify:
            for appointment in appointments:
                _notify(appointment, "appointment_booked", f"booked by {actor or 'the system'}")
    logger.info("appointments booked in bulk office=%s count=%s", office.pk, len(appointments))
    return appointments


def appointments_cancel_many(
    *,
    actor: User | None,
    appointment_ids: Iterable[int],
    reason: str,
    now: dt.datetime | None = None,
) -> list[Appointment]:
    """Cancel several appointments at once, all or none."""
    with transaction.atomic():
        return [
            appointment_cancel(actor=actor, appointment_id=pk, reason=reason, now=now)
            for pk in appointment_ids
        ]


def appointment_attendance(
    *, actor: User, appointment_id: int, attended: bool, now: dt.datetime | None = None
) -> Appointment:
    """The officer records whether the person came. Marking it missed raises the
    missed-appointment alert (as the watchdog would at the end of the day)."""
    now = _now(now)
    with transaction.atomic():
        appointment = _appointment_for(actor, appointment_id)
        if appointment.status not in (AppointmentStatus.BOOKED, AppointmentStatus.MISSED):
            raise ValidationError("This appointment was cancelled.")
        if appointment.starts_at > now:
            raise ValidationError("Attendance is recorded once the appointment has started.")
        was = appointment.status
        appointment.status = AppointmentStatus.ATTENDED if attended else AppointmentStatus.MISSED
        appointment.status_at = now
        appointment.status_by = actor
        appointment.save(update_fields=["status", "status_at", "status_by"])
        source = f"appointment:{appointment.pk}"
        if attended and was == AppointmentStatus.MISSED:
            alert_clear(
                participant_id=appointment.participant_id,
                kind="missed_appointment",
                source=source,
                cleared_at=now,
            )
        elif not attended and was == AppointmentStatus.BOOKED:
            _missed_appointment_alert(appointment, now)
    return appointment


@dataclass(frozen=True)
class BulkMove:
    moved: list[Appointment]
    unplaced: list[Appointment]


def appointments_move_nearest(
    *,
    actor: User | None,
    appointment_ids: Sequence[int],
    avoid_day: dt.date | None = None,
    reason: str,
    now: dt.datetime | None = None,
) -> BulkMove:
    """Move each appointment to the free slot nearest its present time (never in the past,
    never on ``avoid_day``), one after another so each sees the places the previous ones
    took; each person is told of their own new time. Those with no free slot within 30 days
    are left as they are and listed for the officer."""
    now = _now(now)
    moved: list[Appointment] = []
    unplaced: list[Appointment] = []
    appointments = (
        Appointment.objects.select_related("office", "participant")
        .filter(pk__in=appointment_ids, status=AppointmentStatus.BOOKED)
        .order_by("starts_at", "pk")
    )
    for appointment in appointments:
        _require_write(actor, appointment.participant)
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


def office_close_day(
    *,
    actor: User,
    office: Office,
    day: dt.date,
    reason: str,
    now: dt.datetime | None = None,
) -> BulkMove:
    """Record that the office is closed on a local date (holiday, closure) and move
    everyone booked there that day, each to the nearest free slot."""
    _require_office_manager(actor, office)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the office is closed."})
    now = _now(now)
    zone = ZoneInfo(office.time_zone)
    start = recurrence.local_instant(day, dt.time(0, 0), zone)
    end = recurrence.local_instant(day + dt.timedelta(days=1), dt.time(0, 0), zone)
    with transaction.atomic():
        OfficeClosure.objects.get_or_create(
            office=office, date=day, defaults={"reason": reason.strip()[:200], "created_by": actor}
        )
        ids = list(
            Appointment.objects.filter(
                office=office,
                kind=AppointmentKind.OFFICE,
                status=AppointmentStatus.BOOKED,
                starts_at__gte=start,
                starts_at__lt=end,
            ).values_list("pk", flat=True)
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


def appointment_confirm(*, participant: Participant, at: dt.datetime) -> Appointment | None:
    """The participant confirms (a "CONFIRM" reply): their next booked appointment is
    marked confirmed. None when nothing is booked."""
    appointment = (
        Appointment.objects.filter(
            participant=participant, status=AppointmentStatus.BOOKED, starts_at__gt=at
        )
        .order_by("starts_at")
        .first()
    )
    if appointment is None:
        return None
    Appointment.objects.filter(pk=appointment.pk).update(confirmed_at=at)
    appointment.confirmed_at = at
    return appointment


def reschedule_request_create(
    *,
    participant: Participant,
    appointment_id: int,
    reason: str,
    preferred_starts_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> RescheduleRequest:
    """The participant asks for another time, naming one of the office's free slots
    (``preferred_starts_at``) or none. Only their own, booked, future appointment
    (another's answers as not found); a chosen slot must be one the office offers, free,
    in the future and not the present time. A second request while one is pending returns
    it. The officer gets a task."""
    now = _now(now)
    if not reason.strip():
        raise ValidationError(gettext_lazy("Say why you need another time."))
    appointment = (
        Appointment.objects.select_related("office")
        .filter(pk=appointment_id, participant=participant)
        .first()
    )
    if appointment is None:
        raise ObjectDoesNotExist("No such appointment.")
    if appointment.status != AppointmentStatus.BOOKED or appointment.starts_at <= now:
        raise ValidationError(gettext_lazy("This appointment can no longer be changed."))
    if preferred_starts_at is not None and (
        appointment.kind != AppointmentKind.OFFICE
        or preferred_starts_at <= now
        or preferred_starts_at == appointment.starts_at
        or not queries.slot_is_free(appointment.office, preferred_starts_at)
    ):
        raise ValidationError(gettext_lazy("That time is no longer free. Choose another."))
    with transaction.atomic():
        pending = RescheduleRequest.objects.filter(
            appointment=appointment, status=RequestStatus.PENDING
        ).first()
        if pending is not None:
            return pending
        request = RescheduleRequest.objects.create(
            participant=participant,
            appointment=appointment,
            reason=reason.strip(),
            preferred_starts_at=preferred_starts_at,
            original_starts_at=appointment.starts_at,
            created_at=now,
        )
        wish = ""
        if preferred_starts_at is not None:
            wish = f" to {preferred_starts_at:%Y-%m-%d %H:%M} UTC"
        task_open(
            participant,
            kind=TaskKind.RESCHEDULE_REQUEST,
            source=f"reschedule:{request.pk}",
            summary=f"Asks to move the appointment of {appointment.starts_at:%Y-%m-%d %H:%M} UTC"
            + wish,
            now=now,
        )
    return request


def reschedule_decide(
    *,
    actor: User,
    request_id: int,
    approve: bool,
    starts_at: dt.datetime | None = None,
    note: str = "",
    now: dt.datetime | None = None,
) -> RescheduleRequest:
    """Approve (the appointment moves to ``starts_at``; without one, to the slot the
    participant chose if it is still free, else to the nearest free slot after its present
    time) or decline with a note; the request's task is done either way."""
    now = _now(now)
    with transaction.atomic():
        request = (
            RescheduleRequest.objects.select_for_update()
            .select_related("participant", "appointment", "appointment__office")
            .get(pk=request_id)
        )
        _require_write(actor, request.participant)
        if request.status != RequestStatus.PENDING:
            raise ValidationError("This request has already been decided.")
        if approve:
            target = starts_at
            preferred = request.preferred_starts_at
            if (
                target is None
                and preferred is not None
                and preferred > now
                and queries.slot_is_free(request.appointment.office, preferred)
            ):
                target = preferred
            if target is None:
                slot = queries.nearest_free_slot(
                    request.appointment.office,
                    request.appointment.starts_at + dt.timedelta(days=1),
                    not_before=max(now, request.appointment.ends_at),
                )
                if slot is None:
                    raise ValidationError("No free slot in the next 30 days; choose a time.")
                target = slot.starts_at
            appointment_move(
                actor=actor,
                appointment_id=request.appointment_id,
                starts_at=target,
                reason="Moved at the participant's request",
                now=now,
            )
        elif not note.strip():
            raise ValidationError({"note": "Say why the request is declined."})
        request.status = RequestStatus.APPROVED if approve else RequestStatus.DECLINED
        request.decided_by = actor
        request.decided_at = now
        request.decision_note = note.strip()[:300]
        request.save()
        Task.objects.filter(source=f"reschedule:{request.pk}", status=TaskStatus.OPEN).update(
            status=TaskStatus.DONE, done_at=now, done_by=actor, note=request.status
        )
        if not approve:
            # An approval is told by the move's own notice; a refusal must be told too, or
            # the person may stay home believing the appointment will move.
            message_queue(
                participant=request.participant,
                template_key="reschedule_declined",
                context={"when": request.appointment.starts_at},
                purpose="reschedule request declined",
                essential=True,
                cause=f"reschedule:{request.pk}",
            )
    return request


# --- watchdog ----------------------------------------------------------------------------


def missed_checkins_mark(*, now: dt.datetime | None = None) -> int:
    """Windows that closed more than the grace period ago with nothing received become
    missed and raise one "missed check-in" alert each. The state change is a conditional
    update, so running twice (or in two workers) raises nothing twice. Windows of a case
    that is not required to check in now (suspended, closed, plan with check-ins off) are
    skipped: their absence is not a violation."""
    now = _now(now)
    cutoff = now - dt.timedelta(minutes=settings.ONTRACK_SCHEDULE_MISSED_GRACE_MINUTES)
    due = CheckinWindow.objects.filter(
        queries.checkins_required_q(), outcome=Outcome.DUE, closes_at__lte=cutoff
    ).values_list("pk", "participant_id", "closes_at", "local_date")
    marked = 0
    for pk, participant_id, closes_at, local_date in in_batches(
        due, size=1000, pk_of=lambda row: row[0]
    ):
        with transaction.atomic():
            if not CheckinWindow.objects.filter(pk=pk, outcome=Outcome.DUE).update(
                outcome=Outcome.MISSED, outcome_at=now
            ):
                continue
            alert_raise(
                participant_id=participant_id,
                kind="missed_checkin",
                source=f"checkin_window:{pk}",
                occurred_at=closes_at,
                details={"local_date": local_date.isoformat()},
                now=now,
            )
        marked += 1
    if marked:
        logger.info("missed check-ins marked count=%s", marked)
    return marked


def _end_of_local_day(at: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    day = at.astimezone(zone).date() + dt.timedelta(days=1)
    return recurrence.local_instant(day, dt.time(0, 0), zone)


def _missed_appointment_alert(appointment: Appointment, now: dt.datetime) -> None:
    alert_raise(
        participant_id=appointment.participant_id,
        kind="missed_appointment",
        source=f"appointment:{appointment.pk}",
        occurred_at=appointment.ends_at,
        details={"type": appointment.type, "kind": appointment.kind},
        now=now,
    )


def missed_appointments_mark(*, now: dt.datetime | None = None) -> int:
    """Appointments still "booked" once the office's local day is over (nobody marked
    attendance) become missed and raise "missed appointment". A suspended or closed case is
    skipped: nobody expects them to come in."""
    now = _now(now)
    candidates = Appointment.objects.select_related("office").filter(
        status=AppointmentStatus.BOOKED,
        starts_at__lt=now,
        participant__status__in=ACTIVE_STATUSES,
    )
    marked = 0
    for appointment in in_batches(candidates):
        if now < _end_of_local_day(appointment.starts_at, ZoneInfo(appointment.office.time_zone)):
            continue
        with transaction.atomic():
            if not Appointment.objects.filter(
                pk=appointment.pk, status=AppointmentStatus.BOOKED
            ).update(
                status=AppointmentStatus.MISSED,
                status_at=now,
                status_reason="No attendance recorded",
            ):
                continue
            _missed_appointment_alert(appointment, now)
        marked += 1
    if marked:
        logger.info("missed appointments marked count=%s", marked)
    return marked


def hearings_check(*, now: dt.datetime | None = None) -> int:
    """Hearings recorded as not attended raise "missed hearing" once; hearings whose day is
    over with no outcome recorded raise nothing (absence is not assumed) but give the
    officer a task to record what happened."""
    now = _now(now)
    raised = 0
    missed = Hearing.objects.filter(
        outcome=HearingOutcome.FAILED_TO_APPEAR, scheduled_at__lt=now
    ).exclude(pk__in=HearingMiss.objects.values("hearing_id"))
    for hearing in missed:
        with transaction.atomic():
            _row, created = HearingMiss.objects.get_or_create(
                hearing=hearing,
                defaults={"participant_id": hearing.participant_id, "raised_at": now},
            )
            if not created:
                continue
            alert_raise(
                participant_id=hearing.participant_id,
                kind="missed_hearing",
                source=f"hearing:{hearing.pk}",
                occurred_at=hearing.scheduled_at,
                details={"court": hearing.court, "kind": hearing.kind},
                now=now,
            )
        raised += 1
    unrecorded = Hearing.objects.select_related("participant").filter(
        outcome=HearingOutcome.SCHEDULED,
        scheduled_at__lt=now - dt.timedelta(hours=12),
        scheduled_at__gt=now - dt.timedelta(days=30),
    )
    for hearing in unrecorded:
        if now >= _end_of_local_day(hearing.scheduled_at, ZoneInfo(hearing.time_zone)):
            task_open(
                hearing.participant,
                kind=TaskKind.HEARING_OUTCOME,
                source=f"hearing:{hearing.pk}",
                summary=f"Record the outcome of the hearing at {hearing.court} on "
                f"{hearing.local_time:%Y-%m-%d}",
                now=now,
            )
    return raised


# --- retention ---------------------------------------------------------------------------


def checkin_photos_purge_before(cutoff: dt.datetime) -> int:
    """Delete the photo files of check-ins received before ``cutoff`` (the retention
    period of check-in photos); the check-in itself, its outcome and review stay as the
    compliance record. Returns how many photos went."""
    removed = 0
    old = Checkin.objects.filter(received_at__lt=cutoff).exclude(photo="")
    while True:
        batch = list(old.only("pk", "photo")[:500])
        if not batch:
            return removed
        for checkin in batch:
            checkin.photo.delete(save=False)
        Checkin.objects.filter(pk__in=[c.pk for c in batch]).update(photo="")
        removed += len(batch)
