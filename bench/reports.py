"""The program dashboard with its daily roll-ups: seconds per render of ``/reports/`` over
a large program, against the same page counted from the raw rows, in the same run.

    uv run python bench/reports.py          # 100,000 participants, 5 M windows, 1 M alerts
    uv run python bench/reports.py --quick  # 5,000 participants, 250,000 windows, 50,000 alerts
    uv run python bench/reports.py --database-url postgresql://postgres@127.0.0.1/bench

Data (deterministic, written directly, not measured): one program, 40 offices, 10 officers
each; participants enrolled over the 900 days before 2026-01-05 (20 % since closed, with a
reason), each with an enrolment event and the status events of their history, one plan
version (30 % two: a change half-way), modalities mixed; 50 check-in windows each, weekly
over the last year, with outcomes on time 80 %, late 7 %, missed 6 %, excused 3 %, technical
failure 2 %, due 2 %; alerts over the last year of every kind and priority, 90 % acknowledged
and 70 % resolved after skewed delays (15 % cleared by themselves, 5 % cancelled within
grace); 5 messages and 1 hearing per participant.

- baseline: an administrator's GET of ``/reports/`` for the whole program over a year,
  through Django's test client (view, every aggregate, percentiles, SVG charts, template,
  access-log entry), before any roll-up exists, so every number comes from the raw rows: as
  of the data's last day, three random days of that year, and today (the open day);
  ``--repeat`` renders of each (1 with ``--quick``, else 3);
- then the roll-ups of the whole history are computed (the nightly job, timed but not
  measured) and the same pages rendered again: closed days, the alert response times and
  the census from the roll-ups;
- the bench checks that every table of every page is the same either way, and prints the
  time of each table as of the data's last day, from the roll-ups and (in brackets) raw.

The last line is ``RESULT dashboard_p95=<p95 render with roll-ups> s baseline=<p95 render
from the raw rows> ratio=<roll-ups / raw>``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

NOW = dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)
YEAR_AGO = NOW - dt.timedelta(days=365)
QUERY = "from=2025-01-05&to=2026-01-05&as_of=2026-01-05"
AS_OF = dt.datetime(2026, 1, 6, tzinfo=dt.UTC)  # the end of the as-of day
CHUNK = 50_000
ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]


def _setup_django(database_url: str | None) -> Path:
    home = Path(tempfile.mkdtemp(prefix="ontrack-bench-reports-"))
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
    from ontrack.static_build import static_files_collect

    static_files_collect()  # pages name hashed static files from whitenoise's manifest
    return home


# --- bulk writing -------------------------------------------------------------------------


class Stamp:
    """Datetimes as the database stores them, formatted once per distinct minute: SQLite
    keeps Django's naive-UTC text, PostgreSQL takes ISO text with an offset."""

    def __init__(self, vendor: str) -> None:
        self.suffix = "+00:00" if vendor == "postgresql" else ""
        self.cache: dict[int, str] = {}

    def __call__(self, at: dt.datetime | None) -> str | None:
        if at is None:
            return None
        minute = int(at.timestamp()) // 60
        text = self.cache.get(minute)
        if text is None:
            moment = dt.datetime.fromtimestamp(minute * 60, dt.UTC)
            text = self.cache[minute] = moment.strftime("%Y-%m-%d %H:%M:%S") + self.suffix
        return text


def _columns_and_defaults(model: Any, varying: Sequence[str]) -> tuple[list[str], list[Any]]:
    """Every concrete column but the key: ``varying`` first (given per row), then the rest
    at their model default, prepared for the database once."""
    from django.db import connection

    fields = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    rest = [name for name in fields if name not in varying]
    defaults = []
    for name in rest:
        field = fields[name]
        value = field.get_default() if field.has_default() or not field.null else None
        if value is None and not field.null:
            value = ""
        defaults.append(field.get_db_prep_save(value, connection))
    return [fields[n].column for n in (*varying, *rest)], defaults


