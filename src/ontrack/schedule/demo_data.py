"""Demo schedules: mixed check-in cadences for the program's open cases, 90 days of past
windows with a realistic mix of outcomes, windows ahead, and upcoming office appointments.
The last two days' check-ins wait in the photo review with a photo of the same illustrated
person as the enrolment photo (``ontrack.demo_avatars``); the missed check-ins and
appointments of the past raised alerts that officers have handled (``alerts.demo_data``).

Bulk inserts for the volume (a demo seeds ~2,000 people), the services for what must
carry notices and reminders (appointments). Deterministic from ``seed_value``. The first
open cases by case number (those the portal demo gives a PIN) check in every day, all day,
so the portal's check-in can be tried at any hour. Reminders of the windows ahead are left
to the worker's periodic job (``tasks.checkin_reminders``), which keeps seeding fast.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.db import transaction

from ontrack.accounts.actors import SystemActor
from ontrack.accounts.models import Program
from ontrack.alerts.demo_data import Condition, history
from ontrack.demo_avatars import checkin_photo, portrait_key
from ontrack.participants.models import Hearing, HearingOutcome, Participant, Status
from ontrack.schedule import queries, recurrence
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
    Outcome,
    Review,
    Task,
    TaskKind,
)
from ontrack.schedule.services.appointments import appointment_book
from ontrack.schedule.services.checkins import REFERENCE_ALPHABET
from ontrack.schedule.services.windows import schedule_cadence, windows_generate_many

PAST_DAYS = 90
DEMO_DATA = SystemActor("demo data")
ALWAYS_OPEN = 5  # the portal demo's PIN holders
APPOINTMENT_SHARE = 0.08
OUTCOMES = [
    (Outcome.ON_TIME, 80),
    (Outcome.LATE, 7),
    (Outcome.MISSED, 6),
    (Outcome.EXCUSED, 2),
    (Outcome.TECHNICAL_FAILURE, 5),
]
EXCUSES = ["In hospital", "At court that day", "Family emergency, officer informed"]


def _cadence(rng: random.Random, today: dt.date) -> dict[str, object]:
    start = today - dt.timedelta(days=PAST_DAYS)
    roll = rng.random()
    opens = rng.choice([dt.time(8), dt.time(9), dt.time(10)])
    closes = rng.choice([dt.time(18), dt.time(20)])
    common = {"opens": opens, "closes": closes, "starts_on": start}
    if roll < 0.55:
        return {"cadence": Cadence.WEEKLY, "weekdays": [rng.randrange(5)], **common}
    if roll < 0.7:
        return {"cadence": Cadence.WEEKLY, "weekdays": sorted(rng.sample(range(5), 2)), **common}
    if roll < 0.85:
        return {"cadence": Cadence.WEEKLY, "weekdays": [rng.randrange(5)], "interval": 2, **common}
    if roll < 0.95:
        return {
            "cadence": Cadence.MONTHLY_WEEKDAY,
            "weekdays": [rng.randrange(5)],
            "week": 1,
            **common,
        }
    return {"cadence": Cadence.MONTHLY_DAY, "day": rng.choice([1, 15]), **common}


def _pick(rng: random.Random) -> str:
    values, weights = zip(*OUTCOMES, strict=True)
    return rng.choices(values, weights=weights)[0]


def _reference(index: int) -> str:
    """Distinct for distinct indexes (an odd multiplier is a bijection modulo 32**6), and
    shaped like the references real check-ins get. Indexes continue from the check-ins
    already stored, so seeding a database seeded before does not repeat one."""
    alphabet = REFERENCE_ALPHABET
    value = (index * 40503) % 32**6
    return "CK-" + "".join(alphabet[(value >> (5 * k)) & 31] for k in range(6))


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    rng = random.Random(f"schedule:{seed_value}")
    people = list(
        Participant.objects.filter(program=program, status__in=[Status.ENROLLED, Status.ACTIVE])
        .filter(plans__effective_to__isnull=True, plans__app_checkins=True)
        .exclude(checkin_schedule__isnull=False)
        .select_related("office")
        .order_by("case_number")
    )
    if not people:
        return
    with transaction.atomic():
        schedules = _schedules(rng, people, now)
        _past_windows(rng, schedules, people, now, seed_value=seed_value)
        windows_generate_many(schedules, now=now)
    _appointments(rng, people, now)
    _missed_alerts(rng, people, now)


def _missed_alerts(rng: random.Random, people: list[Participant], now: dt.datetime) -> None:
    """The alerts the missed check-ins and appointments of the past raised, handled by the
    officers (older than a day: newer ones are the watchdog's to raise)."""
    before = now - dt.timedelta(days=1)
    pks = [p.pk for p in people]
    conditions = [
        Condition(
            participant_id=participant_id,
            kind="missed_checkin",
            source=f"checkin_window:{pk}",
            occurred_at=closes_at,
            details={"local_date": day.isoformat()},
        )
        for pk, participant_id, closes_at, day in CheckinWindow.objects.filter(
            participant_id__in=pks, outcome=Outcome.MISSED, closes_at__lt=before
        ).values_list("pk", "participant_id", "closes_at", "local_date")
    ]
    conditions += [
        Condition(
            participant_id=participant_id,
            kind="missed_appointment",
            source=f"appointment:{pk}",
            occurred_at=ends_at,
            details={"type": type_, "kind": kind},
        )
        for pk, participant_id, ends_at, type_, kind in Appointment.objects.filter(
            participant_id__in=pks, status=AppointmentStatus.MISSED, ends_at__lt=before
        ).values_list("pk", "participant_id", "ends_at", "type", "kind")
    ]
    conditions += _missed_hearings(people[0].program_id, before)
    history(conditions, rng=rng, now=now)


def _missed_hearings(program_id: int, before: dt.datetime) -> list[Condition]:
    """Hearings recorded as not attended before ``before``: the watchdog's record that it
    raised their alert (so it does not raise it again today), and the alert's condition."""
    hearings = Hearing.objects.filter(
        participant__program_id=program_id,
        outcome=HearingOutcome.FAILED_TO_APPEAR,
        scheduled_at__lt=before,
    ).exclude(pk__in=HearingMiss.objects.values("hearing_id"))
    rows = [
        HearingMiss(
            hearing=h,
            participant_id=h.participant_id,
            raised_at=h.outcome_recorded_at or h.scheduled_at,
        )
        for h in hearings
    ]
    HearingMiss.objects.bulk_create(rows, batch_size=1000)
    return [
        Condition(
            participant_id=row.participant_id,
            kind="missed_hearing",
            source=f"hearing:{row.hearing.pk}",
            occurred_at=row.hearing.scheduled_at,
            details={"court": row.hearing.court, "kind": row.hearing.kind},
        )
        for row in rows
    ]


def _schedules(
    rng: random.Random, people: list[Participant], now: dt.datetime
) -> list[CheckinSchedule]:
    rows = []
    for index, person in enumerate(people):
        today = now.astimezone(ZoneInfo(person.time_zone)).date()
        if index < ALWAYS_OPEN:
            fields: dict[str, object] = {
                "cadence": Cadence.WEEKLY,
                "weekdays": list(range(7)),
                "opens": dt.time(0, 0),
                "closes": dt.time(23, 59),
                "starts_on": today - dt.timedelta(days=PAST_DAYS),
            }
        else:
            fields = _cadence(rng, today)
        rows.append(CheckinSchedule(participant=person, updated_at=now, **fields))
    return CheckinSchedule.objects.bulk_create(rows, batch_size=2000)


def _past_windows(
    rng: random.Random,
    schedules: list[CheckinSchedule],
    people: list[Participant],
    now: dt.datetime,
    *,
    seed_value: int,
) -> None:
    """Closed windows of the last ``PAST_DAYS`` days with their outcome, the attempts
    behind them, a few photos waiting for review and the technical-failure tasks."""
    by_pk = {p.pk: p for p in people}
    windows: list[CheckinWindow] = []
    for schedule in schedules:
        person = by_pk[schedule.participant_id]
        zone = ZoneInfo(person.time_zone)
        today = now.astimezone(zone).date()
        for day, opens_at, closes_at in recurrence.windows(
            schedule_cadence(schedule),
            schedule.opens,
            schedule.closes,
            zone,
            today - dt.timedelta(days=PAST_DAYS),
            today,
        ):
            if closes_at >= now:
                continue
            outcome = _pick(rng)
            windows.append(
                CheckinWindow(
                    participant_id=person.pk,
                    schedule_id=schedule.pk,
                    local_date=day,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    outcome=outcome,
                    outcome_at=closes_at,
                    excused_reason=rng.choice(EXCUSES) if outcome == Outcome.EXCUSED else "",
                    reminders_synced=True,
                )
            )
    CheckinWindow.objects.bulk_create(windows, batch_size=2000)
    saved = CheckinWindow.objects.filter(schedule__in=schedules, opens_at__lt=now).order_by(
        "opens_at"
    )
    checkins: list[Checkin] = []
    tasks: list[Task] = []
    review_left = 25
    stored_before = Checkin.objects.count()
    for index, window in enumerate(saved.iterator(chunk_size=2000)):
        if window.outcome not in (Outcome.ON_TIME, Outcome.LATE, Outcome.TECHNICAL_FAILURE):
            continue
        span = (window.closes_at - window.opens_at).total_seconds()
        if window.outcome == Outcome.LATE:
            attempted = window.closes_at + dt.timedelta(minutes=rng.randrange(5, 180))
        else:
            attempted = window.opens_at + dt.timedelta(seconds=rng.uniform(0, span))
        checkin = Checkin(
            participant_id=window.participant_id,
            window_id=window.pk,
            client_ref=str(rng.getrandbits(64)),
            reference=_reference(stored_before + len(checkins)),
            modality=Modality.APP,
            outcome=window.outcome,
            attempted_at=attempted,
            received_at=attempted + dt.timedelta(seconds=rng.randrange(2, 90)),
            review=Review.APPROVED,
        )
        if window.outcome == Outcome.TECHNICAL_FAILURE:
            checkin.failure_reason = rng.choice(FailureReason.values)
            checkin.review = Review.NOT_NEEDED
        else:
            checkin.lat = 40.7 + rng.uniform(-0.2, 0.2)
            checkin.lon = -74.1 + rng.uniform(-0.2, 0.2)
            checkin.accuracy_m = rng.choice([8.0, 12.0, 25.0, 60.0])
            if window.closes_at > now - dt.timedelta(days=2) and review_left > 0:
                review_left -= 1
                checkin.review = Review.PENDING
                checkin.photo_content_type = "image/jpeg"
                person = by_pk[window.participant_id]
                photo = checkin_photo(portrait_key(seed_value, person.case_number), index)
                checkin.photo.save(
                    f"demo-{secrets.token_hex(6)}.jpg", ContentFile(photo), save=False
                )
        checkins.append(checkin)
    Checkin.objects.bulk_create(checkins, batch_size=2000)
    for checkin in Checkin.objects.filter(
        participant_id__in=by_pk,
        outcome=Outcome.TECHNICAL_FAILURE,
        received_at__gt=now - dt.timedelta(days=7),
    ):
        tasks.append(
            Task(
                participant_id=checkin.participant_id,
                kind=TaskKind.TECHNICAL_FAILURE,
                source=f"checkin:{checkin.pk}",
                summary=f"Check-in could not be completed: {checkin.get_failure_reason_display()}",
                created_at=checkin.received_at,
            )
        )
    Task.objects.bulk_create(tasks, ignore_conflicts=True)


def _appointments(rng: random.Random, people: list[Participant], now: dt.datetime) -> None:
    """Upcoming office appointments booked through the service (so notices and reminders
    exist), and past ones attended or missed."""
    chosen = [p for p in people if rng.random() < APPOINTMENT_SHARE]
    types = AppointmentType.values
    past: list[Appointment] = []
    for person in chosen:
        target = now + dt.timedelta(days=rng.randrange(1, 21), hours=rng.randrange(0, 24))
        slot = queries.nearest_free_slot(
            person.office, target, not_before=now + dt.timedelta(hours=12)
        )
        if slot is not None:
            appointment_book(
                person, actor=DEMO_DATA, type=rng.choice(types), starts_at=slot.starts_at, now=now
            )
        start = now - dt.timedelta(days=rng.randrange(2, PAST_DAYS), hours=rng.randrange(0, 8))
        past.append(
            Appointment(
                participant=person,
                office_id=person.office_id,
                kind=AppointmentKind.OFFICE,
                type=AppointmentType.ROUTINE_CHECKIN,
                starts_at=start,
                ends_at=start + dt.timedelta(minutes=30),
                status=AppointmentStatus.ATTENDED
                if rng.random() < 0.9
                else AppointmentStatus.MISSED,
                created_at=start - dt.timedelta(days=14),
                status_at=start + dt.timedelta(minutes=30),
            )
        )
    Appointment.objects.bulk_create(past, batch_size=2000)
