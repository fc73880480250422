"""The supervisors' weekly summary e-mail: when a week is due, the dashboard's numbers for
the supervisor's office and week, one e-mail per supervisor and week with its PDF, opt-out,
and no e-mail address."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.services import alert_acknowledge
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.messaging.models import Message, MessageAttachment
from ontrack.operations.jobs import PERIODIC, jobs_load
from ontrack.participants.models import Participant
from ontrack.reports.dashboard import RAW, dashboard_table
from ontrack.reports.models import SupervisorSummary
from ontrack.reports.rollups import ROLLED, rollups_rebuild
from ontrack.reports.weekly_summary import (
    SUMMARY_TABLES,
    summary_week_due,
    weekly_summaries_send,
    weekly_summary,
    weekly_summary_send,
)
from ontrack.schedule.services import (
    checkin_technical_failure,
    missed_checkins_mark,
    window_adhoc,
)
from tests.support import raised_alert

NEW_YORK = "America/New_York"
EASTERN = zoneinfo.ZoneInfo(NEW_YORK)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), EASTERN)


def test_a_week_is_due_from_monday_seven_on_the_offices_clock() -> None:
    monday = dt.date(2026, 11, 30)
    before = _at(monday, 6, 59)
    after = _at(monday, 7, 0)

    def due(now: dt.datetime) -> dt.date:
        return summary_week_due(now, time_zone=NEW_YORK, weekday=0, hour=7)

    assert due(after) == dt.date(2026, 11, 23), "last week, from 07:00"
    assert due(before) == dt.date(2026, 11, 16), "before 07:00: the week before"
    assert due(_at(dt.date(2026, 12, 6), 23)) == dt.date(2026, 11, 23), "all week long"
    assert due(after.astimezone(dt.UTC)) == dt.date(2026, 11, 23), "the office's clock, not UTC"


def test_the_due_week_follows_a_later_weekday_and_a_dst_change() -> None:
    # Sunday 2026-11-01 02:00 the clocks went back: the Monday after is still a Monday.
    assert summary_week_due(
        _at(dt.date(2026, 11, 5), 9), time_zone=NEW_YORK, weekday=3, hour=9
    ) == dt.date(2026, 10, 26)
    assert summary_week_due(
        _at(dt.date(2026, 11, 5), 8), time_zone=NEW_YORK, weekday=3, hour=9
    ) == dt.date(2026, 10, 19)


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    user = make_user(Role.SUPERVISOR, username="sam")
    user.email = "sam@example.org"
    user.save(update_fields=["email"])
    return user


def _due_week(office: Office, now: dt.datetime) -> dt.date:
    return summary_week_due(now, time_zone=office.time_zone, weekday=0, hour=7)


def _week_of_records(
    office: Office, officer: User, person: Participant, now: dt.datetime
) -> dt.date:
    """In the week due at ``now``: a missed window, a technical failure, and an alert
    acknowledged after 4 minutes; and a missed window the week before."""
    monday = _due_week(office, now)
    for opens in (_at(monday, 10), _at(monday - dt.timedelta(days=7), 10)):
        window_adhoc(
            person, actor=officer, opens_at=opens, closes_at=opens + dt.timedelta(hours=2),
            now=opens - dt.timedelta(hours=1),
        )  # fmt: skip
    failed_at = _at(monday + dt.timedelta(days=2), 10)
    failed = window_adhoc(
        person, actor=officer, opens_at=failed_at, closes_at=failed_at + dt.timedelta(hours=2),
        now=failed_at - dt.timedelta(hours=1),
    )  # fmt: skip
    checkin_technical_failure(
        participant=person, client_ref="c", attempted_at=failed.opens_at + dt.timedelta(minutes=1),
        reason="camera", now=failed.opens_at + dt.timedelta(minutes=1),
    )  # fmt: skip
    missed_checkins_mark(now=_at(monday + dt.timedelta(days=6), 12))
    occurred = _at(monday + dt.timedelta(days=3), 15)
    alert = raised_alert(
        participant_id=person.pk, kind="sos", source="device:1", occurred_at=occurred,
        now=occurred,
    )  # fmt: skip
    alert_acknowledge(user=officer, alert_id=alert.pk, now=occurred + dt.timedelta(minutes=4))
    return monday


@pytest.mark.django_db
def test_the_summary_holds_the_dashboards_numbers_for_the_office_and_week(
    supervisor: User,
    officer: User,
    make_participant: Callable[..., Participant],
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
) -> None:
    now = timezone.now()
    office = supervisor.office
    assert office is not None
    person = make_participant()
    monday = _week_of_records(office, officer, person, now)
    elsewhere = make_office("Trenton")
    colleague = make_user(Role.OFFICER, office=elsewhere)
    _week_of_records(elsewhere, colleague, make_participant(officer=colleague), now)
    rollups_rebuild()  # the closed days come from the roll-ups, as on the dashboard page

    summary = weekly_summary(supervisor, first_day=monday, now=now)

    assert summary.scope.office_id == office.pk
    for key in SUMMARY_TABLES:
        for source in (RAW, ROLLED):
            dashboard = dashboard_table(supervisor, summary.scope, key, source)
            assert summary.tables[key].rows == dashboard.rows, f"{key} is the dashboard's table"
            assert summary.tables[key].total == dashboard.total
    checkins = {str(row[0]): row[1] for row in summary.tables["checkins"].rows}
    assert checkins["Missed"] == 1, "the other office's and the previous week's are not counted"
    assert checkins["Technical failure"] == 1
    alerts = summary.tables["alerts"]
    assert alerts.total is not None
    assert dict(alerts.chart) == {"Missed check-in": 1, "SOS": 1}, alerts.chart
    assert alerts.total[3:5] == [1, 0], "one acknowledged, none resolved"
    assert alerts.total[7] == "4 min", "the median time to acknowledge"
    assert [week.counts["Missed"] for week in summary.weeks][-2:] == [1, 1]


@pytest.mark.django_db
def test_each_supervisor_gets_one_email_a_week_with_the_pdf_and_no_names(
    supervisor: User, officer: User, make_participant: Callable[..., Participant]
) -> None:
    now = timezone.now()
    office = supervisor.office
    assert office is not None
    person = make_participant()
    monday = _week_of_records(office, officer, person, now)

    assert weekly_summaries_send(now=now) == 1
    assert weekly_summaries_send(now=now + dt.timedelta(hours=1)) == 0, "never twice a week"
    assert weekly_summary_send(supervisor, now=now) is None

    (record,) = SupervisorSummary.objects.filter(supervisor=supervisor)
    assert record.week == monday
    message = record.message
    assert message is not None
    assert (message.to, message.channel) == ("sam@example.org", "email")
    assert message.body.startswith(f"Weekly summary of Newark: {monday:%Y-%m-%d} to")
    assert "Missed 1" in message.body
    assert "Technical failure 1" in message.body
    assert person.family_name not in message.body
    assert person.case_number not in message.body
    (attachment,) = MessageAttachment.objects.filter(message=message)
    assert attachment.content_type == "application/pdf"
    assert bytes(attachment.content).startswith(b"%PDF")
    logged = AccessLogEntry.objects.get(user=supervisor, what__startswith="weekly summary e-mail")
    assert logged.action == AccessAction.LIST


@pytest.mark.django_db
def test_the_database_holds_one_summary_per_supervisor_and_week(supervisor: User) -> None:
    """What keeps two workers running the job at once from both sending it."""
    assert supervisor.office is not None
    week = {"supervisor": supervisor, "week": dt.date(2026, 11, 23), "office": supervisor.office}
    SupervisorSummary.objects.create(**week, created_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        SupervisorSummary.objects.create(**week, created_at=timezone.now())


@pytest.mark.django_db
def test_a_supervisor_who_opted_out_gets_none(supervisor: User) -> None:
    supervisor.weekly_summary = False
    supervisor.save(update_fields=["weekly_summary"])
    assert weekly_summaries_send(now=timezone.now()) == 0
    assert not Message.objects.exists()


@pytest.mark.django_db
def test_a_supervisor_without_an_email_address_is_skipped_with_a_log_line(
    supervisor: User, caplog: pytest.LogCaptureFixture
) -> None:
    supervisor.email = ""
    supervisor.save(update_fields=["email"])
    with caplog.at_level(logging.INFO, logger="ontrack.reports.weekly_summary"):
        assert weekly_summaries_send(now=timezone.now()) == 0
    assert f"weekly summary not sent supervisor={supervisor.pk}" in caplog.text
    assert "reason=no_email" in caplog.text
    assert not SupervisorSummary.objects.exists(), "sent once an address is added"


@pytest.mark.django_db
def test_officers_get_no_weekly_summary(officer: User) -> None:
    officer.email = "olivia@example.org"
    officer.save(update_fields=["email"])
    assert weekly_summaries_send(now=timezone.now()) == 0


def test_the_weekly_summary_job_is_registered() -> None:
    jobs_load()
    assert "reports_weekly_summaries" in PERIODIC


@pytest.mark.django_db
def test_a_supervisor_opts_out_on_their_account_page(
    supervisor: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(supervisor)
    page = client.get("/account/")
    assert b'name="weekly_summary"' in page.content
    saved = client.post("/account/", {"email": "sam@example.org", "phone": ""})
    assert saved.status_code == 302
    supervisor.refresh_from_db()
    assert supervisor.weekly_summary is False, "an unticked box opts out"


@pytest.mark.django_db
def test_an_officers_account_page_offers_no_weekly_summary(
    officer: User, client_for: Callable[[User], Client]
) -> None:
    assert b'name="weekly_summary"' not in client_for(officer).get("/account/").content
