"""The daily roll-ups: the dashboard's counts read from them equal the raw counts exactly,
for random as-of dates, ranges and readers; closed days really come from them; the jobs
that compute them are the worker's."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable

import pytest
from django.http import QueryDict
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, Disposition
from ontrack.messaging.models import Message, MessageStatus
from ontrack.operations.jobs import PERIODIC, jobs_load
from ontrack.participants.models import Hearing, HearingOutcome, Participant
from ontrack.reports.dashboard import (
    CHECKINS,
    COUNTED_BUILDERS,
    MEASURES,
    DashboardScope,
    dashboard_table,
    raw_counts,
)
from ontrack.reports.models import DailyCount, RollupRun
from ontrack.reports.rollups import rolled_counts, rollups_rebuild, rollups_refresh_recent
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


def _history(people: list[Participant], now: dt.datetime, rng: random.Random) -> None:
    """Windows, hearings, messages and alerts over the last days, each settled (outcome
    recorded, delivered, closed) at a random later moment up to now, or not yet."""
    first = _midnight(now.date()) - dt.timedelta(days=DAYS)
    windows, hearings, messages, alerts = [], [], [], []
    outcomes = [o for o in Outcome.values if o != Outcome.EXCUSED]
    for n in range(400):
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
        alerts.append(Alert(
            participant=person, kind=rng.choice(AlertKind.values), source=f"test:{n}",
            priority=rng.randint(1, 4), status=status, occurred_at=at, raised_at=at,
            visible_at=visible, last_occurred_at=at,
            closed_at=_instant(rng, visible, now) if closed else None,
            disposition=disposition if status == AlertStatus.RESOLVED else "",
        ))  # fmt: skip
    CheckinWindow.objects.bulk_create(windows)
    Hearing.objects.bulk_create(hearings)
    Message.objects.bulk_create(messages)
    Alert.objects.bulk_create(alerts)


@pytest.fixture
def program_history(
    make_participant: Callable[..., Participant],
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
    officer: User,
) -> dict[str, User]:
    """Two offices, three officers, a supervisor and an administrator, and two weeks of
    random history for the people of each officer."""
    other_office = make_office()
    colleague = make_user(Role.OFFICER)
    far_officer = make_user(Role.OFFICER, office=other_office)
    people = [make_participant(officer=o) for o in (officer, colleague, far_officer) * 3]
    _history(people, timezone.now(), random.Random(18))
    return {
        "officer": officer,
        "far officer": far_officer,
        "supervisor": make_user(Role.SUPERVISOR),
        "administrator": make_user(Role.ADMINISTRATOR, office=None),
    }


def test_dashboard_counts_from_the_rollups_equal_the_raw_counts_for_random_as_of_dates(
    program_history: dict[str, User],
) -> None:
    rollups_rebuild()
    rng = random.Random(2026)
    today = timezone.now().astimezone(dt.UTC).date()
    offices = sorted({u.office_id for u in program_history.values() if u.office_id})
    officers = sorted(u.pk for u in program_history.values() if u.role == Role.OFFICER)
    for _ in range(40):
        name = rng.choice(sorted(program_history))
        reader = program_history[name]
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
        scope = scope_from(_query(params))
        for key in COUNTED_BUILDERS:
            rolled = dashboard_table(reader, scope, key, rolled_counts)
            raw = dashboard_table(reader, scope, key, raw_counts)
            assert rolled == raw, f"{key} for the {name} with {params}: roll-ups differ from raw"


def _query(params: dict[str, str]) -> QueryDict:
    from django.http import QueryDict

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
