"""The zone editor in a real headless Chromium (no tiles, no network): it opens at the office
when nothing is known of the person, a polygon and a circle are drawn with Leaflet-Geoman's
tools and saved, the circle opens again as a circle, and the zones page reads the curfew in
words.

Screenshots of the editor at a laptop's and a phone's size go to ``$ONTRACK_SCREENSHOTS``
when it is set, to look at what was drawn."""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import Office, User
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone
from tests.zones.conftest import HOME

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"laptop": (1366, 768), "phone": (390, 844)}


def _screenshots(page: Any, name: str) -> None:
    folder = os.environ.get("ONTRACK_SCREENSHOTS")
    if not folder:
        return
    before = page.viewport_size
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # Leaflet redraws on resize
        page.screenshot(path=os.path.join(folder, f"{name}-{size}.png"), full_page=True)
    page.set_viewport_size(before)
    page.wait_for_timeout(300)


def _open_editor(page: Any, url: str) -> dict[str, float]:
    """The editor at ``url``, ready to draw; the map element's box on the page."""
    page.goto(url)
    page.wait_for_selector("#zone-editor .leaflet-pm-toolbar")
    page.locator("#zone-editor").scroll_into_view_if_needed()
    box = page.locator("#zone-editor").bounding_box()
    assert box is not None
    return box


def _lat_lon_at(page: Any, x: float, y: float) -> tuple[float, float]:
    """Where a point of the map element (pixels from its top left corner) is on the earth."""
    found = page.evaluate(
        f"(function () {{ var ll = window.ontrackZones.maps[0].containerPointToLatLng([{x}, {y}]);"
        " return [ll.lat, ll.lng]; })()"
    )
    return found[0], found[1]


# A pixel or so at the zoom the editor opens at on an office (13: about 14 m a pixel).
NEAR_M = 20


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (a[0] - b[0]) * 111_320
    east = (a[1] - b[1]) * 111_320 * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def test_an_officer_draws_a_polygon_and_a_circle_with_the_map_tools_and_reads_the_curfew(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    office: Office,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    office.latitude, office.longitude = HOME
    office.save()
    participant = make_participant()
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    new_zone = f"{live_server.url}/zones/participant/{participant.pk}/new/"

    box = _open_editor(page, new_zone)
    assert "the office" in page.inner_text("#zone-editor-start")
    assert _metres(_lat_lon_at(page, box["width"] / 2, box["height"] / 2), HOME) < 50
    # Below the toolbar and the action buttons (Finish, Cancel...) it opens beside a tool.
    corners = [(90, 190), (250, 200), (240, 340), (100, 330)]
    page.click("#zone-editor .leaflet-pm-icon-polygon")
    for dx, dy in [*corners, corners[0]]:  # the first corner again closes the polygon
        page.mouse.click(box["x"] + dx, box["y"] + dy)
    assert page.get_attribute("#zone-editor", "data-shape") == "Polygon"
    expected = [_lat_lon_at(page, dx, dy) for dx, dy in corners]
    _screenshots(page, "zone-editor-polygon")
    page.fill("#id_name", "Home")
    page.select_option("#id_kind", "inclusion")
    page.fill("#id_schedule", "Mon-Sun 21:00-06:00")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#zones-map")

    ring = Zone.objects.get(name="Home").geometry["coordinates"][0]
    assert len(ring) == 5, f"four corners and the closing point, got {ring}"
    assert ring[0] == ring[-1]
    for (lon, lat), corner in zip(ring, expected, strict=False):
        assert _metres((lat, lon), corner) < NEAR_M, (ring, expected)

    box = _open_editor(page, new_zone)
    assert "home zone" in page.inner_text("#zone-editor-start")
    centre, edge = (box["width"] / 2, box["height"] / 2), (box["width"] / 2 + 60, box["height"] / 2)
    page.click("#zone-editor .leaflet-pm-icon-circle")
    page.mouse.click(box["x"] + centre[0], box["y"] + centre[1])
    page.mouse.click(box["x"] + edge[0], box["y"] + edge[1])
    assert page.get_attribute("#zone-editor", "data-shape") == "Circle"
    assert page.is_visible("#zone-radius"), "a circle's radius can be typed in"
    expected_centre = _lat_lon_at(page, *centre)
    _screenshots(page, "zone-editor-circle")
    page.fill("#zone-radius input", "75")
    page.dispatch_event("#zone-radius input", "change")
    page.fill("#id_name", "Court")
    page.select_option("#id_kind", "exclusion")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#zones-map")

    circle = Zone.objects.get(name="Court").geometry
    assert circle["type"] == "Circle", circle
    assert circle["radius_m"] == 75, circle
    assert _metres((circle["center"][1], circle["center"][0]), expected_centre) < NEAR_M, circle

    page.goto(f"{live_server.url}/zones/{Zone.objects.get(name='Court').pk}/edit/")
    page.wait_for_selector("#zone-editor .leaflet-pm-toolbar")
    assert page.get_attribute("#zone-editor", "data-shape") == "Circle", "the saved circle"
    assert page.input_value("#zone-radius input") == "75"
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#zones-map")
    assert Zone.objects.get(name="Court").geometry == circle, "saved unchanged"

    def schedule(zone: str) -> str:
        row = page.locator("table tbody tr", has=page.locator("td[data-label=Name]", has_text=zone))
        return str(row.locator("td[data-label=Schedule]").inner_text())

    assert schedule("Home") == "every day 21:00–06:00"
    assert schedule("Court") == "always"
    assert "0,1,2" not in page.inner_text("main")
    assert errors == []
