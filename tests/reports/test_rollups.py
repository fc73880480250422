"""The daily roll-ups: the dashboard's counts read from them equal the raw counts exactly,
for random as-of dates, ranges and readers; closed days really come from them; the jobs
that compute them are the worker's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable, Iterator

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition
from ontrack.messaging.models import Message, MessageStatus
from ontrack.operations.jobs import PERIODIC, jobs_load
from ontrack.participants.models import (
    EventKind,
    Hearing,
    HearingOutcome,
    Level,
    Participant,
    ParticipantEvent,
    Status,
    SupervisionPlan,
)
from ontrack.participants.services import (
    PlanData,
    participant_suspend,
    participant_transfer,
    plan_change,
)
from ontrack.reports.dashboard import (
    CENSUS_KEYS,
    CHECKINS,
    COUNTED_BUILDERS,
    MEASURES,
    RAW,
    DashboardScope,
    dashboard_table,
    raw_counts,
)
from ontrack.reports.models import DailyCount, RollupRun
from ontrack.reports.rollups import (
    ROLLED,
    rolled_counts,
    rollups_rebuild,
    rollups_refresh_recent,
)
from ontrack.reports.views import scope_from
from ontrack.schedule.models import CheckinWindow, Outcome

pytestmark = pytest.mark.django_db

DAYS = 12


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _instant(rng: random.Random, after: dt.datetime, now: dt.datetime) -> dt.datetime:
    """A moment between ``after`` and ``now``, now and then exactly on a midnight (the edge
    of the as-of rule)."""
    moment = after + (now - after) * rng.random()
    if rng.random() < 0.2:
        midnight = _midnight(moment.date())
        moment = midnight if midnight >= after else moment
    return moment


def _history(
    people: list[Participant],
    now: dt.datetime,
    rng: random.Random,
    *,
    count: int = 400,
    days: int = DAYS,
) -> None:
    """Windows, hearings, messages and alerts over the ``days`` before ``now``, each settled
    (outcome recorded, delivered, closed) at a random later moment up to now, or not yet."""
    first = _midnight(now.date()) - dt.timedelta(days=days)
    windows, hearings, messages, alerts = [], [], [], []
    outcomes = [o for o in Outcome.values if o != Outcome.EXCUSED]
    for n in range(count):
        person = rng.choice(people)
        at = _instant(rng, first, now)
        settled = _instant(rng, at, now) if rng.random() < 0.8 else None
        windows.append(CheckinWindow(
            participant=person, local_date=at.date(), opens_at=at,
            closes_at=at + dt.timedelta(hours=2), outcome=rng.choice(outcomes),
            outcome_at=settled,
        ))  # fmt: skip
        hearings.append(Hearing(
            participant=person, scheduled_at=at, time_zone="UTC", court="Court",
            kind="master_calendar", outcome=rng.choice(HearingOutcome.values),
            outcome_recorded_at=settled if rng.random() < 0.7 else None,
        ))  # fmt: skip
        messages.append(Message(
            participant=person, language=rng.choice(["en", "es", "ht"]), body="Reminder",
            purpose="reminder", created_at=at, send_at=at, status_at=settled or at,
            status=rng.choice(MessageStatus.values),
        ))  # fmt: skip
        visible = _instant(rng, at, now)
        status = rng.choice([AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED,
                             AlertStatus.AUTO_RESOLVED, AlertStatus.CANCELLED])  # fmt: skip
        closed = status in (AlertStatus.RESOLVED, AlertStatus.AUTO_RESOLVED, AlertStatus.CANCELLED)
        disposition: str = Disposition.CONFIRMED_VIOLATION
        while disposition == Disposition.CONFIRMED_VIOLATION:
            disposition = rng.choice(Disposition.values)
        closed_at = _instant(rng, visible, now) if closed else None
        acknowledged_at = None
        if status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED) and rng.random() < 0.9:
            acknowledged_at = _instant(rng, visible, closed_at or now)
            if rng.random() < 0.3:  # a whole number of minutes: the edge of a minute
                acknowledged_at = visible + dt.timedelta(minutes=rng.randint(0, 90))
        alerts.append(Alert(
            participant=person, kind=rng.choice(AlertKind.values), source=f"{first:%j}:{n}",
            priority=rng.randint(1, 4), status=status, occurred_at=at, raised_at=at,
            visible_at=visible, last_occurred_at=at, closed_at=closed_at,
            acknowledged_at=acknowledged_at,
            disposition=disposition if status == AlertStatus.RESOLVED else "",
        ))  # fmt: skip
    CheckinWindow.objects.bulk_create(windows)
    Hearing.objects.bulk_create(hearings)
    Message.objects.bulk_create(messages)
    Alert.objects.bulk_create(alerts)


def _case_history(person: Participant, now: dt.datetime, rng: random.Random) -> None:
    """After enrolment, status events at random later moments (activation, a suspension and
    reinstatement, a closure), a plan change, each written as the services write them; now
    and then a person imported without transition events, whose status is their own."""
    if rng.random() < 0.1:
        Participant.objects.filter(pk=person.pk).update(status=Status.ACTIVE)
        return
    at, status, closed_at = person.enrolled_at, Status.ENROLLED, None
    steps = [
        (EventKind.ACTIVATED, Status.ACTIVE, 0.8),
        (EventKind.SUSPENDED, Status.SUSPENDED, 0.4),
        (EventKind.REINSTATED, Status.ACTIVE, 0.5),
        (EventKind.CLOSED, Status.CLOSED, 0.3),
    ]
    for kind, then, chance in steps:
        if rng.random() < chance:
            at = _instant(rng, at, now)
            ParticipantEvent.objects.create(participant=person, at=at, kind=kind, summary=kind)
            status = then
            closed_at = at if kind == EventKind.CLOSED else None
    plan = SupervisionPlan.objects.get(participant=person)
    if rng.random() < 0.6:
        change = _instant(rng, person.enrolled_at, closed_at or now)
        SupervisionPlan.objects.filter(pk=plan.pk).update(effective_to=change)
        plan = SupervisionPlan.objects.create(
            participant=person, level=rng.choice(Level.values), gps_device=rng.random() < 0.3,
            app_checkins=rng.random() < 0.6, phone_checkins=rng.random() < 0.3,
            review_date=now.date(), effective_from=change,
        )  # fmt: skip
    if closed_at is not None:
        SupervisionPlan.objects.filter(pk=plan.pk).update(effective_to=closed_at)
    Participant.objects.filter(pk=person.pk).update(
        status=status, closed_at=closed_at,
        closure_reason="case_concluded" if closed_at else "",
    )  # fmt: skip


@pytest.fixture
def program_history(
    make_participant: Callable[..., Participant],
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
    officer: User,
) -> dict[str, User]:
    """Two offices, three officers, a supervisor and an administrator, and two weeks of
    random history for the people of each officer: their enrolments, status changes, plan
    versions and closures, and their windows, hearings, messages and alerts."""
    other_office = make_office()
    colleague = make_user(Role.OFFICER)
    far_officer = make_user(Role.OFFICER, office=other_office)
    now = timezone.now()
    rng = random.Random(18)
    people = [
        make_participant(officer=o, enrolled_at=_instant(rng, now - dt.timedelta(days=DAYS), now))
        for o in (officer, colleague, far_officer) * 5
    ]
    for person in people:
        _case_history(person, now, rng)
    _history(people, now, rng)
    return {
        "officer": officer,
        "far officer": far_officer,
        "supervisor": make_user(Role.SUPERVISOR),
        "administrator": make_user(Role.ADMINISTRATOR, office=None),
    }


def _readers_and_scopes(
    readers: dict[str, User], rng: random.Random, n: int
) -> Iterator[tuple[str, User, dict[str, str]]]:
    """Random readers with random ranges, as-of dates and office or officer filters."""
    today = timezone.now().astimezone(dt.UTC).date()
    offices = sorted({u.office_id for u in readers.values() if u.office_id})
    officers = sorted(u.pk for u in readers.values() if u.role == Role.OFFICER)
    for _ in range(n):
        name = rng.choice(sorted(readers))
        last = today - dt.timedelta(days=rng.randint(0, DAYS))
        params = {
            "from": (last - dt.timedelta(days=rng.randint(0, DAYS))).isoformat(),
            "to": last.isoformat(),
            "as_of": (today - dt.timedelta(days=rng.randint(0, DAYS + 2))).isoformat(),
        }
        if rng.random() < 0.3:
            params["office"] = str(rng.choice(offices))
        if rng.random() < 0.3:
            params["officer"] = str(rng.choice(officers))
        yield name, readers[name], params


def test_dashboard_tables_from_the_rollups_equal_the_raw_tables_for_random_as_of_dates(
    program_history: dict[str, User],
) -> None:
    rollups_rebuild()
    for name, reader, params in _readers_and_scopes(program_history, random.Random(2026), 40):
        scope = scope_from(_query(params))
        for key in (*CENSUS_KEYS, *COUNTED_BUILDERS):
            rolled = dashboard_table(reader, scope, key, ROLLED)
            raw = dashboard_table(reader, scope, key, RAW)
            assert rolled == raw, f"{key} for the {name} with {params}: roll-ups differ from raw"


def _query(params: dict[str, str]) -> QueryDict:
    query = QueryDict(mutable=True)
    query.update(params)
    return query


def test_closed_days_come_from_the_rollups_and_today_from_the_records(
    program_history: dict[str, User],
) -> None:
    """A window deleted after the roll-up still counts on its closed day (the roll-up is
    read, not the records), while today's windows are read live."""
    administrator = program_history["administrator"]
    rollups_rebuild()
    now = timezone.now()
    scope = DashboardScope(start=now - dt.timedelta(days=DAYS + 1), end=now, as_of=now)
    before = rolled_counts(administrator, scope, CHECKINS).total()
    yesterday = _midnight(now.date()) - dt.timedelta(days=1)
    today = CheckinWindow.objects.filter(opens_at__gte=_midnight(now.date())).count()
    gone, _ = CheckinWindow.objects.filter(opens_at__gte=yesterday, opens_at__lt=now).delete()
    assert gone > today, "the history has windows yesterday"
    assert rolled_counts(administrator, scope, CHECKINS).total() == before - today
    assert raw_counts(administrator, scope, CHECKINS).total() == before - gone


