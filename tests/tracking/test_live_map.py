"""The live map's positions endpoint and page, through the real HTTP client: who is on it
(exactly the caseload's scope), how each wearer is coloured (open alerts, staleness), and
the access-log row every answer writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.alerts.models import AlertKind, AlertStatus
from ontrack.alerts.services import alert_raise
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.tracking.live_map import LiveMapFilter, live_map_wearers
from ontrack.tracking.models import Device
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services.devices import device_assign
from ontrack.tracking.services.directory import device_directory
from ontrack.tracking.services.ingest import store_batch
from tests.support import sqlite_plans

pytestmark = pytest.mark.django_db

URL = "/tracking/map/positions.json"
Wear = Callable[..., Participant]


@pytest.fixture
def wear(make_device: Callable[..., Device], make_gps_participant: Wear) -> Wear:
    """A participant fitted with a device two hours ago whose last fix (stored through the
    gateway's own ``store_batch``) was ``minutes_ago`` minutes ago; ``None``: no fix yet."""

    def make(
        *, lat: float = 40.7357, lon: float = -74.1724, minutes_ago: int | None = 2, **fields: Any
    ) -> Participant:
        device = make_device()
        participant = make_gps_participant(**fields)
        now = timezone.now()
        device_assign(device, participant, actor=SYSTEM, at=now - dt.timedelta(hours=2))
        if minutes_ago is not None:
            info = device_directory()[device.identifier]
            fix = Fix(device.identifier, now - dt.timedelta(minutes=minutes_ago), lat, lon)
            store_batch([(info, fix)], received_at=now)
        return participant

    return make


def _positions(client: Client, **params: str) -> dict[str, Any]:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "private, no-store"
    body: dict[str, Any] = response.json()
    return body


def _ids(body: dict[str, Any]) -> set[int]:
    return {w["id"] for w in body["wearers"]}


def test_an_officer_sees_their_own_wearers_and_a_supervisor_the_office(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    colleague = make_user(Role.OFFICER)
    elsewhere = make_user(Role.OFFICER, office=make_office("Trenton"))
    mine = {wear().pk, wear().pk}
    theirs = wear(officer=colleague).pk
    far = wear(officer=elsewhere).pk

    assert _ids(_positions(client_for(officer))) == mine
    supervisor = make_user(Role.SUPERVISOR)
    assert _ids(_positions(client_for(supervisor))) == mine | {theirs}
    operator = make_user(Role.OPERATOR, office=None)
    assert _ids(_positions(client_for(operator), office="all")) == mine | {theirs, far}


def test_an_operators_map_opens_on_one_office_and_the_filter_offers_every_office(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    """7,500 wearers over six offices were 350 ms an answer at 100,000 participants: a map
    over every office opens on one, their own or else the first by name."""
    newark = wear().pk
    trenton = make_office("Trenton")
    far = wear(officer=make_user(Role.OFFICER, office=trenton)).pk
    everywhere = client_for(make_user(Role.OPERATOR, office=None))
    assert _ids(_positions(everywhere)) == {newark}  # Newark before Trenton
    assert _ids(_positions(everywhere, office=str(trenton.pk))) == {far}
    assert _ids(_positions(everywhere, office="all")) == {newark, far}
    assert _ids(_positions(client_for(make_user(Role.OPERATOR, office=trenton)))) == {far}
    html = everywhere.get("/tracking/map/").content.decode()
    assert '<option value="all" >All offices</option>' in html
    assert f'<option value="{officer.office_id}" selected>Newark</option>' in html
    html = everywhere.get("/tracking/map/?office=all").content.decode()
    assert '<option value="all" selected>All offices</option>' in html


def test_a_viewport_holds_the_wearers_placed_in_it_and_those_without_a_position(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    newark = wear(lat=40.73, lon=-74.17).pk
    denver = wear(lat=39.74, lon=-104.99).pk
    never = wear(minutes_ago=None).pk
    wear(lat=40.74, lon=-74.18, officer=make_user(Role.OFFICER))  # a colleague's, in view
    client = client_for(officer)
    before = AccessLogEntry.objects.count()

    body = _positions(client, bbox="40.5,-74.5,41,-73.5")

    assert _ids(body) == {newark, never}
    # The scope's counts and bounds, whatever the view: the map fits them when it opens.
    assert body["scope"] == {"wearers": 3, "placed": 2, "bounds": [39.74, -104.99, 40.73, -74.17]}
    (row,) = AccessLogEntry.objects.order_by("id")[before:]
    assert {int(i) for i in row.participant_ids.strip(",").split(",")} == {newark, never}
    whole = _positions(client)
    assert _ids(whole) == {newark, denver, never}
    assert whole["scope"] == body["scope"]
    assert _ids(_positions(client, bbox="-10,-10,10,10")) == {never}


def test_a_viewport_never_shows_anyone_outside_ones_scope(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    wear(lat=40.73, lon=-74.17, officer=make_user(Role.OFFICER))
    wear(lat=40.72, lon=-74.16, minutes_ago=None, officer=make_user(Role.OFFICER))
    trenton = make_user(Role.OFFICER, office=make_office("Trenton"))
    wear(lat=40.22, lon=-74.76, officer=trenton)
    client = client_for(officer)
    for params in ({}, {"office": "all"}, {"officer": str(trenton.pk)}):
        body = _positions(client, bbox="-90,-180,90,180", **params)
        assert body["wearers"] == []
        assert body["scope"] == {"wearers": 0, "placed": 0, "bounds": None}
    supervisor = client_for(make_user(Role.SUPERVISOR))
    assert len(_positions(supervisor, bbox="40,-75,41,-74", office="all")["wearers"]) == 2


def test_filters_outside_ones_scope_find_nobody_and_within_it_narrow(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    make_office: Callable[..., Office],
    client_for: Callable[[User], Client],
) -> None:
    colleague = make_user(Role.OFFICER)
    trenton = make_office("Trenton")
    mine = wear().pk  # a GPS plan here is "intensive"
    theirs = wear(officer=colleague).pk
    wear(officer=make_user(Role.OFFICER, office=trenton))
    client = client_for(officer)
    # Another officer's or office's id does not widen an officer's map: nobody.
    assert _positions(client, officer=str(colleague.pk))["wearers"] == []
    assert _positions(client, office=str(trenton.pk))["wearers"] == []
    supervisor = client_for(make_user(Role.SUPERVISOR))
    assert _ids(_positions(supervisor, officer=str(colleague.pk))) == {theirs}
    assert _ids(_positions(supervisor, office=str(trenton.pk))) == set()
    assert _ids(_positions(supervisor, level="intensive", officer=str(officer.pk))) == {mine}
    assert _ids(_positions(supervisor, level="low")) == set()
    assert _ids(_positions(supervisor, office="", officer="", level="")) == {mine, theirs}


@pytest.mark.parametrize(
    "params",
    [
        {"office": "abc"},
        {"officer": "-3"},
        {"level": "severe"},
        {"office": "9" * 40},
        {"bbox": "40,-75,41"},
        {"bbox": "north,-75,41,-74"},
        {"bbox": "41,-75,40,-74"},  # south above north
        {"bbox": "40,-74,41,-75"},  # west east of east
        {"bbox": "40,-75,91,-74"},
        {"bbox": "nan,-75,41,-74"},
        {"bbox": "40,-75,41,inf"},
        {"bbox": "1" * 200},
    ],
)
def test_malformed_filters_are_a_clear_400(
    params: dict[str, str], officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert client.get("/tracking/map/", params).status_code == 400


def test_each_answer_writes_one_list_row_naming_everyone_shown(
    wear: Wear,
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    shown = {wear().pk, wear(minutes_ago=None).pk}
    wear(officer=make_user(Role.OFFICER))
    client = client_for(officer)
    before = AccessLogEntry.objects.count()
    _positions(client)
    _positions(client)
    rows = list(AccessLogEntry.objects.order_by("id")[before:])
    assert len(rows) == 2  # one per request: the page polls, and each poll is a read
    for row in rows:
        assert row.action == "list"
        assert row.what == "live map: last positions"
        assert row.path == URL
        assert {int(i) for i in row.participant_ids.strip(",").split(",")} == shown
    # An empty answer reads nobody and writes nothing.
    _positions(client, level="minimal")
    assert AccessLogEntry.objects.count() == before + 2


def test_wearers_are_coloured_by_open_alerts_then_staleness(
    wear: Wear, officer: User, client_for: Callable[[User], Client]
) -> None:
    now = timezone.now()
    current = wear(minutes_ago=3)
    stale = wear(minutes_ago=45)
    urgent = wear(minutes_ago=45)
    alerted = wear(minutes_ago=3)
    in_grace = wear(minutes_ago=3)
    never = wear(minutes_ago=None)
    tamper = alert_raise(
        participant_id=urgent.pk, kind=AlertKind.STRAP_TAMPER, source="device:1", occurred_at=now
    )
    charger = alert_raise(
        participant_id=alerted.pk,
        kind=AlertKind.CHARGER_NOT_CONNECTED,
        source="device:2",
        occurred_at=now,
    )
    pending = alert_raise(
        participant_id=in_grace.pk,
        kind=AlertKind.EXCLUSION_ZONE_ENTRY,
        source="zone:1",
        occurred_at=now,
    )
    assert tamper is not None
    assert charger is not None
    assert pending is not None
    assert (tamper.status, charger.status, pending.status) == ("open", "open", "pending")

    body = _positions(client_for(officer))
    assert body["stale_after_minutes"] == 30
    by_id = {w["id"]: w for w in body["wearers"]}
    assert by_id[current.pk]["state"] == "current"
    assert by_id[current.pk]["stale"] is False
    assert by_id[current.pk]["minutes_since_fix"] == 3
    assert by_id[stale.pk]["state"] == "stale"
    assert by_id[stale.pk]["stale"] is True
    assert by_id[urgent.pk]["state"] == "urgent"
    assert (by_id[urgent.pk]["open_alerts"], by_id[urgent.pk]["top_priority"]) == (1, 4)
    assert by_id[urgent.pk]["stale"] is True  # an alert colours it; staleness is still said
    assert by_id[alerted.pk]["state"] == "alert"
    assert (by_id[alerted.pk]["open_alerts"], by_id[alerted.pk]["top_priority"]) == (1, 1)
    # An alert still in its grace period asks nobody to act yet.
    assert (by_id[in_grace.pk]["state"], by_id[in_grace.pk]["open_alerts"]) == ("current", 0)
    assert by_id[never.pk]["state"] == "stale"
    assert (by_id[never.pk]["lat"], by_id[never.pk]["fix_time"]) == (None, None)
    # Worst first: the order a person reads the list in.
    states = [w["state"] for w in body["wearers"]]
    assert states == sorted(states, key=["urgent", "alert", "stale", "current"].index)
    # A resolved alert no longer colours anyone.
    charger.status = AlertStatus.RESOLVED
    charger.save(update_fields=["status"])
    assert {w["id"]: w for w in _positions(client_for(officer))["wearers"]}[alerted.pk][
        "state"
    ] == "current"


def test_a_wearer_is_placed_at_their_own_last_fix_with_a_link_to_them(
    wear: Wear, officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = wear(lat=40.75, lon=-74.01, minutes_ago=1)
    (w,) = _positions(client_for(officer))["wearers"]
    assert (w["lat"], w["lon"]) == (40.75, -74.01)
    assert w["url"] == f"/participants/{participant.pk}/"
    assert w["name"] == participant.full_name
    assert w["case_number"] == participant.case_number
    assert dt.datetime.fromisoformat(w["fix_time"]) < timezone.now()


def test_times_are_shown_on_the_offices_clock_with_its_abbreviation(
    wear: Wear, officer: User, client_for: Callable[[User], Client]
) -> None:
    wear(minutes_ago=1)
    body = _positions(client_for(officer))
    (w,) = body["wearers"]
    fix = dt.datetime.fromisoformat(w["fix_time"]).astimezone(ZoneInfo("America/New_York"))
    assert w["fix_time_text"] == f"{fix:%Y-%m-%d %H:%M} {fix.tzname()}"
    assert body["generated_at_text"].endswith((" EST", " EDT"))
    wear(minutes_ago=None)
    texts = {w["fix_time_text"] for w in _positions(client_for(officer))["wearers"]}
    assert "never" in texts


def test_a_unit_handed_on_does_not_place_its_new_wearer_at_the_last_wearers_position(
    make_device: Callable[..., Device],
    make_gps_participant: Wear,
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    from ontrack.tracking.services.devices import device_unassign

    device = make_device()
    first, second = make_gps_participant(), make_gps_participant()
    now = timezone.now()
    device_assign(device, first, actor=SYSTEM, at=now - dt.timedelta(hours=3))
    info = device_directory()[device.identifier]
    store_batch(
        [(info, Fix(device.identifier, now - dt.timedelta(hours=2), 40.7, -74.1))],
        received_at=now,
    )
    device_unassign(device, actor=SYSTEM, reason="swap", at=now - dt.timedelta(hours=1))
    device_assign(device, second, actor=SYSTEM, at=now - dt.timedelta(minutes=50))
    (w,) = _positions(client_for(officer))["wearers"]
    assert w["id"] == second.pk
    assert (w["lat"], w["lon"], w["fix_time"]) == (None, None, None)


def test_the_answer_costs_the_same_queries_however_many_wearers(
    wear: Wear, officer: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(officer)
    wear()
    _positions(client)  # the session's first request warms what it caches

    def queries(**params: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            _positions(client, **params)
        return len(captured.captured_queries)

    few = queries()
    for minutes in range(6):
        wear(minutes_ago=minutes)
    assert queries() == few
    few = queries(bbox="-90,-180,90,180")
    for minutes in range(6):
        wear(minutes_ago=minutes)
    assert queries(bbox="-90,-180,90,180") == few


def test_an_operators_map_reads_the_open_fittings_and_the_queue_not_every_participant(
    wear: Wear, make_user: Callable[..., User]
) -> None:
    """Asked for wearers whose ``participant IN (every participant)``, SQLite walked the
    whole program to find them, then looked up each one's alerts: 2.5 s an answer for 7,500
    wearers among 100,000 participants (bench/pages.py)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's choice of index; PostgreSQL chooses by its statistics")
    wear()
    operator = make_user(Role.OPERATOR, office=None)

    with CaptureQueriesContext(connection) as queries:
        wearers = live_map_wearers(
            operator, LiveMapFilter(), now=timezone.now(), stale_after=dt.timedelta(minutes=30)
        ).wearers

    (fittings,) = sqlite_plans(queries, 'FROM "tracking_deviceassignment"')
    (queue,) = sqlite_plans(queries, 'FROM "alerts_alert"')
    assert fittings.startswith("SCAN tracking_deviceassignment USING INDEX one_open"), fittings
    assert "SUBQUERY" not in fittings, fittings
    assert "(status=?)" in queue, queue
    assert len(wearers) == 1


def test_the_page_offers_filters_and_says_when_nobody_wears_a_device(
    officer: User, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    page = client_for(officer).get("/tracking/map/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/tracking/map/"' in html  # the console's navigation
    assert 'id="live-map-empty">' in html  # shown (not hidden): nobody wears a device
    assert "Nobody in your caseload wears a device." in html
    assert 'data-positions="/tracking/map/positions.json"' in html
    assert 'name="level"' in html
    assert 'name="officer"' not in html  # an officer's map is their own caseload
    supervisor_page = client_for(make_user(Role.SUPERVISOR)).get("/tracking/map/?level=high")
    assert 'name="officer"' in supervisor_page.content.decode()
    assert '<option value="high" selected>' in supervisor_page.content.decode()


def test_an_auditor_has_no_live_map(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    auditor = client_for(make_user(Role.AUDITOR, office=None))
    assert auditor.get("/tracking/map/").status_code == 403
    assert auditor.get(URL).status_code == 403
    assert 'href="/tracking/map/"' not in auditor.get("/account/").content.decode()
