"""The compliance report on one person: its numbers are the dashboard's for that person
(people's reports add up to their office's dashboard), its alerts say how each ended and who
decided, its weeks add up to its period, and its range is refused when impossible."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from ontrack.accounts.models import Role, User
from ontrack.accounts.templatetags.office_time import office_time
from ontrack.alerts.services import alert_acknowledge, alert_resolve, alerts_promote_due
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import HearingOutcome, Participant
from ontrack.participants.services import PlanData, hearing_add, hearing_update, plan_change
from ontrack.reports.compliance import (
    ComplianceReport,
    compliance_report,
    report_days_check,
    report_period,
)
from ontrack.reports.dashboard import (
    Table,
    alert_outcomes_table,
    checkins_table,
    hearings_table,
)
from ontrack.schedule.models import CheckinWindow
from ontrack.schedule.services import (
    checkin_submit,
    checkin_technical_failure,
    missed_checkins_mark,
    window_adhoc,
)
from ontrack.zones.services import ZoneData, zone_create
from tests.support import photo_bytes, raised_alert, total_row

pytestmark = pytest.mark.django_db

PHOTO = photo_bytes()
ClientFor = Callable[[User], Client]
DAYS = 28


def _window(person: Participant, officer: User, opens_at: dt.datetime) -> CheckinWindow:
    return window_adhoc(
        person, actor=officer, opens_at=opens_at, closes_at=opens_at + dt.timedelta(hours=2),
        now=opens_at - dt.timedelta(hours=1),
    )  # fmt: skip


def _kept(person: Participant, window: CheckinWindow, ref: str) -> None:
    at = window.opens_at + dt.timedelta(minutes=5)
    checkin_submit(
        participant=person, client_ref=ref, attempted_at=at, photo=PHOTO,
        photo_content_type="image/jpeg", lat=None, lon=None, accuracy_m=None, now=at,
    )  # fmt: skip


def _history(person: Participant, officer: User, *, seed: int) -> None:
    """Check-ins kept, missed (which raises an alert) and failed, a hearing attended, and
    alerts: one resolved by the officer as an equipment fault, one left open, over the last
    four weeks."""
    noon = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    for n in range(seed + 2):
        _kept(person, _window(person, officer, noon - dt.timedelta(days=20 - n)), f"k{seed}{n}")
    missed = _window(person, officer, noon - dt.timedelta(days=10))
    missed_checkins_mark(now=missed.closes_at + dt.timedelta(hours=1))
    failed = _window(person, officer, noon - dt.timedelta(days=9))
    checkin_technical_failure(
        participant=person, client_ref=f"f{seed}", attempted_at=failed.opens_at,
        reason="camera", now=failed.opens_at,
    )  # fmt: skip
    hearing = hearing_add(
        person, actor=officer, scheduled_at=noon - dt.timedelta(days=5),
        court="Newark Immigration Court", kind="master_calendar",
    )  # fmt: skip
    hearing_update(hearing, actor=officer, outcome=HearingOutcome.ATTENDED)
    for hours, kind in ((200, "strap_tamper"), (100, "sos")):
        at = noon - dt.timedelta(hours=hours)
        raised_alert(participant_id=person.pk, kind=kind, source="device:1", occurred_at=at, now=at)
    alerts_promote_due(now=noon - dt.timedelta(hours=90))
    tamper = person.alerts.get(kind="strap_tamper")
    alert_acknowledge(user=officer, alert_id=tamper.pk, now=noon - dt.timedelta(hours=190))
    alert_resolve(
        user=officer, alert_id=tamper.pk, disposition="equipment_fault",
        note="Strap replaced at the office", now=noon - dt.timedelta(hours=180),
    )  # fmt: skip


def _report(user: User, person: Participant) -> ComplianceReport:
    today = timezone.now().date()
    return compliance_report(
        user, person, first=today - dt.timedelta(days=DAYS), last=today, now=timezone.now()
    )


def _counts(table: Table, column: int = 1) -> dict[str, Any]:
    """A count table's counts by row label (and "total"), from its ``column``."""
    return {str(row[0]): row[column] for row in table.rows} | {"total": total_row(table)[column]}


@pytest.fixture
def people(make_participant: Callable[..., Participant], officer: User) -> list[Participant]:
    folks = [make_participant(), make_participant()]
    for seed, person in enumerate(folks):
        _history(person, officer, seed=seed)
    return folks


def test_the_reports_of_an_offices_people_add_up_to_its_dashboard(
    people: list[Participant], officer: User
) -> None:
    reports = [_report(officer, person) for person in people]
    office_scope = dataclasses.replace(
        reports[0].scope, participant_id=None, office_id=people[0].office_id
    )
    for name, build, column in (
        ("checkins", checkins_table, 1),
        ("hearings", hearings_table, 1),
        ("alert_outcomes", alert_outcomes_table, 2),
    ):
        office = _counts(build(officer, office_scope), column)
        summed = {
            key: sum(_counts(getattr(report, name), column)[key] for report in reports)
            for key in office
        }
        assert summed == office, f"the people's {name} do not add up to the office's"
    assert _counts(reports[0].checkins) == {
        "On time": 2, "Late": 0, "Missed": 1, "Excused": 0, "Technical failure": 1, "Due": 0,
        "total": 4,
    }  # fmt: skip


def test_the_weeks_add_up_to_the_period(people: list[Participant], officer: User) -> None:
    report = _report(officer, people[1])
    assert len(report.weeks) == 5, "29 days: four whole weeks and one day"
    for label, n in _counts(report.checkins).items():
        if label != "total":
            assert sum(week.counts[label] for week in report.weeks) == n, label