def test_without_any_rollup_every_count_comes_from_the_records(
    program_history: dict[str, User],
) -> None:
    administrator = program_history["administrator"]
    now = timezone.now()
    scope = DashboardScope(start=now - dt.timedelta(days=DAYS + 1), end=now, as_of=now)
    assert rolled_counts(administrator, scope, CHECKINS) == raw_counts(
        administrator, scope, CHECKINS
    )
    assert not RollupRun.objects.exists()


def test_the_hourly_job_recomputes_recent_days_and_builds_everything_the_first_time(
    program_history: dict[str, User],
) -> None:
    first = rollups_refresh_recent()
    assert first.first_day is None, "no roll-up yet: the whole history is computed"
    whole = DailyCount.objects.count()
    second = rollups_refresh_recent()
    assert second.first_day is not None
    assert DailyCount.objects.count() == whole, "recomputing recent days changes nothing"


def test_the_rollup_jobs_are_registered_periodic_jobs() -> None:
    jobs_load()
    assert {"reports_rollup_recent", "reports_rollup_nightly"} <= set(PERIODIC)


def test_an_instant_inside_a_past_day_is_counted_from_the_records(
    program_history: dict[str, User],
) -> None:
    administrator = program_history["administrator"]
    rollups_rebuild()
    now = timezone.now()
    scope = DashboardScope(
        start=_midnight(now.date()) - dt.timedelta(days=DAYS),
        end=now,
        as_of=_midnight(now.date()) - dt.timedelta(days=3, hours=5),
    )
    wider = dataclasses.replace(scope, as_of=now)
    for as_of_scope in (scope, wider):
        assert rolled_counts(administrator, as_of_scope, CHECKINS) == raw_counts(
            administrator, as_of_scope, CHECKINS
        )


