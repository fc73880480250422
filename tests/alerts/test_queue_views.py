import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.alerts.queries import alert_counts, alert_officers_for, alerts_visible_to
from ontrack.alerts.services import alert_resolve
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import Participant
from tests.support import raised_alert, sqlite_plans

pytestmark = pytest.mark.django_db


def _open_alert(
    participant: Participant, kind: str = "strap_tamper", source: str = "device:1"
) -> Alert:
    return raised_alert(
        participant_id=participant.pk, kind=kind, source=source, occurred_at=timezone.now()
    )


def test_the_queue_shows_open_alerts_highest_priority_first(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    low = raised_alert(
        participant_id=p.pk,
        kind="charger_not_connected",
        source="device:1",
        occurred_at=timezone.now(),
    )
    high = _open_alert(p)
    page = client_for(officer).get("/alerts/").content.decode()
    assert page.index(f"/alerts/{high.pk}/") < page.index(f"/alerts/{low.pk}/")


def test_an_alert_within_grace_is_not_in_the_queue_yet(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    pending = raised_alert(
        participant_id=p.pk, kind="exclusion_zone_entry", source="zone:1",
        occurred_at=timezone.now(),
    )  # fmt: skip
    assert pending.status == AlertStatus.PENDING
    assert f"/alerts/{pending.pk}/" not in client_for(officer).get("/alerts/").content.decode()


def test_the_polled_partial_brings_an_alert_raised_after_the_page_loaded(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(officer)
    client.get("/alerts/")
    alert = _open_alert(make_participant())
    partial = client.get("/alerts/", HTTP_HX_REQUEST="true")
    assert f"/alerts/{alert.pk}/".encode() in partial.content
    assert b"<html" not in partial.content


def test_another_caseloads_alert_is_not_found(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    alert = _open_alert(make_participant())
    stranger = client_for(make_user(Role.OFFICER))
    assert stranger.get(f"/alerts/{alert.pk}/").status_code == 404
    assert stranger.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert f"/alerts/{alert.pk}/" not in stranger.get("/alerts/").content.decode()


def test_acknowledge_then_resolve_from_the_alert_page(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    alert = _open_alert(make_participant())
    client = client_for(officer)
    client.post(f"/alerts/{alert.pk}/acknowledge/")
    client.post(f"/alerts/{alert.pk}/resolve/", {"disposition": "false_alarm", "note": ""})
    assert Alert.objects.get().status == AlertStatus.ACKNOWLEDGED, "a resolution needs a note"
    client.post(
        f"/alerts/{alert.pk}/resolve/",
        {"disposition": "equipment_fault", "note": "Loose strap clip; replaced."},
    )
    alert.refresh_from_db()
    assert (alert.status, alert.disposition, alert.resolved_by) == (
        AlertStatus.RESOLVED,
        "equipment_fault",
        officer,
    )
    assert alert.acknowledged_at is not None
    assert alert.closed_at is not None
    assert alert.acknowledged_at <= alert.closed_at <= timezone.now() + dt.timedelta(seconds=1)


def test_the_csv_export_has_the_filtered_alerts_with_who_resolved_them_and_logs_the_purpose(
    make_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    alert = _open_alert(p)
    _open_alert(p, kind="sos", source="device:2")
    alert_resolve(user=officer, alert_id=alert.pk, disposition="other", note="Clip, not a cut.")
    supervisor = make_user(Role.SUPERVISOR)
    response = client_for(supervisor).post(
        "/alerts/export.csv?status=resolved&kind=strap_tamper",
        {"purpose": "quarterly equipment review"},
    )
    lines = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert len(lines) == 1, "only the filtered alerts"
    row = lines[0]
    assert (row["case_number"], row["kind"], row["source"]) == (
        p.case_number,
        "strap_tamper",
        "device:1",
    )
    assert (row["resolved_by"], row["resolution_note"]) == (officer.username, "Clip, not a cut.")
    assert row["raised_at"]
    assert row["visible_at"]
    entry = AccessLogEntry.objects.get(action=AccessAction.EXPORT, participant_id=p.pk)
    assert entry.user == supervisor
    assert "quarterly equipment review" in entry.what


def test_the_csv_export_needs_a_post_and_a_stated_purpose(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    _open_alert(make_participant())
    client = client_for(make_user(Role.SUPERVISOR))
    assert client.get("/alerts/export.csv").status_code == 405
    response = client.post("/alerts/export.csv?kind=sos", {"purpose": "  "})
    assert response.status_code == 302
    assert response["Location"] == "/alerts/?kind=sos"
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_an_officer_may_not_export_the_alert_list(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    _open_alert(make_participant())
    client = client_for(officer)
    response = client.post("/alerts/export.csv", {"purpose": "I would like a copy please"})
    assert response.status_code == 403
    assert "Export CSV" not in client.get("/alerts/").content.decode()
    assert not AccessLogEntry.objects.filter(action=AccessAction.EXPORT).exists()


def test_a_supervisor_filters_the_queue_by_the_officers_of_their_office_only(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    colleague = make_user(Role.OFFICER, username="carlos")
    elsewhere = make_user(Role.OFFICER, office=make_office("Trenton"), username="tomasz")
    mine = _open_alert(make_participant())
    theirs = _open_alert(make_participant(officer=colleague))
    make_participant(officer=elsewhere)
    client = client_for(make_user(Role.SUPERVISOR))

    page = client.get("/alerts/").content.decode()
    select = page[page.index('name="officer"') :].split("</select>")[0]
    assert f'value="{officer.pk}"' in select
    assert f'value="{colleague.pk}"' in select
    assert f'value="{elsewhere.pk}"' not in select, "only officers the supervisor may see"

    filtered = client.get(f"/alerts/?officer={colleague.pk}").content.decode()
    assert f"/alerts/{theirs.pk}/" in filtered
    assert f"/alerts/{mine.pk}/" not in filtered
    assert f'<option value="{colleague.pk}" selected>' in filtered


def test_the_queue_counts_what_stands_in_it_and_what_closed_in_the_last_day(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    now = timezone.now()
    _open_alert(p)
    for kind, closed_hours_ago, status in [
        ("low_battery", 2, AlertStatus.RESOLVED),
        ("gps_lost", 3, AlertStatus.AUTO_RESOLVED),
        ("message_gap", 30, AlertStatus.RESOLVED),  # yesterday's shift's
    ]:
        alert = _open_alert(p, kind=kind, source=f"device:{kind}")
        Alert.objects.filter(pk=alert.pk).update(
            status=status, closed_at=now - dt.timedelta(hours=closed_hours_ago)
        )

    assert alert_counts(alerts_visible_to(officer), now=now) == {
        "open": 1,
        "resolved": 1,
        "auto_resolved": 1,
    }
    page = client_for(officer).get("/alerts/").content.decode()
    assert (
        "Open 1 · acknowledged 0 · in the last 24 hours: resolved 1 · cleared by itself 1" in page
    )


def test_the_queue_counts_read_the_queue_and_the_last_day_not_every_alert_ever(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    """Counted by status over all of a caseload's alerts, they cost a second a poll at
    100,000 participants on SQLite (bench/pages.py)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's choice of index; PostgreSQL chooses by its statistics")
    _open_alert(make_participant())

    with CaptureQueriesContext(connection) as queries:
        alert_counts(alerts_visible_to(officer), now=timezone.now())

    plans = sqlite_plans(queries, 'COUNT("alerts_alert"."id")')
    assert len(plans) == 2
    assert "(status=?)" in plans[0], plans[0]
    assert "(status=? AND closed_at>? AND closed_at<?)" in plans[1], plans[1]


def test_a_supervisors_officer_filter_reads_the_offices_officers_from_an_index_alone(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    """Reading each person's row of the office for their officer took 85 ms an office of
    17,000 on SQLite (bench/pages.py), on the queue, the day's schedule and the caseload."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's choice of index; PostgreSQL chooses by its statistics")
    participant = make_participant()
    supervisor = make_user(Role.SUPERVISOR)

    with CaptureQueriesContext(connection) as queries:
        officers = list(alert_officers_for(supervisor))

    assert officers == [participant.officer]
    (plan,) = sqlite_plans(queries, 'FROM "accounts_user"')
    assert "COVERING INDEX participant_office_officer (office_id=?)" in plan, plan


def test_the_queue_scopes_alerts_by_a_join_on_their_person_not_a_list_of_everyone_in_scope(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    """``participant_id IN (SELECT id FROM participants ...)`` had PostgreSQL read everyone
    in scope for each of the queue's queries: 169 ms an operator's queue at 100,000
    participants (bench/pages.py)."""
    here = _open_alert(make_participant())
    elsewhere = make_user(Role.OFFICER, office=make_office("Trenton"))
    there = _open_alert(make_participant(officer=elsewhere))
    for user, shown in [
        (make_user(Role.SUPERVISOR), {here.pk}),
        (make_user(Role.OPERATOR, office=None), {here.pk, there.pk}),
    ]:
        with CaptureQueriesContext(connection) as queries:
            page = client_for(user).get("/alerts/")
        assert {a.pk for a in page.context["page"]} == shown
        alert_queries = [q["sql"] for q in queries if 'FROM "alerts_alert"' in q["sql"]]
        assert len(alert_queries) >= 3  # the page, its count, the counts by status
        assert not [sql for sql in alert_queries if 'FROM "participants_participant" U0' in sql]
