"""Server time of the console's pages at 100,000 participants, as an officer, a supervisor and
an operator would open them, on SQLite and (when reachable) PostgreSQL.

    uv run python bench/pages.py            # 100,000 participants (seeded once, reused)
    uv run python bench/pages.py --quick    # 2,000 participants, 10 requests a page

Data: the seeded program of ``seeded.py`` (the one ``caseload.py`` reads: ``ontrack seed``'s
six offices, plans, hearings, devices, 90 days of check-in windows, alerts with their steps,
messages and replies, reviews, the access log), plus, written once by this script:

- a day of positions, one a minute, for up to ``TRACKED_WEARERS`` device wearers (spread over
  every caseload), ending at their device's last fix;
- ``ACCESS_READS_PER_PERSON`` reads of each participant's record by their staff over the last
  90 days in the access log (the seed writes a few thousand in all);
- ``BROADCASTS_PER_SENDER`` bulk messages sent by each officer and supervisor;
- ``QUEUED_PER_1000`` alerts per thousand people waiting in the queue (the seed's alerts
  are all handled history).

Each page is requested ``rounds`` times in-process through Django's whole request stack
(middleware, session and second factor, permission scoping, the access-log rows, template
rendering), signed in as ``officer1`` (one caseload), ``supervisor`` (one office of six) or
``operator`` (every office; the access log as ``auditor``, the only role reading it).
Per-person pages go round ``PEOPLE`` people of that user's own scope (a person's record and
timeline, an alert, a review, a device, a track), lists are requested as they open (the
day's schedule on a weekday: the seed's check-ins fall on weekdays; the live map's first
answer, its scope's wearers, then viewports on a city around ``PEOPLE`` of those wearers).
A page a role may not open is left out of its column. The program dashboard
(``/reports/``) is measured by ``bench/reports.py``. The machine's load average is printed
with each backend's table: a busy machine's server time is its queue for the CPU as much as
the page's work.

Baseline, same run: the signed-in staff member's account page (``/account/``: the console's
layout over the session and second-factor checks, no participant data). The last line:

    RESULT pages_p95_max_ms=<worst page's p95> ms baseline=<account page p95> ratio=..
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from seeded import answer, demo_database, each_backend, machine, p95, signed_in  # noqa: E402

PEOPLE = 20
TRACKED_WEARERS = 1500
ACCESS_READS_PER_PERSON = 5
BROADCASTS_PER_SENDER = 20
QUEUED_PER_1000 = 20
VIEW_DEGREES = 0.2  # half a live map viewport on a city (zoom 10 or so), padded as it asks
EXTRAS_MARK = "bench-pages-extras"  # in ONTRACK_HOME once the rows above are written
USERS = {
    "officer": "officer1",
    "supervisor": "supervisor",
    "operator": "operator",
    "auditor": "auditor",
}
COLUMNS = ("officer", "supervisor", "operator")
BUDGET_MS = 150.0


# --- the rows the seed does not write -------------------------------------------------------


def extras_write() -> dict[str, int]:
    """The rows above, each kind once per database (``EXTRAS_MARK`` lists those written)."""
    from django.conf import settings

    marker = Path(settings.ONTRACK_HOME) / EXTRAS_MARK
    written: dict[str, int] = json.loads(marker.read_text()) if marker.exists() else {}
    for what, write in EXTRAS.items():
        if what in written:
            continue
        started = time.perf_counter()
        written[what] = write()
        marker.write_text(json.dumps(written))
        print(f"{written[what]:,} {what} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return written


def _positions_write() -> int:
    """A day of fixes, one a minute, for every n-th open assignment: a walk that ends where
    the device last was, at its last fix time."""
    from django.db import transaction

    from ontrack.tracking import partitions
    from ontrack.tracking.models import DeviceAssignment, Position

    rng = random.Random(11)
    worn = list(
        DeviceAssignment.objects.filter(ended_at__isnull=True, device__last_fix_time__isnull=False)
        .order_by("participant_id")
        .values_list(
            "participant_id",
            "device_id",
            "device__last_fix_time",
            "device__last_lat",
            "device__last_lon",
        )
    )
    step = max(1, math.ceil(len(worn) / TRACKED_WEARERS))
    chosen = worn[::step]
    if partitions.is_partitioned():
        last = {row[2].date() for row in chosen}
        partitions.positions_ensure_days(last | {day - dt.timedelta(days=1) for day in last})
    total = 0
    for start in range(0, len(chosen), 100):
        rows = []
        for participant_id, device_id, last_fix, lat, lon in chosen[start : start + 100]:
            for minute in range(24 * 60):
                rows.append(
                    Position(
                        device_id=device_id,
                        participant_id=participant_id,
                        time=last_fix - dt.timedelta(minutes=minute),
                        lat=lat,
                        lon=lon,
                        accuracy_m=rng.choice([5.0, 8.0, 12.0, 30.0]),
                        speed_kmh=0.0 if minute % 90 < 60 else rng.uniform(5, 60),
                        satellites=rng.randint(4, 12),
                        received_at=last_fix - dt.timedelta(minutes=minute, seconds=-3),
                    )
                )
                if minute % 90 >= 60:  # on the move a third of the time
                    lat += rng.uniform(-0.002, 0.002)
                    lon += rng.uniform(-0.002, 0.002)
        with transaction.atomic():
            Position.objects.bulk_create(rows, batch_size=2000)
        total += len(rows)
    return total


def _access_reads_write() -> int:
    """Each participant's record read ``ACCESS_READS_PER_PERSON`` times over 90 days by
    their officer, their office's supervisor or the operator."""
    from django.utils import timezone

    from ontrack.accounts.models import Role, User
    from ontrack.audit.demo_data import Read, history
    from ontrack.audit.models import AccessAction
    from ontrack.participants.models import Participant

    rng = random.Random(12)
    supervisors = {
        u.office_id: u for u in User.objects.filter(role=Role.SUPERVISOR, office__isnull=False)
    }
    operator = User.objects.get(username=USERS["operator"])
    names = dict(User.objects.values_list("pk", "username"))
    now = timezone.now()
    people = Participant.objects.values_list("pk", "officer_id", "office_id")
    reads: list[Read] = []
    total = 0
    for pk, officer_id, office_id in people.iterator(chunk_size=5000):
        for _ in range(ACCESS_READS_PER_PERSON):
            reader = rng.choice([officer_id, officer_id, supervisors[office_id].pk, operator.pk])
            at = now - dt.timedelta(minutes=rng.randrange(90 * 24 * 60))
            reads.append(
                Read(at, reader, names[reader], pk, AccessAction.VIEW, "participant page",
                     f"/participants/{pk}/")
            )  # fmt: skip
        if len(reads) >= 20_000:
            total += history(reads)
            reads = []
    return total + history(reads)