def test_one_persons_counts_come_from_their_own_records_after_a_rollup(
    program_history: dict[str, User],
) -> None:
    """The roll-ups count per officer, never per person: a one-person scope (the compliance
    report's) is counted from the records, and is that person's share of the whole."""
    administrator = program_history["administrator"]
    rollups_rebuild()
    now = timezone.now()
    scope = DashboardScope(start=now - dt.timedelta(days=DAYS + 1), end=now, as_of=now)
    people = Participant.objects.order_by("pk").values_list("pk", flat=True)
    per_person = [
        rolled_counts(administrator, dataclasses.replace(scope, participant_id=pk), measure)
        for pk in people
        for measure in MEASURES
    ]
    assert sum(c.total() for c in per_person) == sum(
        rolled_counts(administrator, scope, measure).total() for measure in MEASURES
    )
    assert any(c.total() for c in per_person), "the history gives people records to count"


def test_the_census_counts_what_changed_since_the_rollup_as_the_records_say(
    program_history: dict[str, User], make_participant: Callable[..., Participant]
) -> None:
    """After the nightly roll-up: a transfer to the other office, a suspension, a plan
    change and an imported person enrolled days ago. The census as of today and as of any
    past day still equals the records' for every reader."""
    rollups_rebuild()
    administrator = program_history["administrator"]
    far_officer = program_history["far officer"]
    open_cases = Participant.objects.exclude(status=Status.CLOSED).order_by("pk")
    moved, suspended, replanned = (
        open_cases.filter(officer=program_history["officer"])[:1].get(),
        open_cases.exclude(status=Status.SUSPENDED)[1:2].get(),
        open_cases[2:3].get(),
    )
    participant_transfer(moved, actor=administrator, officer=far_officer)
    participant_suspend(suspended, actor=administrator, reason="In hospital")
    plan_change(
        replanned, actor=administrator, reason="Stepped up",
        plan=PlanData(level="intensive", review_date=timezone.localdate(), gps_device=True),
    )  # fmt: skip
    make_participant(enrolled_at=timezone.now() - dt.timedelta(days=5))

    checked = 0
    for name, reader, params in _readers_and_scopes(program_history, random.Random(7), 40):
        scope = scope_from(_query(params))
        for key in CENSUS_KEYS:
            rolled = dashboard_table(reader, scope, key, ROLLED)
            assert rolled == dashboard_table(reader, scope, key, RAW), (
                f"{key} for the {name} with {params}: roll-ups differ from the records"
            )
        checked += bool(rolled.total and rolled.total[1])
    assert checked > 10, "most of the scopes supervise someone"


