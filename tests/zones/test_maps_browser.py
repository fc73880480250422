"""The zone maps in a real headless Chromium with no tiles (no network): circles and
polygons must still draw at a readable size, and the editor opens where the person lives.

Screenshots go to ``$ONTRACK_SCREENSHOTS`` when it is set, to look at what was drawn."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alert_raise
from ontrack.participants.models import Participant
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services import device_directory, store_batch
from ontrack.zones.models import Zone
from ontrack.zones.services import ZoneData, zone_create
from tests.zones.conftest import HOME, offset, square

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMEI = "359710049097001"


def _errors(page: Any) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def _until(page: Any, expression: str, timeout_s: float = 30) -> None:
    """Poll ``expression`` from Python (page.evaluate is not subject to the page's
    Content-Security-Policy, which refuses wait_for_function's string evaluation)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {expression}"
        page.wait_for_timeout(100)


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("ONTRACK_SCREENSHOTS")
    if folder:
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def _shapes(page: Any, map_id: str) -> list[dict[str, float]]:
    """The on-screen size of every vector shape Leaflet drew on the map."""
    return page.evaluate(
        f"""Array.from(document.querySelectorAll('#{map_id} .leaflet-overlay-pane path'))
          .map(function (p) {{ var b = p.getBoundingClientRect();
                               return {{width: b.width, height: b.height}}; }})"""
    )


def _circle(lat_lon: tuple[float, float], radius_m: float) -> dict[str, Any]:
    return {"type": "Circle", "center": [lat_lon[1], lat_lon[0]], "radius_m": radius_m}


def _curfew_home(officer: Any, participant: Participant) -> Zone:
    return zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Home",
            kind="inclusion",
            geometry=_circle(HOME, 150),
            schedule=[{"days": list(range(7)), "start": "21:00", "end": "06:00"}],
        ),
    )


def _view(page: Any) -> dict[str, float]:
    return page.evaluate(
        """(function () { var m = window.ontrackZones.maps[0], c = m.getCenter();
                          return {lat: c.lat, lon: c.lng, zoom: m.getZoom()}; })()"""
    )


def test_the_zones_page_draws_a_curfew_circle_and_a_polygon_without_an_error(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant()
    _curfew_home(officer, participant)
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(name="Street", kind="exclusion", geometry=square(200, offset(900, 0))),
    )
    page = browser_page
    errors = _errors(page)
    browser_sign_in(page, live_server.url, officer)

    page.goto(f"{live_server.url}/zones/participant/{participant.pk}/")
    page.wait_for_selector("#zones-map .leaflet-overlay-pane path", state="attached")
    _screenshot(page, "zones-page")

    assert errors == [], "the page's script failed"
    shapes = _shapes(page, "zones-map")
    assert len(shapes) == 2, f"the circle and the polygon, got {shapes}"
    assert all(s["width"] > 20 and s["height"] > 20 for s in shapes), shapes


def test_the_alert_map_draws_an_exclusion_polygon_at_its_size(
    live_server: LiveServer,
    worn_gt06: Callable[[str], Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = worn_gt06(IMEI)
    _curfew_home(officer, participant)
    excluded = zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Protected address", kind="exclusion", geometry=square(150, offset(600, 0))
        ),
    )
    now = timezone.now().replace(microsecond=0)
    info = device_directory()[IMEI]
    inside = offset(600, 0)
    stored = [
        (info, Fix(IMEI, now - dt.timedelta(minutes=m), inside[0], inside[1], accuracy_m=10.0))
        for m in (12, 10, 8)
    ]
    store_batch(stored, received_at=now)
    alert = Alert.objects.filter(kind="exclusion_zone_entry").first() or alert_raise(
        participant_id=participant.pk,
        kind="exclusion_zone_entry",
        source=f"zone:{excluded.pk}",
        occurred_at=now - dt.timedelta(minutes=10),
    )
    assert alert is not None
    page = browser_page
    errors = _errors(page)
    browser_sign_in(page, live_server.url, officer)

    response = page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    assert response is not None, page.content()[:3000]
    assert response.status == 200, page.content()[:3000]
    # Locator waits: the page's Content-Security-Policy refuses wait_for_function's eval.
    page.locator("#alert-map-summary", has_text="zone").wait_for()
    _screenshot(page, "alert-map")

    assert errors == []
    # The two zones are the last shapes added... find them by their colours.
    sizes = page.evaluate(
        """Array.from(document.querySelectorAll('#alert-map .leaflet-overlay-pane path'))
          .filter(function (p) { return p.getAttribute('stroke') === '#cf222e'
                                        && p.getAttribute('fill-opacity') === '0.1'; })
          .map(function (p) { var b = p.getBoundingClientRect();
                              return [b.width, b.height]; })"""
    )
    assert len(sizes) == 1, f"one exclusion zone drawn, got {sizes}"
    width, height = sizes[0]
    assert width > 20, f"the 300 m square is drawn at its size, got {sizes}"
    assert height > 20, f"the 300 m square is drawn at its size, got {sizes}"
    inside = page.evaluate(
        """(function () {
             var map = document.querySelector('#alert-map').getBoundingClientRect();
             var zone = Array.from(document.querySelectorAll('#alert-map path'))
               .filter(function (p) { return p.getAttribute('stroke-width') === '4'; })[0]
               .getBoundingClientRect();
             return zone.left >= map.left && zone.right <= map.right
                    && zone.top >= map.top && zone.bottom <= map.bottom; })()"""
    )
    assert inside, "the zone the alert is about is in view whole, not cut by the map's edge"


def test_the_zone_editor_opens_at_the_participants_home_zone(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant()
    _curfew_home(officer, participant)
    page = browser_page
    errors = _errors(page)
    browser_sign_in(page, live_server.url, officer)

    page.goto(f"{live_server.url}/zones/participant/{participant.pk}/new/")
    page.wait_for_selector("#zone-editor .leaflet-overlay-pane path", state="attached")
    _screenshot(page, "zone-editor-home")

    assert errors == []
    view = _view(page)
    assert abs(view["lat"] - HOME[0]) < 0.005, view
    assert abs(view["lon"] - HOME[1]) < 0.005, view
    assert view["zoom"] >= 14, f"street level, not the whole country: {view}"


def test_the_zone_editor_without_zones_opens_at_the_last_known_position(
    live_server: LiveServer,
    worn_gt06: Callable[[str], Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = worn_gt06(IMEI)
    now = timezone.now().replace(microsecond=0)
    where = offset(-2000, 3000)
    fix = Fix(IMEI, now - dt.timedelta(minutes=5), where[0], where[1], accuracy_m=10.0)
    store_batch([(device_directory()[IMEI], fix)], received_at=now)
    page = browser_page
    errors = _errors(page)
    browser_sign_in(page, live_server.url, officer)

    page.goto(f"{live_server.url}/zones/participant/{participant.pk}/new/")
    page.wait_for_selector("#zone-editor.leaflet-container")
    _until(page, "!!(window.ontrackZones && window.ontrackZones.maps.length > 0)")
    _screenshot(page, "zone-editor-last-position")

    assert errors == []
    view = _view(page)
    assert abs(view["lat"] - where[0]) < 0.005, view
    assert abs(view["lon"] - where[1]) < 0.005, view
    assert view["zoom"] >= 14, view
