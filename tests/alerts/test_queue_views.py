import datetime as dt

import pytest
from django.utils import timezone

from ontrack.accounts.models import Role
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.alerts.services import alert_raise
from ontrack.audit.models import AccessAction, AccessLogEntry

pytestmark = pytest.mark.django_db


def _open_alert(participant, kind="strap_tamper", source="device:1"):
    return alert_raise(
        participant_id=participant.pk, kind=kind, source=source, occurred_at=timezone.now()
    )


def test_the_queue_shows_open_alerts_highest_priority_first(make_participant, officer, client_for):
    p = make_participant()
    low = alert_raise(
        participant_id=p.pk,
        kind="charger_not_connected",
        source="device:1",
        occurred_at=timezone.now(),
    )
    high = _open_alert(p)
    page = client_for(officer).get("/alerts/").content.decode()
    assert page.index(f"/alerts/{high.pk}/") < page.index(f"/alerts/{low.pk}/")


def test_an_alert_within_grace_is_not_in_the_queue_yet(make_participant, officer, client_for):
    p = make_participant()
    pending = alert_raise(
        participant_id=p.pk, kind="exclusion_zone_entry", source="zone:1",
        occurred_at=timezone.now(),
    )  # fmt: skip
    assert pending.status == AlertStatus.PENDING
    assert f"/alerts/{pending.pk}/" not in client_for(officer).get("/alerts/").content.decode()


def test_the_polled_partial_brings_an_alert_raised_after_the_page_loaded(
    make_participant, officer, client_for
):
    client = client_for(officer)
    client.get("/alerts/")
    alert = _open_alert(make_participant())
    partial = client.get("/alerts/", HTTP_HX_REQUEST="true")
    assert f"/alerts/{alert.pk}/".encode() in partial.content
    assert b"<html" not in partial.content


def test_another_caseloads_alert_is_not_found(make_participant, make_user, client_for):
    alert = _open_alert(make_participant())
    stranger = client_for(make_user(Role.OFFICER))
    assert stranger.get(f"/alerts/{alert.pk}/").status_code == 404
    assert stranger.post(f"/alerts/{alert.pk}/acknowledge/").status_code == 404
    assert f"/alerts/{alert.pk}/" not in stranger.get("/alerts/").content.decode()


def test_acknowledge_then_resolve_from_the_alert_page(make_participant, officer, client_for):
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
    assert alert.acknowledged_at <= alert.closed_at <= timezone.now() + dt.timedelta(seconds=1)


def test_the_csv_export_has_the_filtered_alerts_and_is_logged(
    make_participant, officer, client_for
):
    p = make_participant()
    _open_alert(p)
    response = client_for(officer).get("/alerts/export.csv?kind=strap_tamper")
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[1].split(",")[1:3] == [p.case_number, "strap_tamper"]
    assert AccessLogEntry.objects.filter(
        action=AccessAction.EXPORT, participant_id=p.pk, user=officer
    ).exists()