def test_the_census_of_a_past_day_is_read_from_the_rollup(
    program_history: dict[str, User],
) -> None:
    """A record changed behind the services' back after the roll-up (an enrolment date
    moved to today) shows in the records at once, in a past day's census only after the
    next roll-up: that census was read from the roll-up."""
    administrator = program_history["administrator"]
    rollups_rebuild()
    now = timezone.now()
    yesterday = _midnight(now.date())
    scope = DashboardScope(start=yesterday - dt.timedelta(days=1), end=yesterday, as_of=yesterday)
    before = sum(row.count for row in ROLLED.census(administrator, scope))
    assert before == sum(row.count for row in RAW.census(administrator, scope))
    person = Participant.objects.filter(enrolled_at__lt=yesterday, closed_at__isnull=True)[0]
    Participant.objects.filter(pk=person.pk).update(enrolled_at=now)
    assert sum(row.count for row in RAW.census(administrator, scope)) == before - 1
    assert sum(row.count for row in ROLLED.census(administrator, scope)) == before
    rollups_rebuild()
    assert sum(row.count for row in ROLLED.census(administrator, scope)) == before - 1


def test_a_long_range_of_the_whole_program_reads_spans_of_days_and_equals_the_records(
    program_history: dict[str, User],
) -> None:
    """Alerts and windows over the last 200 days: the program's rows are summed per week,
    month and quarter, and a long range is counted from them (a day's rows deleted after
    the roll-up do not change a range that covers its whole quarter) with the records'
    numbers."""
    administrator = program_history["administrator"]
    people = list(Participant.objects.all())
    now = timezone.now()
    rng = random.Random(200)
    for day in range(200):
        first = _midnight(now.date()) - dt.timedelta(days=day + 1)
        _history(people, first + dt.timedelta(days=1), rng, count=5, days=1)
    rollups_rebuild()
    spans = set(DailyCount.objects.values_list("span", flat=True))
    assert spans == {"day", "week", "month", "quarter"}
    today = now.astimezone(dt.UTC).date()
    for _ in range(12):
        last = today - dt.timedelta(days=rng.randint(1, 30))
        params = {
            "from": (last - dt.timedelta(days=rng.randint(60, 190))).isoformat(),
            "to": last.isoformat(),
            "as_of": (last + dt.timedelta(days=rng.randint(0, 3))).isoformat(),
        }
        scope = scope_from(_query(params))
        for key in ("alerts", "checkins", "alert_outcomes"):
            assert dashboard_table(administrator, scope, key, ROLLED) == dashboard_table(
                administrator, scope, key, RAW
            ), f"{key} with {params}"

    quarter = DailyCount.objects.filter(span="quarter", level="program").order_by("day").first()
    assert quarter is not None
    start = _midnight(quarter.day)
    end = _midnight((quarter.day.replace(day=1) + dt.timedelta(days=95)).replace(day=1))
    scope = DashboardScope(start=start, end=end, as_of=_midnight(today))
    whole = rolled_counts(administrator, scope, CHECKINS)
    DailyCount.objects.filter(level="program", span="day", day=quarter.day).delete()
    assert rolled_counts(administrator, scope, CHECKINS) == whole


def test_the_page_names_the_rollups_its_numbers_come_from(
    program_history: dict[str, User], client_for: Callable[[User], Client]
) -> None:
    administrator = program_history["administrator"]
    client = client_for(administrator)
    assert "No roll-up has been computed yet" in client.get("/reports/").content.decode()
    run = rollups_rebuild()
    html = client.get("/reports/").content.decode()
    note = html[html.index('id="rollup"') : html.index("</p>", html.index('id="rollup"'))]
    assert f'<time datetime="{run.computed_at.isoformat()}' in note
    assert "alerts (their response times too)" in note
    assert "The supervised counts start from the roll-up of the whole history" in note
