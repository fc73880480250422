"""The alert page: what an officer needs to decide an alert, on one page."""

import datetime as dt
import re
from collections.abc import Callable
from html import unescape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert
from ontrack.alerts.services import (
    alert_acknowledge,
    alert_clear,
    alert_resolve,
    alerts_promote_due,
)
from ontrack.audit.models import AccessAction, AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services import device_directory, store_batch
from ontrack.zones.services import ZoneData, zone_create
from tests.support import raised_alert

pytestmark = pytest.mark.django_db

IMEI = "359710049095311"


def _attribute(page: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', page)
    assert match, f"the page has no {name} attribute"
    return unescape(match.group(1))


def _store_fixes(times: list[dt.datetime]) -> None:
    info = device_directory()[IMEI]
    items = [
        (info, Fix(IMEI, t, 40.7 + i / 1000, -74.0, accuracy_m=15.0)) for i, t in enumerate(times)
    ]
    store_batch(items, received_at=timezone.now())


def test_the_map_shows_the_track_from_half_an_hour_before_to_half_an_hour_after(
    worn_gt06: Callable[[str], Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_gt06(IMEI)
    now = timezone.now().replace(microsecond=0)
    occurred = now - dt.timedelta(minutes=20)
    _store_fixes([now - dt.timedelta(minutes=m) for m in (55, 45, 20, 5)])
    alert = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=occurred
    )
    client = client_for(officer)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    assert f'href="/participants/{participant.pk}/"' in page
    positions = client.get(_attribute(page, "data-positions")).json()["results"]
    assert [p["time"] for p in positions] == [
        (now - dt.timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in (45, 20, 5)
    ], "fixes within 30 minutes of the alert, and only those"
    assert all(p["accuracy_m"] == 15.0 for p in positions), "accuracy circles need the accuracy"
    zones = client.get(_attribute(page, "data-zones")).json()
    assert zones["type"] == "FeatureCollection"
    device = Device.objects.get(identifier=IMEI)
    assert (
        client.get(_attribute(page, "data-device-base") + str(device.pk)).json()["identifier"]
        == IMEI
    )


def test_the_alert_page_tells_its_times_on_the_offices_clock(
    worn_gt06: Callable[[str], Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_gt06(IMEI)
    occurred = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=20)
    alert = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=occurred
    )
    page = client_for(officer).get(f"/alerts/{alert.pk}/").content.decode()
    local = occurred.astimezone(ZoneInfo(participant.office.time_zone))
    assert f"{local:%Y-%m-%d %H:%M} {local.tzname()}" in page
    assert " UTC" not in re.sub(r"<[^>]+>", " ", page), "UTC belongs in exports only"


def test_viewing_the_alert_and_its_map_is_written_to_the_access_log(
    worn_gt06: Callable[[str], Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_gt06(IMEI)
    alert = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=timezone.now()
    )
    client = client_for(officer)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    client.get(_attribute(page, "data-positions"))
    actions = set(
        AccessLogEntry.objects.filter(participant_id=participant.pk, user=officer).values_list(
            "action", flat=True
        )
    )
    assert {AccessAction.VIEW, AccessAction.API_READ} <= actions


def test_response_times_count_from_the_queue_to_acknowledgement_and_resolution(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    t0 = timezone.now() - dt.timedelta(hours=3)
    alert = raised_alert(
        participant_id=p.pk, kind="strap_tamper", source="device:9", occurred_at=t0, now=t0
    )
    alert_acknowledge(user=officer, alert_id=alert.pk, now=t0 + dt.timedelta(minutes=4))
    alert_resolve(
        user=officer,
        alert_id=alert.pk,
        disposition="equipment_fault",
        note="Clip replaced at the office.",
        now=t0 + dt.timedelta(minutes=65),
    )
    page = client_for(officer).get(f"/alerts/{alert.pk}/").content.decode()
    assert '<span id="time-to-acknowledge">4 min</span>' in page
    assert '<span id="time-to-resolve">1 h 05 min</span>' in page


def test_an_alert_that_cleared_by_itself_has_no_response_time(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    t0 = timezone.now() - dt.timedelta(hours=3)
    alert = raised_alert(participant_id=p.pk, kind="sos", source="device:9", occurred_at=t0, now=t0)
    alert_clear(
        participant_id=p.pk, kind="sos", source="device:9", cleared_at=t0 + dt.timedelta(hours=1)
    )
    page = client_for(officer).get(f"/alerts/{alert.pk}/").content.decode()
    assert "Cleared by itself" in page
    assert 'id="time-to-resolve"' not in page, "nobody responded: there is no response time"


def test_the_history_lists_ninety_days_of_the_same_kind_with_their_dispositions(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    now = timezone.now()

    def resolved(days_ago: int, kind: str, disposition: str) -> Alert:
        at = now - dt.timedelta(days=days_ago)
        later = at + dt.timedelta(hours=1)  # past the grace period: in the queue
        a = raised_alert(participant_id=p.pk, kind=kind, source="zone:4", occurred_at=at, now=at)
        alerts_promote_due(now=later)
        return alert_resolve(
            user=officer, alert_id=a.pk, disposition=disposition, note=f"note {days_ago}", now=later
        )

    recent = resolved(10, "exclusion_zone_entry", "confirmed_violation")
    older = resolved(80, "exclusion_zone_entry", "false_alarm")
    too_old = resolved(120, "exclusion_zone_entry", "false_alarm")
    other_kind = resolved(5, "inclusion_zone_exit", "excused")
    yesterday = now - dt.timedelta(days=1)
    current = raised_alert(
        participant_id=p.pk, kind="exclusion_zone_entry", source="zone:4",
        occurred_at=yesterday, now=yesterday,
    )  # fmt: skip
    alerts_promote_due(now=now)
    page = client_for(officer).get(f"/alerts/{current.pk}/").content.decode()
    history = page[page.index('id="similar-alerts"') :]
    for shown in (recent, older):
        assert f"/alerts/{shown.pk}/" in history
    for hidden in (too_old, other_kind):
        assert f"/alerts/{hidden.pk}/" not in history
    assert "Confirmed violation 1" in history
    assert "False alarm 1" in history


def test_an_open_strap_tamper_is_shown_as_the_strap_state(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    p = make_participant()
    tamper = raised_alert(
        participant_id=p.pk, kind="strap_tamper", source="device:3", occurred_at=timezone.now()
    )
    an_hour_ago = timezone.now() - dt.timedelta(hours=1)
    zone_alert = raised_alert(
        participant_id=p.pk, kind="exclusion_zone_entry", source="zone:2",
        occurred_at=an_hour_ago, now=an_hour_ago,
    )  # fmt: skip
    alerts_promote_due()
    page = client_for(officer).get(f"/alerts/{zone_alert.pk}/").content.decode()
    strap = page[page.index('id="strap-state"') :].split("</dd>")[0]
    assert f"/alerts/{tamper.pk}/" in strap


def test_an_officer_of_another_caseload_cannot_read_the_map_endpoints(
    worn_gt06: Callable[[str], Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = worn_gt06(IMEI)
    alert = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=timezone.now()
    )
    page = client_for(officer).get(f"/alerts/{alert.pk}/").content.decode()
    stranger = client_for(make_user(Role.OFFICER))
    assert stranger.get(f"/alerts/{alert.pk}/").status_code == 404
    assert stranger.get(_attribute(page, "data-positions")).status_code == 404
    assert stranger.get(_attribute(page, "data-zones")).status_code == 404


@pytest.fixture
def alert_with_track(worn_gt06: Callable[[str], Participant], officer: User) -> Alert:
    """An SOS 20 minutes ago by a participant with a home zone, four fixes (one outside the
    map's window) and a tamper event. Made before the browser starts: the browser tests
    touch the database only then (see ``browser_page``)."""
    participant = worn_gt06(IMEI)
    now = timezone.now().replace(microsecond=0)
    _store_fixes([now - dt.timedelta(minutes=m) for m in (55, 45, 20, 5)])
    tamper = DeviceEvent(IMEI, now - dt.timedelta(minutes=15), EventKind.TAMPER, raw_code="0x13")
    store_batch([(device_directory()[IMEI], tamper)], received_at=now)
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Home",
            kind="inclusion",
            geometry={"type": "Circle", "center": [-74.0, 40.7], "radius_m": 200},
        ),
    )
    return raised_alert(
        participant_id=participant.pk,
        kind="sos",
        source="device:1",
        occurred_at=now - dt.timedelta(minutes=20),
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_alert_map_draws_the_track_at_the_time_the_zones_and_the_device(
    live_server: LiveServer,
    alert_with_track: Alert,
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    alert = alert_with_track
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    # Locator waits: the page's Content-Security-Policy refuses wait_for_function's eval.
    page.locator("#alert-map-summary", has_text="zone").wait_for()
    assert page.inner_text("#alert-map-summary") == "3 positions and 1 zone."
    drawn = page.evaluate(
        "document.querySelectorAll('#alert-map .leaflet-overlay-pane path').length"
    )
    # The track line, 3 accuracy circles, 3 fix markers, the marker at the alert, the zone.
    assert drawn == 9, f"expected 9 shapes on the map, got {drawn}"
    page.locator("[data-device-field=identifier]", has_text=IMEI).wait_for()
    page.locator("#device-events time").first.wait_for()
    events = page.inner_text("#device-events")
    assert "tamper" in events
    assert "0x13" not in events, "the unit's code is shown on hover only"
    assert page.get_attribute("#device-events li", "title") == "0x13"
    # Times on the office's clock, as the rest of the page: never UTC.
    seen = page.inner_text("[data-device-field=last_seen]")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", seen), seen
    assert " UTC" not in page.inner_text("main")
    assert errors == []


def test_the_alert_links_to_the_playback_of_its_day_opened_at_its_moment(
    worn_gt06: Callable[[str], Participant], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_gt06(IMEI)
    occurred = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=20)
    _store_fixes([occurred - dt.timedelta(minutes=1), occurred + dt.timedelta(minutes=1)])
    alert = raised_alert(
        participant_id=participant.pk, kind="sos", source="device:1", occurred_at=occurred
    )
    client = client_for(officer)
    page = client.get(f"/alerts/{alert.pk}/").content.decode()
    link = re.search(r'<a href="([^"]*)" id="alert-playback">', page)
    assert link, "the alert page has no link to the playback"
    track = client.get(unescape(link.group(1))).content.decode()
    data = re.search(r'<script id="track-playback" type="application/json">(.*?)</script>', track)
    assert data, "the linked track page carries no playback"
    assert f'"at": {int(occurred.timestamp() * 1000)}' in data.group(1)