def _bulk(model: Any, varying: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert rows of ``varying`` values (the rest at their defaults): COPY on PostgreSQL,
    executemany on SQLite, in chunks."""
    from django.db import connection, transaction

    columns, defaults = _columns_and_defaults(model, varying)
    table = model._meta.db_table
    tail = tuple(defaults)
    written = 0
    chunk: list[tuple[Any, ...]] = []

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                names = ", ".join(f'"{c}"' for c in columns)
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                names = ", ".join(f'"{c}"' for c in columns)
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", chunk)

    for row in rows:
        chunk.append(row + tail)
        if len(chunk) >= CHUNK:
            flush()
            written += len(chunk)
            chunk = []
    if chunk:
        flush()
        written += len(chunk)
    return written


def _pick(rng: random.Random, mix: Sequence[tuple[Any, int]]) -> Any:
    roll = rng.randrange(sum(w for _v, w in mix))
    for value, weight in mix:
        roll -= weight
        if roll < 0:
            return value
    return mix[-1][0]


# --- data ---------------------------------------------------------------------------------


def _populate(participants: int, offices: int, rng: random.Random) -> dict[str, int]:
    from django.db import connection

    from ontrack.accounts.models import Office, Program, Role, User
    from ontrack.alerts.models import Alert, AlertKind, AlertStatus
    from ontrack.alerts.rules import DEFAULT_RULES
    from ontrack.messaging.models import Message, MessageStatus
    from ontrack.participants.models import (
        ClosureReason,
        Hearing,
        HearingOutcome,
        Level,
        Participant,
        ParticipantEvent,
        SupervisionPlan,
    )
    from ontrack.schedule.models import CheckinWindow, Outcome

    stamp = Stamp(connection.vendor)
    program = Program.objects.create(name="Bench")
    office_rows = Office.objects.bulk_create(
        [
            Office(program=program, name=f"Office {n:02d}", time_zone=ZONES[n % 4])
            for n in range(offices)
        ]
    )
    User.objects.bulk_create(
        [
            User(username=f"officer{o.pk}-{k}", role=Role.OFFICER, office=o, password="!")
            for o in office_rows
            for k in range(10)
        ]
    )
    officers = {o.pk: list(User.objects.filter(office=o)) for o in office_rows}
    User.objects.create(username="admin", role=Role.ADMINISTRATOR, password="!")

    levels = [(Level.INTENSIVE, 10), (Level.HIGH, 20), (Level.STANDARD, 45), (Level.LOW, 15),
              (Level.MINIMAL, 10)]  # fmt: skip
    reasons = [(r, w) for r, w in zip(ClosureReason.values, (50, 15, 8, 12, 8, 2, 5), strict=True)]
    people = []
    for n in range(participants):
        office = office_rows[n % offices]
        enrolled = NOW - dt.timedelta(days=rng.uniform(1, 900))
        closed = rng.random() < 0.2
        closed_at = min(NOW, enrolled + dt.timedelta(days=rng.uniform(20, 400))) if closed else None
        open_status = _pick(rng, [("active", 90), ("suspended", 5), ("enrolled", 5)])
        people.append(
            Participant(
                program=program, case_number=f"B{n:07d}", given_name="Bench",
                family_name=f"Person {n}", date_of_birth=dt.date(1990, 1, 1),
                time_zone=office.time_zone, office=office,
                officer=officers[office.pk][n % 10],
                status="closed" if closed else open_status,
                closure_reason=_pick(rng, reasons) if closed else "",
                closure_note="Bench closure" if closed else "",
                closed_by=officers[office.pk][n % 10] if closed else None,
                closed_at=closed_at, enrolled_at=enrolled,
                level=_pick(rng, levels), preferred_language=_pick(
                    rng, [("en", 40), ("es", 40), ("pt", 5), ("ht", 8), ("fr", 4), ("quc", 3)]
                ),
            )
        )  # fmt: skip
    people = Participant.objects.bulk_create(people, batch_size=5_000)
    if people[0].pk is None:
        ids = dict(Participant.objects.values_list("case_number", "pk"))
        for p in people:
            p.pk = ids[p.case_number]

    events, plans = [], []
    for p in people:
        events.append((p.pk, stamp(p.enrolled_at), "enrolled", "Enrolled", "{}"))
        if p.status in ("active", "suspended") or (p.closed_at and rng.random() < 0.9):
            events.append((p.pk, stamp(p.enrolled_at + dt.timedelta(days=1)), "activated",
                           "Activated", "{}"))  # fmt: skip
        if p.status == "suspended":
            events.append((p.pk, stamp(NOW - dt.timedelta(days=rng.uniform(1, 60))), "suspended",
                           "Suspended", "{}"))  # fmt: skip
        if p.closed_at:
            events.append((p.pk, stamp(p.closed_at), "closed", "Closed", "{}"))
        end = p.closed_at
        change = p.enrolled_at + (((end or NOW) - p.enrolled_at) / 2)
        versions = (
            [(p.enrolled_at, change), (change, end)]
            if rng.random() < 0.3
            else [(p.enrolled_at, end)]
        )
        for i, (start, stop) in enumerate(versions):
            level = p.level if i == len(versions) - 1 else _pick(rng, levels)
            gps = level == Level.INTENSIVE or rng.random() < 0.05
            app = rng.random() < 0.75
            phone = rng.random() < 0.2
            office = not (app or phone) or rng.random() < 0.5
            review = (NOW + dt.timedelta(days=90)).date()
            plans.append((p.pk, level, app, phone, office, gps, review, stamp(start), stamp(stop)))
    _bulk(ParticipantEvent, ["participant_id", "at", "kind", "summary", "data"], events)
    _bulk(SupervisionPlan, ["participant_id", "level", "app_checkins", "phone_checkins",
                            "office_visits", "gps_device", "review_date", "effective_from",
                            "effective_to"], plans)  # fmt: skip
    counts = {"participants": len(people), "events": len(events), "plans": len(plans)}

    outcomes = [(Outcome.ON_TIME, 80), (Outcome.LATE, 7), (Outcome.MISSED, 6),
                (Outcome.EXCUSED, 3), (Outcome.TECHNICAL_FAILURE, 2), (Outcome.DUE, 2)]  # fmt: skip

    def windows() -> Iterator[tuple[Any, ...]]:
        for p in people:
            first = YEAR_AGO + dt.timedelta(hours=rng.randrange(7 * 24))
            for k in range(50):
                opens = first + dt.timedelta(days=7 * k)
                closes = opens + dt.timedelta(hours=12)
                outcome = _pick(rng, outcomes)
                settled = {
                    Outcome.ON_TIME: opens + dt.timedelta(hours=2),
                    Outcome.LATE: closes + dt.timedelta(hours=3),
                    Outcome.DUE: None,
                }.get(outcome, closes + dt.timedelta(hours=1))
                yield (p.pk, opens.date(), stamp(opens), stamp(closes), outcome, stamp(settled),
                       "unwell" if outcome == Outcome.EXCUSED else "")  # fmt: skip

    counts["windows"] = _bulk(
        CheckinWindow,
        ["participant_id", "local_date", "opens_at", "closes_at", "outcome", "outcome_at",
         "excused_reason"],
        windows(),
    )  # fmt: skip

    kinds = list(AlertKind.values)
    alert_total = participants * 10

    def alerts() -> Iterator[tuple[Any, ...]]:
        for i in range(alert_total):
            p = people[rng.randrange(len(people))]
            kind = kinds[i % len(kinds)]
            rule = DEFAULT_RULES[kind]
            occurred = YEAR_AGO + dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
            visible = occurred + rule.grace
            roll = rng.random()
            acked = closed = None
            if roll < 0.05:
                status, closed = AlertStatus.CANCELLED, occurred + rule.grace / 2
            elif roll < 0.20:
                status = AlertStatus.AUTO_RESOLVED
                closed = visible + dt.timedelta(minutes=rng.expovariate(1 / 45))
            else:
                acked = visible + dt.timedelta(minutes=rng.lognormvariate(2.0, 1.0))
                status = AlertStatus.ACKNOWLEDGED
                if roll < 0.90:
                    status = AlertStatus.RESOLVED
                    closed = acked + dt.timedelta(minutes=rng.lognormvariate(3.5, 1.0))
                elif roll < 0.95:
                    status, acked = AlertStatus.OPEN, None
            priority = min(int(rule.priority) + (1 if rng.random() < 0.1 else 0), 4)
            yield (p.pk, kind, f"bench:{i}", priority, status, stamp(occurred), stamp(occurred),
                   stamp(visible), stamp(acked), stamp(closed), stamp(occurred), "{}")  # fmt: skip

    counts["alerts"] = _bulk(
        Alert,
        ["participant_id", "kind", "source", "priority", "status", "occurred_at", "raised_at",
         "visible_at", "acknowledged_at", "closed_at", "last_occurred_at", "details"],
        alerts(),
    )  # fmt: skip

    statuses = [(MessageStatus.DELIVERED, 70), (MessageStatus.SENT, 10),
                (MessageStatus.FAILED, 4), (MessageStatus.UNDELIVERED, 3),
                (MessageStatus.SUPPRESSED, 5), (MessageStatus.CANCELLED, 3),
                (MessageStatus.QUEUED, 5)]  # fmt: skip

    def messages() -> Iterator[tuple[Any, ...]]:
        for i in range(participants * 5):
            p = people[i % len(people)]
            created = YEAR_AGO + dt.timedelta(seconds=rng.uniform(0, 365 * 86400))
            status = _pick(rng, statuses)
            yield (p.pk, p.preferred_language, "Reminder", "reminder", stamp(created),
                   stamp(created), stamp(created + dt.timedelta(minutes=2)), status,
                   f"bench{i:024d}")  # fmt: skip

    counts["messages"] = _bulk(
        Message,
        ["participant_id", "language", "body", "purpose", "created_at", "send_at", "status_at",
         "status", "idempotency_key"],
        messages(),
    )  # fmt: skip

    hearing_outcomes = [(HearingOutcome.ATTENDED, 85), (HearingOutcome.FAILED_TO_APPEAR, 5),
                        (HearingOutcome.RESCHEDULED, 7), (HearingOutcome.CANCELLED, 3)]  # fmt: skip
    counts["hearings"] = _bulk(
        Hearing,
        ["participant_id", "scheduled_at", "time_zone", "court", "kind", "outcome"],
        (
            (p.pk, stamp(YEAR_AGO + dt.timedelta(days=rng.uniform(0, 365))), p.time_zone,
             "Immigration Court", "master_calendar", _pick(rng, hearing_outcomes))
            for p in people
        ),
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return counts


# --- measured -----------------------------------------------------------------------------


def _render(client: Any, query: str, pages: dict[str, list[str]]) -> float:
    """Seconds for one render; its tables (the page's sections) kept in ``pages``."""
    started = time.perf_counter()
    response = client.get(f"/reports/?{query}")
    spent = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    html = response.content.decode()
    pages[query] = re.findall(r'<section class="card[^"]*" id="[a-z_]+">.*?</section>', html, re.S)
    return spent


def _as_of_queries(rng: random.Random) -> list[str]:
    """The whole year before each as-of date: the bench's last day, three random days of
    the year, and today (the open day, counted live past the roll-ups)."""
    last = AS_OF.date() - dt.timedelta(days=1)
    days = [last, *(last - dt.timedelta(days=rng.randrange(1, 330)) for _ in range(3))]
    queries = [f"from={d - dt.timedelta(days=365)}&to={d}&as_of={d}" for d in days]
    return [*queries, f"from={last - dt.timedelta(days=365)}&to={dt.datetime.now(dt.UTC).date()}"]


def _p95(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 participants (< 1 min)")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--offices", type=int, default=40)
    parser.add_argument("--repeat", type=int, help="renders per as-of date (default 1 quick, 3)")
    parser.add_argument("--database-url", help="an empty database (default: SQLite in a temp dir)")
    args = parser.parse_args()
    participants = args.participants or (5_000 if args.quick else 100_000)
    repeat = args.repeat or (1 if args.quick else 3)
    home = _setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from ontrack.accounts.models import User
    from ontrack.reports.dashboard import (
        COUNTED_BUILDERS,
        RAW,
        TABLE_ORDER,
        DashboardScope,
        dashboard_table,
    )
    from ontrack.reports.rollups import ROLLED, rollups_rebuild

    print(
        f"ontrack bench/reports.py on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores), {connection.vendor}, {dt.datetime.now(dt.UTC):%Y-%m-%d}",
        flush=True,
    )
    started = time.perf_counter()
    rng = random.Random(2026)
    counts = _populate(participants, args.offices, rng)
    print(
        "set-up: " + ", ".join(f"{n:,} {name}" for name, n in counts.items())
        + f" ({time.perf_counter() - started:.1f} s, not measured)",
        flush=True,
    )  # fmt: skip

    admin = User.objects.get(username="admin")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    # Past the second factor, as django_otp.login marks a session after a right code.
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.create(user=admin).persistent_id
    session.save()
    queries = _as_of_queries(rng)
    raw_pages: dict[str, list[str]] = {}
    rolled_pages: dict[str, list[str]] = {}
    _render(client, queries[0], raw_pages)  # warm: templates, connection, caches

    def renders(label: str, pages: dict[str, list[str]]) -> list[float]:
        spent = [_render(client, query, pages) for query in queries for _ in range(repeat)]
        print(f"{label}: {', '.join(f'{s:.2f}' for s in spent)} s; p95 {_p95(spent):.2f} s",
              flush=True)  # fmt: skip
        return spent

    raw = renders("render /reports/ from the raw rows (no roll-up yet)", raw_pages)
    started = time.perf_counter()
    run = rollups_rebuild()
    print(f"roll-ups of the whole history: {run.rows:,} rows in "
          f"{time.perf_counter() - started:.1f} s (the nightly job; not measured)",
          flush=True)  # fmt: skip
    rolled = renders("render /reports/ with the roll-ups", rolled_pages)

    scope = DashboardScope(start=YEAR_AGO.replace(hour=0), end=AS_OF, as_of=AS_OF)
    spent = []
    for key in ("status", *TABLE_ORDER):  # the census's three tables are one query
        times = []
        for source in (ROLLED, RAW):
            tick = time.perf_counter()
            dashboard_table(admin, scope, key, source)
            times.append(time.perf_counter() - tick)
        name = "census" if key == "status" else key
        rolled_up = key == "status" or key in COUNTED_BUILDERS
        spent.append(f"{name} {times[0]:.2f}" + (f" (raw {times[1]:.2f})" if rolled_up else ""))
    print("  per table, s: " + "; ".join(spent))
    same = all(rolled_pages[q] == raw_pages[q] and raw_pages[q] for q in queries)
    print(f"check: every table of the {len(queries)} pages the same from the roll-ups and the "
          f"raw rows: {same}")  # fmt: skip
    connection.close()
    shutil.rmtree(home, ignore_errors=True)
    if not same:
        raise SystemExit("the roll-ups and the raw rows disagree")
    rolled_p95, raw_p95 = _p95(rolled), _p95(raw)
    print(f"RESULT dashboard_p95={rolled_p95:.2f} s baseline={raw_p95:.2f} "
          f"ratio={rolled_p95 / raw_p95:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
