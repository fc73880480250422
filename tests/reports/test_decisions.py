"""The dashboard's count of decisions: how alerts ended and who decided (overturned versus
upheld versus cleared by itself), supervision reviews by origin and outcome, and adverse
closures by the person who decided them; each reconciled against records made here."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alert_clear, alert_raise, alert_resolve
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData, participant_close
from ontrack.reports.dashboard import (
    DashboardScope,
    Table,
    adverse_closures_table,
    alert_outcomes_table,
    alerts_table,
    reviews_table,
)
from ontrack.reviews.models import ReviewOrigin
from ontrack.reviews.services import review_decide, review_request_submit
from ontrack.schedule import services as schedule_services
from tests.support import opened_review, photo_bytes, total_row

pytestmark = pytest.mark.django_db
JPEG = photo_bytes()


def _scope(*, days_back: int = 30, as_of: dt.datetime | None = None) -> DashboardScope:
    now = timezone.now()
    return DashboardScope(
        start=now - dt.timedelta(days=days_back),
        end=now + dt.timedelta(minutes=1),
        as_of=as_of or now + dt.timedelta(seconds=1),
    )


def _rows(table: Table) -> dict[str, list[Any]]:
    return {str(row[0]): row[1:] for row in table.rows}


def _sos(person: Participant, n: int, at: dt.datetime) -> Alert:
    alert = alert_raise(
        participant_id=person.pk, kind="sos", source=f"device:{n}", occurred_at=at, now=at
    )
    assert alert is not None, "the alert's rule is enabled"
    return alert


@pytest.fixture
def decided_alerts(make_participant: Callable[..., Participant], officer: User) -> dt.datetime:
    """Seven SOS alerts two days ago: one confirmed violation, two false alarms, one
    equipment fault, one excused, one that cleared by itself and one still open. The
    resolutions happen an hour after the alerts."""
    person = make_participant()
    at = timezone.now() - dt.timedelta(days=2)
    decisions = ["confirmed_violation", "false_alarm", "false_alarm", "equipment_fault", "excused"]
    for n, disposition in enumerate(decisions, start=1):
        alert = _sos(person, n, at)
        alert_resolve(
            user=officer, alert_id=alert.pk, disposition=disposition,
            note="Called the participant", now=at + dt.timedelta(hours=1),
        )  # fmt: skip
    _sos(person, 6, at)
    alert_clear(
        participant_id=person.pk, kind="sos", source="device:6",
        cleared_at=at + dt.timedelta(minutes=30),
    )  # fmt: skip
    _sos(person, 7, at)
    return at


def test_alert_outcomes_count_each_disposition_and_who_decided(
    decided_alerts: dt.datetime, officer: User
) -> None:
    table = alert_outcomes_table(officer, _scope())
    rows = _rows(table)
    assert rows["Confirmed violation"][:2] == ["A person (named)", 1]
    assert rows["False alarm"][1] == 2
    assert rows["Equipment fault"][1] == 1
    assert rows["Excused"][1] == 1
    assert rows["Other"][1] == 0
    assert rows["Cleared by itself"][:2] == ["Nobody: the condition ended", 1]
    assert rows["Still open"][1] == 1
    assert total_row(table)[2] == 7


def test_overturned_alerts_are_those_a_person_set_aside_not_those_that_cleared(
    decided_alerts: dt.datetime, officer: User
) -> None:
    note = alert_outcomes_table(officer, _scope()).note
    assert "Decided by a person: 5." in note
    assert (
        "Overturned (resolved by a person as a false alarm, an equipment fault or excused): 4"
        in note
    )
    assert "(80.0 % of the decisions)" in note
    assert "confirmed violation: 1" in note


def test_alert_outcomes_reconcile_with_the_alerts_table(
    decided_alerts: dt.datetime, officer: User
) -> None:
    outcomes = alert_outcomes_table(officer, _scope())
    alerts = alerts_table(officer, _scope())
    assert total_row(outcomes)[2] == total_row(alerts)[2]
    assert sum(row[2] for row in outcomes.rows) == total_row(outcomes)[2]


def test_alert_decisions_taken_after_as_of_count_as_open(
    decided_alerts: dt.datetime, officer: User
) -> None:
    then = alert_outcomes_table(officer, _scope(as_of=decided_alerts + dt.timedelta(minutes=45)))
    rows = _rows(then)
    assert sum(rows[d][1] for d in ("Confirmed violation", "False alarm", "Excused")) == 0
    assert rows["Cleared by itself"][1] == 1, "it cleared after 30 minutes"
    assert rows["Still open"][1] == 6


def _plan(review_date: dt.date | None = None) -> PlanData:
    return PlanData(
        level="standard", review_date=review_date or timezone.localdate(), gps_device=True
    )


def _clean_record(participant: Participant, weeks: int = 8) -> None:
    """Weekly windows in the past, each checked into on time: a record that proposes a
    step-down."""
    start = timezone.now() - dt.timedelta(weeks=weeks + 1)
    for week in range(weeks):
        opens = start + dt.timedelta(weeks=week)
        schedule_services.window_adhoc(
            participant, actor=SYSTEM, opens_at=opens, closes_at=opens + dt.timedelta(hours=12),
            now=opens - dt.timedelta(minutes=1),
        )  # fmt: skip
        schedule_services.checkin_submit(
            participant=participant, client_ref=f"week-{week}",
            attempted_at=opens + dt.timedelta(hours=1), photo=JPEG,
            photo_content_type="image/jpeg", lat=40.73, lon=-74.17, accuracy_m=10,
            now=opens + dt.timedelta(hours=1),
        )  # fmt: skip


def test_reviews_are_counted_by_origin_and_decision(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    stepped = make_participant(plan=_plan())
    _clean_record(stepped)
    review = opened_review(stepped, origin=ReviewOrigin.REVIEW_DATE)
    review_decide(user=supervisor, review_id=review.pk, step_down=True, reason="Clean record.")
    kept = opened_review(make_participant(plan=_plan()), origin=ReviewOrigin.REVIEW_DATE)
    review_decide(user=supervisor, review_id=kept.pk, step_down=False, reason="Too early.")
    asked = make_participant(plan=_plan(review_date=timezone.localdate() + dt.timedelta(days=60)))
    review_request_submit(participant=asked, reason="Please review my level.")
    asked_and_kept = make_participant(
        plan=_plan(review_date=timezone.localdate() + dt.timedelta(days=60))
    )
    review_request_submit(participant=asked_and_kept, reason="I work nights now.")
    review_decide(
        user=supervisor,
        review_id=asked_and_kept.supervision_reviews.get().pk,
        step_down=False,
        reason="Reviewed with the officer.",
    )

    table = reviews_table(supervisor, _scope())
    rows = _rows(table)
    assert table.columns == ["Opened because", "Reviews", "Stepped down", "Kept as it is",
                             "Waiting for a decision"]  # fmt: skip
    assert rows["Plan review date reached"] == [2, 1, 1, 0]
    assert rows["Participant's request"] == [2, 0, 1, 1]
    assert table.total == ["Total", 4, 1, 2, 1]


def test_review_decided_after_as_of_counts_as_waiting(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    supervisor = make_user(Role.SUPERVISOR)
    opened = timezone.now() - dt.timedelta(days=3)
    review = opened_review(
        make_participant(plan=_plan()), origin=ReviewOrigin.REVIEW_DATE, now=opened
    )
    review_decide(user=supervisor, review_id=review.pk, step_down=False, reason="Too early.")
    then = reviews_table(supervisor, _scope(as_of=opened + dt.timedelta(days=1)))
    assert _rows(then)["Plan review date reached"] == [1, 0, 0, 1]


def test_adverse_closures_name_who_decided_them(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    supervisor = make_user(Role.SUPERVISOR, username="sam")
    for reason, actor in (("absconded", officer), ("absconded", officer),
                          ("detained", supervisor), ("case_concluded", officer)):  # fmt: skip
        participant_close(
            make_participant(), actor=actor, reason=reason, note="Warrant confirmed by ICE"
        )
    table = adverse_closures_table(supervisor, _scope())
    assert table.columns == [
        "Decided by", "Absconded", "Departed / removed", "Detained", "Closures"
    ]  # fmt: skip
    assert table.rows == [[str(officer), 2, 0, 0, 2], [str(supervisor), 0, 0, 1, 1]]
    assert table.total == ["Total", 2, 0, 1, 3], "a concluded case is not adverse"


def test_decision_tables_download_as_csv(
    decided_alerts: dt.datetime, officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get("/reports/alert_outcomes.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Outcome", "Decided by", "Alerts", "Share"]
    assert ["False alarm", "A person (named)", "2", "28.6 %"] in rows
    for key in ("reviews", "adverse_closures"):
        assert client_for(officer).get(f"/reports/{key}.csv").status_code == 200