def test_each_alert_says_how_it_ended_and_who_decided(
    people: list[Participant], officer: User
) -> None:
    report = _report(officer, people[0])
    assert [(a.kind, a.outcome, a.decided_by, a.note) for a in report.alerts] == [
        ("Missed check-in", "Open", "", ""),
        ("Strap tamper", "Equipment fault", str(officer), "Strap replaced at the office"),
        ("SOS", "Open", "", ""),
    ]
    assert total_row(report.alert_outcomes)[2] == len(report.alerts)


def test_the_plan_versions_in_force_during_the_period_are_listed(
    people: list[Participant], officer: User
) -> None:
    review = timezone.localdate() + dt.timedelta(days=90)
    plan_change(
        people[0], actor=officer, plan=PlanData(level="high", review_date=review),
        reason="Missed a check-in",
    )  # fmt: skip
    report = _report(officer, people[0])
    assert [(p.level, p.effective_to is None, p.reason) for p in report.plans] == [
        ("Standard", False, "Initial plan"),
        ("High", True, "Missed a check-in"),
    ]


def test_another_officers_report_on_the_person_counts_nothing(
    people: list[Participant], make_user: Callable[..., User]
) -> None:
    """The counts start from what the reader may see, as the dashboard's do (the view's gate
    refuses them first; the numbers never leak either way)."""
    stranger = make_user(Role.OFFICER)
    assert total_row(_report(stranger, people[0]).checkins)[1] == 0


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        (dt.date(2026, 3, 10), dt.date(2026, 3, 9), "before its first day"),
        (dt.date(2025, 1, 1), dt.date(2026, 3, 1), "at most 366 days"),
        (dt.date(2026, 12, 1), dt.date(2026, 12, 31), "not come yet"),
    ],
)
def test_an_impossible_range_is_refused_saying_why(
    first: dt.date, last: dt.date, message: str
) -> None:
    now = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
    with pytest.raises(ValidationError, match=message):
        report_days_check(first, last, now=now)


def test_the_period_is_the_offices_calendar_days_across_a_clock_change() -> None:
    start, end = report_period(
        dt.date(2026, 3, 8), dt.date(2026, 3, 8), time_zone="America/New_York"
    )
    assert start == dt.datetime(2026, 3, 8, 5, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23), "the day the clocks go forward"


def _pdf_text(content: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text().split()) for page in PdfReader(BytesIO(content)).pages
    )


def _download(client: Client, pk: int, **fields: str) -> Any:
    """The person page's report form, posted with the last four weeks unless told."""
    today = timezone.now().date()
    data = {
        "from": f"{today - dt.timedelta(days=DAYS):%Y-%m-%d}",
        "to": f"{today:%Y-%m-%d}",
        "purpose": "Hearing on 2027-01-12, case 24-1187",
        **fields,
    }
    return client.post(reverse("reports:participant_compliance_pdf", args=[pk]), data)


def test_the_officer_downloads_a_signed_off_pdf_with_the_persons_numbers(
    people: list[Participant], officer: User, client_for: ClientFor
) -> None:
    person = people[0]
    ring = [[-74.18, 40.73], [-74.17, 40.73], [-74.17, 40.74], [-74.18, 40.73]]
    zone_create(
        actor=officer, participant=person,
        data=ZoneData(name="Home", kind="inclusion", geometry={"type": "Polygon",
                      "coordinates": [ring]}),
    )  # fmt: skip
    response = _download(client_for(officer), person.pk)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert person.full_name in text
    assert person.case_number in text
    assert "On time 2 50.0 %" in text
    assert "Missed 1 25.0 %" in text
    assert "Technical failure 1 25.0 %" in text
    assert "Equipment fault" in text
    assert "Strap replaced at the office" in text
    assert "Zones: Home." in text
    tamper = person.alerts.get(kind="strap_tamper")
    assert office_time(tamper.occurred_at, "America/New_York") in text, "the office's clock"
    assert re.search(r"\d\d:\d\d E[SD]T", text), "times carry the zone's abbreviation"
    assert f"Prepared by {officer}, " in text
    entry = AccessLogEntry.objects.filter(action=AccessAction.EXPORT).get()
    assert "compliance report PDF" in entry.what
    assert "signed off" in entry.what
    assert "Hearing on 2027-01-12" in entry.what
    assert entry.participant_id == person.pk


def test_out_of_scope_answers_as_a_missing_person(
    people: list[Participant], make_user: Callable[..., User], client_for: ClientFor
) -> None:
    client = client_for(make_user(Role.OFFICER))
    assert _download(client, people[0].pk).status_code == 404
    assert _download(client, 987_654).status_code == 404
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_an_operator_who_may_read_the_person_may_not_sign_off_a_report(
    people: list[Participant], make_user: Callable[..., User], client_for: ClientFor
) -> None:
    assert _download(client_for(make_user(Role.OPERATOR)), people[0].pk).status_code == 403


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"from": "2026-02-30"}, "first day as a date"),
        ({"to": ""}, "last day as a date"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "before its first day"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "at most 366 days"),
        ({"from": "2999-01-01", "to": "2999-01-02"}, "not come yet"),
        ({"purpose": "  "}, "State why"),
    ],
)
def test_an_impossible_request_is_a_400_saying_why_and_logs_nothing(
    people: list[Participant],
    officer: User,
    client_for: ClientFor,
    fields: dict[str, str],
    message: str,
) -> None:
    response = _download(client_for(officer), people[0].pk, **fields)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_the_persons_page_offers_the_report_to_their_officer(
    people: list[Participant], officer: User, client_for: ClientFor
) -> None:
    page = client_for(officer).get(reverse("participants:detail", args=[people[0].pk]))
    action = reverse("reports:participant_compliance_pdf", args=[people[0].pk])
    assert f'action="{action}"' in page.content.decode()
