"""Check-in windows and office appointments written per second by the schedule services,
against a raw bulk insert of the same rows.

    uv run python bench/schedule.py           # 100,000 participants, 20,000 appointments
    uv run python bench/schedule.py --quick   # 10,000 participants, 2,000 appointments
    uv run python bench/schedule.py --database-url postgresql://postgres@127.0.0.1/bench

Data (deterministic): 40 offices in four US time zones, open weekdays 09:00-12:00 and
13:00-17:00 local in 30-minute slots of 6 places; participants spread over the offices, each
with a check-in schedule: one weekday a week (50 %), two weekdays (20 %), every two weeks
(15 %), the first given weekday of the month (10 %) or a day of the month (5 %), with an
08:00-20:00 window in their own zone.

- windows: ``schedule.services.windows.windows_generate_many`` over all schedules (chunks
  of 2,000), a horizon of 365 days: the recurrence in each person's zone (DST included),
  the rows, and the insert that skips dates already present;
- appointments: ``schedule.services.bulk_appointments.appointments_book_many`` per office
  for a share of the participants (the first slot with a free place from tomorrow), places
  taken with conditional updates; ``notify=False`` (the notices' fan-out is ``bench/fanout.py``);
- baseline (same run): the rows just written (windows, slots, appointments) are read back,
  deleted and inserted again with one ``executemany`` per 100,000 rows, timed over the
  inserts only.

The last line is ``RESULT schedule_rows_per_s=<all rows / service seconds> rows/s
baseline=<all rows / raw insert seconds> ratio=<first / second>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
HOURS = {d: [["09:00", "12:00"], ["13:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
CHUNK = 2_000
RAW_CHUNK = 100_000


def _setup_django(database_url: str | None) -> None:
    home = Path(tempfile.mkdtemp(prefix="ontrack-bench-schedule-"))
    os.environ["ONTRACK_HOME"] = str(home)
    if database_url:
        os.environ["ONTRACK_DATABASE_URL"] = database_url
    else:
        os.environ.pop("ONTRACK_DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ontrack.settings")
    os.environ.setdefault("ONTRACK_LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _populate(participants: int, offices: int, rng: random.Random, now: dt.datetime):
    """Offices, participants and their schedules, written directly (not measured)."""
    from ontrack.accounts.models import Office, Program
    from ontrack.participants.models import Participant, SupervisionPlan
    from ontrack.schedule.models import Cadence, CheckinSchedule, OfficeCalendar

    program = Program.objects.create(name="Bench")
    office_rows = Office.objects.bulk_create(
        [
            Office(program=program, name=f"Office {n}", time_zone=ZONES[n % 4], opening_hours=HOURS)
            for n in range(offices)
        ]
    )
    OfficeCalendar.objects.bulk_create(
        [OfficeCalendar(office=o, slot_minutes=30, slot_capacity=6) for o in office_rows]
    )
    people = Participant.objects.bulk_create(
        [
            Participant(
                program=program,
                case_number=f"B{n:07d}",
                given_name="Bench",
                family_name=f"Person {n}",
                date_of_birth=dt.date(1990, 1, 1),
                time_zone=office_rows[n % offices].time_zone,
                office=office_rows[n % offices],
                status="active",
                enrolled_at=now,
            )
            for n in range(participants)
        ],
        batch_size=5_000,
    )
    # Only a case whose current plan asks for check-ins gets windows.
    SupervisionPlan.objects.bulk_create(
        [
            SupervisionPlan(
                participant=person,
                level="standard",
                app_checkins=True,
                review_date=now.date() + dt.timedelta(days=90),
                effective_from=now,
            )
            for person in people
        ],
        batch_size=5_000,
    )
    start = now.date() - dt.timedelta(days=now.date().weekday())
    schedules = []
    for person in people:
        roll = rng.random()
        fields: dict[str, object] = {"weekdays": [rng.randrange(5)]}
        if roll < 0.5:
            fields["cadence"] = Cadence.WEEKLY
        elif roll < 0.7:
            fields = {"cadence": Cadence.WEEKLY, "weekdays": sorted(rng.sample(range(5), 2))}
        elif roll < 0.85:
            fields["cadence"] = Cadence.WEEKLY
            fields["interval"] = 2
        elif roll < 0.95:
            fields["cadence"] = Cadence.MONTHLY_WEEKDAY
        else:
            fields = {"cadence": Cadence.MONTHLY_DAY, "day": rng.choice([1, 15, 28])}
        schedules.append(
            CheckinSchedule(
                participant=person,
                opens=dt.time(8),
                closes=dt.time(20),
                starts_on=start,
                updated_at=now,
                **fields,
            )
        )
    CheckinSchedule.objects.bulk_create(schedules, batch_size=5_000)
    return office_rows, people


def _windows(now: dt.datetime) -> tuple[int, float]:
    from ontrack.schedule.models import CheckinSchedule
    from ontrack.schedule.services.windows import windows_generate_many

    ids = list(CheckinSchedule.objects.order_by("pk").values_list("pk", flat=True))
    rows = 0
    started = time.perf_counter()
    for i in range(0, len(ids), CHUNK):
        chunk = list(CheckinSchedule.objects.filter(pk__in=ids[i : i + CHUNK]))
        rows += windows_generate_many(chunk, now=now, horizon_days=365)
    return rows, time.perf_counter() - started


def _appointments(offices, people, count: int, rng: random.Random, now: dt.datetime):
    from ontrack.accounts.actors import SystemActor
    from ontrack.schedule.services.bulk_appointments import BookingRequest, appointments_book_many

    chosen = rng.sample(people, count)
    by_office: dict[int, list] = {}
    for person in chosen:
        by_office.setdefault(person.office_id, []).append(person)
    tomorrow = now + dt.timedelta(days=1)
    types = ["routine_checkin", "plan_review", "document_service"]
    rows = 0
    started = time.perf_counter()
    for office in offices:
        requests = [
            BookingRequest(participant=p, type=rng.choice(types), not_before=tomorrow)
            for p in by_office.get(office.pk, [])
        ]
        rows += len(
            appointments_book_many(
                actor=SystemActor("bench"), office=office, requests=requests, notify=False, now=now
            )
        )
    return rows, time.perf_counter() - started


def _columns(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        return [c[0] for c in cursor.description]


def _insert_sql(table: str, columns: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"


def _timed_insert(sql: str, rows: list) -> float:
    from django.db import connection, transaction

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return time.perf_counter() - started


def _raw_reinsert_windows(above: int = 0) -> tuple[int, float]:
    """Read the windows back (those with an id above ``above``), delete them and insert them
    again with executemany, chunk by chunk; only the inserts are timed."""
    from django.db import connection, transaction

    table = "schedule_checkinwindow"
    columns = _columns(table)
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE id > %s", [above])
        low, high = cursor.fetchone()
    rows = 0
    spent = 0.0
    for first in range(low or 0, (high or -1) + 1, RAW_CHUNK):
        bounds = [first, first + RAW_CHUNK]
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SELECT {names} FROM {table} WHERE id >= %s AND id < %s", bounds)
            chunk = cursor.fetchall()
            cursor.execute(f"DELETE FROM {table} WHERE id >= %s AND id < %s", bounds)
        spent += _timed_insert(_insert_sql(table, columns), chunk)
        rows += len(chunk)
    return rows, spent


def _raw_reinsert_bookings() -> tuple[int, float]:
    """The same for slots and appointments (appointments point at slots: both are read and
    deleted first, then slots and appointments inserted in that order)."""
    from django.db import connection, transaction

    tables = ("schedule_officeslot", "schedule_appointment")
    data = {}
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            columns = _columns(table)
            cursor.execute(f"SELECT {', '.join(columns)} FROM {table}")
            data[table] = (columns, cursor.fetchall())
        for table in reversed(tables):
            cursor.execute(f"DELETE FROM {table}")
    spent = sum(_timed_insert(_insert_sql(t, data[t][0]), data[t][1]) for t in tables)
    return sum(len(data[t][1]) for t in tables), spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10,000 participants (< 1 min)")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--appointments", type=int)
    parser.add_argument("--offices", type=int, default=40)
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    participants = args.participants or (10_000 if args.quick else 100_000)
    appointments = args.appointments or participants // 5
    _setup_django(args.database_url)
    from django.db import connection

    rng = random.Random(2026)
    now = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
    started = time.perf_counter()
    offices, people = _populate(participants, args.offices, rng, now)
    print(
        f"ontrack bench/schedule.py on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), {connection.vendor}, {dt.datetime.now(dt.UTC):%Y-%m-%d}"
    )
    print(
        f"set-up: {participants:,} participants, {args.offices} offices "
        f"({time.perf_counter() - started:.1f} s, not measured)"
    )
    windows, windows_s = _windows(now)
    print(
        f"windows:      {windows:>10,} rows in {windows_s:6.1f} s = "
        f"{windows / windows_s:>9,.0f} rows/s"
    )
    booked, booked_s = _appointments(offices, people, appointments, rng, now)
    from ontrack.schedule.models import OfficeSlot

    slots = OfficeSlot.objects.count()
    print(
        f"appointments: {booked:>10,} rows (+{slots:,} slots) in {booked_s:6.1f} s = "
        f"{(booked + slots) / booked_s:>9,.0f} rows/s"
    )
    raw_windows, raw_windows_s = _raw_reinsert_windows()
    raw_bookings, raw_bookings_s = _raw_reinsert_bookings()
    print(f"raw insert, windows:      {raw_windows:>10,} rows in {raw_windows_s:6.1f} s")
    print(f"raw insert, appointments: {raw_bookings:>10,} rows in {raw_bookings_s:6.1f} s")
    raw_rows = raw_windows + raw_bookings
    raw_s = raw_windows_s + raw_bookings_s
    ours = (windows + booked + slots) / (windows_s + booked_s)
    baseline = raw_rows / raw_s
    print(f"services: {ours:,.0f} rows/s; raw executemany of the same rows: {baseline:,.0f} rows/s")
    print(
        f"RESULT schedule_rows_per_s={ours:.0f} rows/s baseline={baseline:.0f} "
        f"ratio={ours / baseline:.2f}"
    )


if __name__ == "__main__":
    main()