def _broadcasts_write() -> int:
    from django.utils import timezone

    from ontrack.accounts.models import Role, User
    from ontrack.messaging.models import Broadcast, BroadcastStatus, Template

    template = Template.objects.order_by("pk").first()
    assert template is not None, "the seed installs the message templates"
    now = timezone.now()
    rows = [
        Broadcast(
            created_by=sender,
            office_id=sender.office_id,
            template=template,
            purpose="Office closed on the holiday: check in by app instead",
            audience={"officer": sender.pk} if sender.role == Role.OFFICER else {},
            status=BroadcastStatus.DONE,
            send_at=now - dt.timedelta(days=3 * n + 1),
            created_at=now - dt.timedelta(days=3 * n + 1),
            audience_size=400,
            expanded=400,
        )
        for sender in User.objects.filter(role__in=[Role.OFFICER, Role.SUPERVISOR])
        for n in range(BROADCASTS_PER_SENDER)
    ]
    return len(Broadcast.objects.bulk_create(rows))


def _queue_write() -> int:
    """The queue as a shift finds it: ``QUEUED_PER_1000`` alerts per thousand people raised
    over the last twelve hours (device alerts for wearers, missed check-ins for the others),
    past their grace; the operator has acknowledged a third. (The seed's alerts are all
    handled history: the demo's queue fills from its simulator.)"""
    from django.utils import timezone

    from ontrack.accounts.models import User
    from ontrack.alerts.models import Alert, AlertKind
    from ontrack.alerts.queries import QUEUE_STATUSES
    from ontrack.alerts.services import alert_acknowledge, alert_raise, alerts_promote_due
    from ontrack.participants.models import Participant, Status
    from ontrack.tracking.models import DeviceAssignment

    rng = random.Random(13)
    now = timezone.now()
    open_cases = list(
        Participant.objects.filter(status=Status.ACTIVE).order_by("pk").values_list("pk", flat=True)
    )
    wearers = dict(
        DeviceAssignment.objects.filter(ended_at__isnull=True).values_list(
            "participant_id", "device_id"
        )
    )
    device_kinds = [AlertKind.STRAP_TAMPER, AlertKind.LOW_BATTERY, AlertKind.MESSAGE_GAP]
    chosen = rng.sample(open_cases, len(open_cases) * QUEUED_PER_1000 // 1000)
    for pk in chosen:
        at = now - dt.timedelta(minutes=rng.randrange(30, 12 * 60))
        if pk in wearers:
            kind = rng.choice(device_kinds)
            source, device = f"device:{wearers[pk]}", wearers[pk]
        else:
            kind, source, device = AlertKind.MISSED_CHECKIN, f"bench:{pk}", None
        alert_raise(participant_id=pk, kind=kind, source=source, occurred_at=at, device_id=device,
                    now=at)  # fmt: skip
    alerts_promote_due(now=now)
    operator = User.objects.get(username=USERS["operator"])
    queued = Alert.objects.filter(participant_id__in=chosen, status__in=QUEUE_STATUSES)
    for alert_id in list(queued.values_list("pk", flat=True))[::3]:
        alert_acknowledge(user=operator, alert_id=alert_id)
    return queued.count()


EXTRAS: dict[str, Callable[[], int]] = {
    "positions": _positions_write,
    "access-log reads": _access_reads_write,
    "bulk messages": _broadcasts_write,
    "alerts in the queue": _queue_write,
}


# --- what each user opens -------------------------------------------------------------------


@dataclass
class Subjects:
    """Who and what of a user's own scope the per-person pages go round."""

    people: list[int]
    wearers: list[tuple[int, dt.datetime]] = field(default_factory=list)  # and when to look
    alerts: list[int] = field(default_factory=list)
    reviews: list[int] = field(default_factory=list)
    devices: list[int] = field(default_factory=list)
    office: int | None = None
    views: list[str] = field(default_factory=list)  # live map viewports (bbox) on a wearer


def _sample(rng: random.Random, values: Sequence[Any]) -> list[Any]:
    return rng.sample(list(values), min(PEOPLE, len(values)))


def subjects_for(user: Any, rng: random.Random) -> Subjects:
    from ontrack.alerts.queries import QUEUE_STATUSES, alerts_visible_to
    from ontrack.participants.models import Status
    from ontrack.participants.queries import participants_visible_to
    from ontrack.reviews.queries import reviews_visible_to
    from ontrack.tracking.models import DeviceAssignment, Position

    visible = participants_visible_to(user)
    if not user.reads_participants:
        return Subjects(people=[])
    tracked = set(Position.objects.values_list("participant_id", flat=True).distinct())
    worn = DeviceAssignment.objects.filter(ended_at__isnull=True, participant__in=visible)
    wearers = [
        (pk, fix - dt.timedelta(hours=2))
        for pk, fix in worn.values_list("participant_id", "device__last_fix_time")
        if pk in tracked
    ]
    alerts = alerts_visible_to(user)
    return Subjects(
        people=_sample(rng, visible.filter(status=Status.ACTIVE).values_list("pk", flat=True)),
        wearers=_sample(rng, wearers),
        # Half from the queue, half from the history a person's page links to.
        alerts=_sample(rng, alerts.filter(status__in=QUEUE_STATUSES).values_list("pk", flat=True))[
            : PEOPLE // 2
        ]
        + _sample(rng, alerts.values_list("pk", flat=True))[: PEOPLE // 2],
        reviews=_sample(rng, reviews_visible_to(user).values_list("pk", flat=True)),
        devices=_sample(rng, worn.values_list("device_id", flat=True)),
        office=user.office_id,
        views=[
            f"{lat - VIEW_DEGREES:.5f},{lon - VIEW_DEGREES:.5f},"
            f"{lat + VIEW_DEGREES:.5f},{lon + VIEW_DEGREES:.5f}"
            for lat, lon in _sample(
                rng,
                worn.filter(device__last_lat__isnull=False).values_list(
                    "device__last_lat", "device__last_lon"
                ),
            )
        ],
    )


@dataclass(frozen=True)
class Page:
    label: str
    urls: Callable[[Subjects], list[str]]
    htmx: bool = False  # requested as htmx's polling / swap asks for it


def _each(template: str, attribute: str) -> Callable[[Subjects], list[str]]:
    return lambda s: [template.format(x) for x in getattr(s, attribute)]


def _weekday() -> str:
    """The first weekday from today: the seed's check-ins fall on weekdays."""
    day = dt.datetime.now(dt.UTC).date()
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day.isoformat()


PAGES = [
    Page("caseload list, first page", lambda s: ["/participants/"]),
    Page("person's record", _each("/participants/{}/", "people")),
    Page("person's timeline", _each("/participants/{}/timeline/", "people")),
    Page("person's schedule panel (htmx)", _each("/schedule/participant/{}/panel/", "people")),
    Page("person's check-in record", _each("/schedule/participant/{}/", "people")),
    Page("person's messages", _each("/messaging/participants/{}/", "people")),
    Page("person's zones", _each("/zones/participant/{}/", "people")),
    Page(
        "person's track, a day",  # the office's day around two hours before the last fix
        lambda s: [
            f"/tracking/participants/{pk}/track/?{urlencode({'at': at.isoformat()})}"
            for pk, at in s.wearers
        ],
    ),
    Page("alert queue (triage desk)", lambda s: ["/alerts/"]),
    Page("alert queue, polling fragment", lambda s: ["/alerts/"], htmx=True),
    Page("alert detail", _each("/alerts/{}/", "alerts")),
    Page("live map page", lambda s: ["/tracking/map/"]),
    Page("live map positions (JSON)", lambda s: ["/tracking/map/positions.json"]),
    Page(
        "live map positions, a city's view (JSON)",  # as the map asks once zoomed in
        lambda s: [f"/tracking/map/positions.json?{urlencode({'bbox': v})}" for v in s.views],
    ),
    Page("devices list", lambda s: ["/tracking/devices/"]),
    Page("device detail", _each("/tracking/devices/{}/", "devices")),
    Page("schedule: a weekday", lambda s: [f"/schedule/today/?date={_weekday()}"]),
    Page(
        "schedule: office calendar",
        lambda s: [f"/schedule/offices/{s.office}/"] if s.office else [],
    ),
    Page("schedule: tasks", lambda s: ["/schedule/tasks/"]),
    Page("photo review", lambda s: ["/schedule/review/"]),
    Page("reviews queue", lambda s: ["/reviews/"]),
    Page("review detail", _each("/reviews/{}/", "reviews")),
    Page("messages: outbox", lambda s: ["/messaging/"]),
    Page("messages: inbox", lambda s: ["/messaging/inbox/"]),
    Page("bulk messages list", lambda s: ["/messaging/bulk/"]),
    Page("shared zones list", lambda s: ["/zones/shared/"]),
    Page("system status", lambda s: ["/status/"]),
]
AUDITOR_PAGES = [
    Page("access log", lambda s: ["/audit/"]),
    Page("access log, one participant", lambda s: [f"/audit/?participant={pk}" for pk in s.people]),
]
BASELINES = [
    Page("baseline: /healthz (no session)", lambda s: ["/healthz"]),
    Page("baseline: own account page", lambda s: ["/account/"]),
]


@dataclass
class Timing:
    median: float
    p95: float
    queries: int
    cpu_median: float  # of this process (SQLite's work included, PostgreSQL's not)


def page_time(client: Any, urls: list[str], rounds: int, htmx: bool) -> Timing | None:
    """``rounds`` requests going round ``urls``, after one (counted in queries, not timed)
    that warms templates and caches; None when the page is not open to this user."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if not urls:
        return None
    with CaptureQueriesContext(connection) as queries:
        first = client.get(urls[0], **headers)
    count = len(queries)  # now: the next request's start clears the log it reads
    if first.status_code in (403, 404):
        return None
    assert first.status_code == 200, (urls[0], first.status_code)
    timings, cpu = [], []
    for i in range(rounds):
        url = urls[i % len(urls)]
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(url, **headers)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return Timing(statistics.median(timings), p95(timings), count, statistics.median(cpu))


def measure(backend: str, participants: int, rounds: int, only: str) -> dict[str, Any]:
    import sqlite3

    seeded_s = demo_database(backend, participants)
    from django.db import connection

    from ontrack.accounts.models import User
    from ontrack.participants.models import Participant

    extras = extras_write()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    # What setting up left behind (the migration graph, the seeding's rows) stays out of the
    # collector's way, as in a server process, which holds none of it.
    gc.collect()
    gc.freeze()
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()[0]
    for role, username in USERS.items():
        user = User.objects.get(username=username)
        subjects = subjects_for(user, random.Random(f"{role}:{participants}"))
        client = signed_in(username)
        pages = AUDITOR_PAGES if role == "auditor" else [*BASELINES, *PAGES]
        if role == "auditor":  # whose reads the auditor looks up: anyone's
            subjects.people = subjects_for(
                User.objects.get(username=USERS["operator"]), random.Random(role)
            ).people
        for page in pages:
            if only and page not in BASELINES and not any(o in page.label for o in only.split(",")):
                continue
            timing = page_time(client, page.urls(subjects), rounds, page.htmx)
            if timing is not None:
                results.setdefault(page.label, {})[role] = timing.__dict__
                print(
                    f"{backend} {role:10s} {page.label:34s} median {timing.median:7.1f} "
                    f"p95 {timing.p95:7.1f} ms (cpu median {timing.cpu_median:6.1f}), "
                    f"{timing.queries} queries",
                    file=sys.stderr,
                    flush=True,
                )
    version = (
        f"SQLite {sqlite3.sqlite_version}"
        if connection.vendor == "sqlite"
        else "PostgreSQL {}.{}".format(
            *divmod(connection.cursor().connection.info.server_version, 10_000)
        )
    )
    return {
        "backend": backend,
        "version": version,
        "participants": Participant.objects.count(),
        "rounds": rounds,
        "seeded_s": seeded_s,
        "extras": extras,
        "pages": results,
        "load": [load_before, os.getloadavg()[0]],  # the machine's, over the last minute
    }


# --- the report -----------------------------------------------------------------------------


def _worst(result: dict[str, Any]) -> tuple[float, str]:
    return max(
        (timing["p95"], f"{label} ({role})")
        for label, roles in result["pages"].items()
        if not label.startswith("baseline")
        for role, timing in roles.items()
    )


def table(result: dict[str, Any]) -> list[str]:
    roles = [*COLUMNS, "auditor"]
    lines = [
        "| page | " + " | ".join(roles) + " |",
        "|---|" + "---:|" * len(roles),
    ]
    for label, by_role in result["pages"].items():
        cells = []
        for role in roles:
            t = by_role.get(role)
            if t is None:
                cells.append("")
                continue
            flag = " **over**" if t["p95"] > BUDGET_MS and not label.startswith("baseline") else ""
            cpu, queries = t["cpu_median"], t["queries"]
            cells.append(f"{t['median']:.0f} / {t['p95']:.0f}{flag} ({cpu:.0f}, {queries} q)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 participants, 10 requests")
    parser.add_argument("--participants", type=int)
    parser.add_argument("--rounds", type=int, help="requests per page and role")
    parser.add_argument(
        "--only", default="", help="pages whose label contains one of these (comma-separated)"
    )
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    participants = args.participants or (2_000 if args.quick else 100_000)
    rounds = args.rounds or (10 if args.quick else PEOPLE)
    if args.backend:
        answer(measure(args.backend, participants, rounds, args.only))
        return

    argv = ["--participants", str(participants), "--rounds", str(rounds), "--only", args.only]
    results = each_backend(__file__, argv, postgres=not args.no_postgres)
    today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "uv run python bench/pages.py" + (" --quick" if args.quick else "")
    report = [
        f"### Console pages, {today}",
        "",
        f"`{command}` on {machine()}; {rounds} requests per page and role; cells: median / p95 "
        "server time in ms (the process's CPU time, median, and the queries of one request); "
        f"**over**: p95 above {BUDGET_MS:.0f} ms.",
    ]
    for result in results:
        extras = ", ".join(f"{n:,} {what}" for what, n in result["extras"].items())
        report += [
            "",
            f"{result['backend']} ({result['version']}), {result['participants']:,} "
            f"participants (extras: {extras}); load average {result['load'][0]:.1f} at the "
            f"start, {result['load'][1]:.1f} at the end:",
            "",
            *table(result),
        ]
    first = results[0]
    worst, where = _worst(first)
    baseline = first["pages"]["baseline: own account page"]["officer"]["p95"]
    result_line = (
        f"RESULT pages_p95_max_ms={worst:.1f} ms baseline={baseline:.1f} "
        f"ratio={worst / baseline:.3f}"
    )
    report += ["", f"Worst on {first['backend']}: {where}.", "", f"`{result_line}`"]
    print("\n".join(report))
    print(result_line)


if __name__ == "__main__":
    main()
