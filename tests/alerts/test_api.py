"""The alerts API: the queue and its decisions over JSON, with the console's access rules."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.alerts.models import Alert, AlertStatus
from ontrack.alerts.services import alert_raise
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import Participant
from tests.staff_sign_in import verify_session

pytestmark = pytest.mark.django_db


def _api(user: User) -> Client:
    _, secret = api_token_create(user=user, name="test")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _alert(
    participant: Participant,
    kind: str = "strap_tamper",
    source: str = "device:1",
    minutes_ago: int = 0,
) -> Alert:
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    alert = alert_raise(participant_id=participant.pk, kind=kind, source=source, occurred_at=at)
    assert alert is not None, "the alert's rule is enabled"
    return alert


def test_the_list_filters_by_kind_priority_participant_and_officer(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    mine, other = make_participant(), make_participant()
    colleague = make_user(Role.OFFICER, username="omar")
    theirs = make_participant(officer=colleague)
    tamper = _alert(mine)
    _alert(other, kind="charger_not_connected")
    _alert(theirs)
    supervisor = _api(make_user(Role.SUPERVISOR))

    def ids(query: str) -> set[int]:
        body = supervisor.get(f"/api/alerts?{query}").json()
        return {row["id"] for row in body["results"]}

    assert ids(f"kind=strap_tamper&participant={mine.pk}") == {tamper.pk}
    assert ids("priority=1") == {Alert.objects.get(kind="charger_not_connected").pk}
    assert ids(f"officer={colleague.pk}") == {Alert.objects.get(participant=theirs).pk}
    assert len(ids("")) == 3


def test_the_list_is_paginated_and_logs_the_participants_it_returned(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    participants = [make_participant() for _ in range(3)]
    for n, p in enumerate(participants):
        _alert(p, minutes_ago=n)
    client = _api(officer)
    first = client.get("/api/alerts?page_size=2").json()
    second = client.get("/api/alerts", {"page_size": 2, "cursor": first["next"]}).json()
    assert (len(first["results"]), len(second["results"]), second["next"]) == (2, 1, None)
    assert second["results"][0]["participant_id"] == participants[2].pk, "the oldest, last"
    assert [r["participant_id"] for r in first["results"]] == [
        participants[0].pk,
        participants[1].pk,
    ], "newest first within the same priority"
    pages = AccessLogEntry.objects.filter(user=officer, action=AccessAction.LIST)
    assert pages.count() == 2, "one entry per page read"
    assert {pid for entry in pages for pid in entry.listed_ids} == {p.pk for p in participants}


def test_another_caseloads_alert_is_not_listed_read_or_changed(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    alert = _alert(make_participant())
    stranger = _api(make_user(Role.OFFICER, username="sam"))
    assert stranger.get("/api/alerts").json()["results"] == []
    assert stranger.get(f"/api/alerts/{alert.pk}").status_code == 404
    assert stranger.post(f"/api/alerts/{alert.pk}/acknowledge").status_code == 404
    response = stranger.post(
        f"/api/alerts/{alert.pk}/resolve",
        {"disposition": "false_alarm", "note": "no"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert Alert.objects.get().status == AlertStatus.OPEN


def test_an_unknown_status_or_kind_is_refused_not_ignored(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    _alert(make_participant())
    client = _api(officer)
    assert client.get("/api/alerts?status=opened").status_code == 422
    assert client.get("/api/alerts?kind=tamper").status_code == 422
    assert len(client.get("/api/alerts?status=open&kind=strap_tamper").json()["results"]) == 1


def test_an_auditor_may_not_read_alerts(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    _alert(make_participant())
    assert _api(make_user(Role.AUDITOR, username="aud")).get("/api/alerts").status_code == 403


def test_a_pending_alert_is_not_in_the_api(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    pending = _alert(make_participant(), kind="exclusion_zone_entry", source="zone:1")
    assert pending.status == AlertStatus.PENDING
    client = _api(officer)
    assert client.get("/api/alerts").json()["results"] == []
    assert client.get("/api/alerts?status=pending").status_code == 422, "not a status to ask for"
    assert client.get(f"/api/alerts/{pending.pk}").status_code == 404


def test_acknowledge_then_resolve_records_each_step_and_the_read_is_logged(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    alert = _alert(p)
    client = _api(officer)
    acknowledged = client.post(f"/api/alerts/{alert.pk}/acknowledge").json()
    assert acknowledged["status"] == "acknowledged"
    assert acknowledged["acknowledged_at"]
    resolved = client.post(
        f"/api/alerts/{alert.pk}/resolve",
        {"disposition": "equipment_fault", "note": "Strap clip replaced."},
        content_type="application/json",
    ).json()
    assert (resolved["status"], resolved["disposition"], resolved["resolved_by_id"]) == (
        "resolved",
        "equipment_fault",
        officer.pk,
    )
    detail = client.get(f"/api/alerts/{alert.pk}").json()
    assert [(s["to_status"], s["actor_id"]) for s in detail["steps"]] == [
        ("open", None),
        ("acknowledged", officer.pk),
        ("resolved", officer.pk),
    ]
    assert AccessLogEntry.objects.filter(
        user=officer, participant_id=p.pk, action=AccessAction.API_READ
    ).exists()


def test_acknowledging_twice_is_refused(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _alert(make_participant())
    client = _api(officer)
    client.post(f"/api/alerts/{alert.pk}/acknowledge")
    assert client.post(f"/api/alerts/{alert.pk}/acknowledge").status_code == 422


def test_a_confirmed_violation_without_a_note_is_refused(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alert = _alert(make_participant())
    response = _api(officer).post(
        f"/api/alerts/{alert.pk}/resolve",
        {"disposition": "confirmed_violation", "note": "  "},
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "note" in response.json()["detail"]
    alert.refresh_from_db()
    assert (alert.status, alert.disposition) == (AlertStatus.OPEN, "")


# --- zones (the other half of the API) ----------------------------------------------

HOME = {"type": "Circle", "center": [-74.0, 40.7], "radius_m": 150}
COURT = {
    "type": "Polygon",
    "coordinates": [[[-74.01, 40.71], [-74.0, 40.71], [-74.0, 40.72], [-74.01, 40.72],
                     [-74.01, 40.71]]],
}  # fmt: skip


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def test_an_officer_keeps_a_participants_zones_through_the_api(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    p = make_participant()
    client = _api(officer)
    created = _post(
        client,
        f"/api/participants/{p.pk}/zones",
        {"name": "Home", "kind": "inclusion", "geometry": HOME,
         "schedule": [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "20:00", "end": "06:00"}]},
    )  # fmt: skip
    assert created.status_code == 201
    zone_id = created.json()["id"]
    listed = client.get(f"/api/participants/{p.pk}/zones").json()
    assert [f["properties"]["name"] for f in listed["features"]] == ["Home"]
    updated = client.put(
        f"/api/zones/{zone_id}",
        {"name": "Home (new flat)", "kind": "inclusion", "geometry": HOME},
        content_type="application/json",
    ).json()
    assert (updated["properties"]["name"], updated["properties"]["version"]) == (
        "Home (new flat)",
        2,
    )
    assert client.get(f"/api/zones/{zone_id}").json()["properties"]["schedule"] == []
    assert AccessLogEntry.objects.filter(
        user=officer, participant_id=p.pk, action=AccessAction.API_READ, what=f"zone {zone_id}"
    ).exists(), "reading a participant's zone is logged"
    assert client.delete(f"/api/zones/{zone_id}").status_code == 204
    assert client.get(f"/api/participants/{p.pk}/zones").json()["features"] == []


def test_another_caseloads_zones_are_not_found(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    p = make_participant()
    zone_id = _post(
        _api(officer), f"/api/participants/{p.pk}/zones",
        {"name": "Home", "kind": "inclusion", "geometry": HOME},
    ).json()["id"]  # fmt: skip
    stranger = _api(make_user(Role.OFFICER, username="sam"))
    assert stranger.get(f"/api/participants/{p.pk}/zones").status_code == 404
    assert stranger.get(f"/api/zones/{zone_id}").status_code == 404
    assert stranger.delete(f"/api/zones/{zone_id}").status_code == 404
    body = {"name": "X", "kind": "exclusion", "geometry": HOME}
    assert _post(stranger, f"/api/participants/{p.pk}/zones", body).status_code == 404


def test_a_shared_zone_made_by_a_supervisor_is_attached_and_detached_by_the_officer(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    p = make_participant()
    supervisor = _api(make_user(Role.SUPERVISOR, username="sue"))
    court = _post(
        supervisor,
        "/api/zones/shared",
        {"name": "Courthouse", "kind": "exclusion", "geometry": COURT},
    )
    assert court.status_code == 201
    court_id = court.json()["id"]
    client = _api(officer)
    refused = _post(
        client, "/api/zones/shared", {"name": "Mine", "kind": "exclusion", "geometry": COURT}
    )
    assert refused.status_code == 403, "officers do not keep shared zones"
    assert [f["id"] for f in client.get("/api/zones/shared").json()["features"]] == [court_id]
    assert client.post(f"/api/participants/{p.pk}/zones/attached/{court_id}").status_code == 204
    features = client.get(f"/api/participants/{p.pk}/zones").json()["features"]
    assert [(f["id"], f["properties"]["shared"]) for f in features] == [(court_id, True)]
    assert client.delete(f"/api/participants/{p.pk}/zones/attached/{court_id}").status_code == 204
    assert client.get(f"/api/participants/{p.pk}/zones").json()["features"] == []


def test_an_operator_closes_false_alarms_but_never_records_a_violation(
    make_participant: Callable[..., Participant], make_user: Callable[..., User]
) -> None:
    operator = make_user(Role.OPERATOR, office=None)
    false_alarm, violation = _alert(make_participant()), _alert(make_participant())
    api = _api(operator)
    closed = api.post(
        f"/api/alerts/{false_alarm.pk}/resolve",
        {"disposition": "false_alarm", "note": "Strap reseated at the office."},
        content_type="application/json",
    )
    assert closed.status_code == 200
    assert closed.json()["status"] == "resolved"
    refused = api.post(
        f"/api/alerts/{violation.pk}/resolve",
        {"disposition": "confirmed_violation", "note": "Cut it."},
        content_type="application/json",
    )
    assert refused.status_code == 403
    assert Alert.objects.get(pk=violation.pk).status == AlertStatus.OPEN
    console = Client()
    console.force_login(operator)
    verify_session(console, operator)
    page = console.get(f"/alerts/{violation.pk}/").content.decode()
    assert 'value="false_alarm"' in page
    assert 'value="confirmed_violation"' not in page


def test_claim_assign_and_note_over_the_api_are_steps_and_the_holder_filters_the_list(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
) -> None:
    alert = _alert(make_participant())
    operator = make_user(Role.OPERATOR, office=None)
    client = _api(operator)
    claimed = client.post(f"/api/alerts/{alert.pk}/claim").json()
    assert claimed["assignee_id"] == operator.pk
    assert client.get("/api/alerts", {"holder": "mine"}).json()["results"][0]["id"] == alert.pk
    assert client.post(f"/api/alerts/{alert.pk}/claim").status_code == 422
    assigned = client.post(
        f"/api/alerts/{alert.pk}/assign", {"assignee_id": officer.pk},
        content_type="application/json",
    ).json()  # fmt: skip
    assert assigned["assignee_id"] == officer.pk
    noted = client.post(
        f"/api/alerts/{alert.pk}/notes", {"note": "Called the unit's SIM."},
        content_type="application/json",
    ).json()  # fmt: skip
    assert [(s["action"], s["to_status"], s["note"]) for s in noted["steps"]] == [
        ("status", "open", ""),
        ("claim", "open", ""),
        ("assign", "open", f"to {officer}"),
        ("note", "open", "Called the unit's SIM."),
    ]
    assert client.get("/api/alerts", {"holder": "unclaimed"}).json()["results"] == []
    assert client.get("/api/alerts", {"holder": "everyone"}).status_code == 422


def test_bulk_acknowledge_previews_then_acknowledges_each_with_the_reason(
    make_participant: Callable[..., Participant], officer: User
) -> None:
    alerts = [_alert(make_participant()) for _ in range(2)]
    ids = [a.pk for a in alerts]
    client = _api(officer)
    preview = _post(client, "/api/alerts/bulk-acknowledge", {"alert_ids": ids, "preview": True})
    assert preview.status_code == 200, preview.content
    assert preview.json()["acknowledged"] is False
    assert preview.json()["participant_count"] == 2
    assert {a["status"] for a in preview.json()["alerts"]} == {"open"}, "a preview changes nothing"
    reason = "One delivery batch of straps reports cuts falsely"
    done = _post(client, "/api/alerts/bulk-acknowledge", {"alert_ids": ids, "reason": reason})
    assert done.status_code == 200, done.content
    assert done.json()["kind"] == "strap_tamper"
    assert {a["status"] for a in done.json()["alerts"]} == {"acknowledged"}
    for alert in Alert.objects.filter(pk__in=ids):
        step = alert.steps.last()
        assert step is not None
        assert (step.to_status, step.actor, step.note) == ("acknowledged", officer, reason)
    logged = AccessLogEntry.objects.filter(what="API alerts acknowledged in bulk").get()
    assert sorted(logged.listed_ids) == sorted(a.participant_id for a in alerts)


def test_bulk_acknowledge_refuses_without_a_reason_mixed_kinds_or_anothers_alert(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], officer: User
) -> None:
    tamper = _alert(make_participant())
    battery = _alert(make_participant(), kind="charger_not_connected")
    client = _api(officer)
    url = "/api/alerts/bulk-acknowledge"
    assert _post(client, url, {"alert_ids": [tamper.pk]}).status_code == 422, "no reason"
    mixed = {"alert_ids": [tamper.pk, battery.pk], "reason": "batch"}
    assert _post(client, url, mixed).status_code == 422
    stranger = _api(make_user(Role.OFFICER, username="sam"))
    assert _post(stranger, url, {"alert_ids": [tamper.pk], "reason": "x"}).status_code == 404
    assert set(Alert.objects.values_list("status", flat=True)) == {"open"}
