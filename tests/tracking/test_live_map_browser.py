"""The live map in a real headless Chromium, tiles off (no network): the markers and
clusters Leaflet.markercluster draws, the base layer beneath them, a new position arriving
without a reload, and a zoom that asks for the wearers in view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services.devices import device_assign
from ontrack.tracking.services.directory import device_directory
from ontrack.tracking.services.ingest import store_batch

pytestmark = pytest.mark.browser

# Visible wearers: single markers plus every cluster's count.
SHOWN = """() => {
  const el = document.getElementById('live-map');
  const single = el.querySelectorAll('.leaflet-marker-pane .live-wearer').length;
  const clustered = Array.from(el.querySelectorAll('.leaflet-marker-pane .marker-cluster'))
    .reduce((n, c) => n + parseInt(c.textContent, 10), 0);
  return [single, clustered];
}"""


def _fix(device: Device, lat: float, lon: float, minutes_ago: int = 1) -> None:
    now = timezone.now()
    info = device_directory()[device.identifier]
    fix = Fix(device.identifier, now - dt.timedelta(minutes=minutes_ago), lat, lon)
    store_batch([(info, fix)], received_at=now)


@pytest.mark.django_db(transaction=True)
def test_the_live_map_draws_every_wearer_and_moves_one_without_a_reload(
    live_server: LiveServer,
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
    settings: Any,
) -> None:
    settings.ONTRACK_LIVE_MAP_POLL_S = 1
    fitted = timezone.now() - dt.timedelta(hours=1)
    devices = []
    # Five people in Newark, close enough to cluster at the first view, one in Denver.
    places = [(40.735, -74.172), (40.736, -74.171), (40.737, -74.173), (40.734, -74.170),
              (40.738, -74.174), (39.739, -104.990)]  # fmt: skip
    for n, (lat, lon) in enumerate(places):
        device = make_device()
        device_assign(device, make_gps_participant(), actor=SYSTEM, at=fitted)
        _fix(device, lat, lon, minutes_ago=1 + n)
        devices.append(device)
    late = make_device()  # fitted, not yet reported: listed under the map, not on it
    device_assign(late, make_gps_participant(), actor=SYSTEM, at=fitted)

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.click("nav >> text=Live map")
    page.wait_for_selector("#live-map[data-updates]", state="attached")
    page.wait_for_selector("#live-map[data-base-drawn]", state="attached")
    assert errors == []
    assert page.get_attribute("#live-map", "data-placed") == "6"
    single, clustered = page.evaluate(SHOWN)
    assert single + clustered == 6
    assert clustered >= 5  # the Newark five sit in one cluster at a view of both cities
    assert (
        page.evaluate(
            "document.querySelectorAll('#live-map .leaflet-ontrack-base-pane path').length"
        )
        > 0
    )
    assert page.is_visible("#live-map-unplaced-card")
    assert page.inner_text("#live-map-unplaced").count("device") == 1
    assert page.is_hidden("#live-map-empty")
    assert "6 wearers on the map, 1 without a position yet" in page.inner_text("#live-map-summary")

    # The late unit reports from Chicago: the next poll places it, on the same page.
    page.evaluate("window.ontrackNoReload = true")
    _fix(late, 41.878, -87.630)
    # (a selector, not a function: the page's policy forbids evaluating strings)
    page.wait_for_selector("#live-map[data-placed='7']", state="attached", timeout=15000)
    assert page.evaluate("window.ontrackNoReload") is True
    single, clustered = page.evaluate(SHOWN)
    assert single + clustered == 7
    assert page.is_hidden("#live-map-unplaced-card")
    assert errors == []
    # Zoomed on Denver, the map asks for its view: the others leave it, the summary says so.
    page.evaluate("window.ontrackLiveMap.map.setView([39.739, -104.99], 12)")
    page.wait_for_selector("#live-map[data-placed='1']", state="attached", timeout=15000)
    assert "1 wearer on the map in this view (6 more out of it" in page.inner_text(
        "#live-map-summary"
    )
    assert page.evaluate("window.ontrackNoReload") is True
    # A filter narrows the map at once, in place, and the address keeps it.
    page.select_option("#live-map-filters select[name=level]", "low")
    page.wait_for_selector("#live-map[data-placed='0']", state="attached", timeout=15000)
    assert page.is_visible("#live-map-empty")
    assert page.url.endswith("/tracking/map/?level=low")
    assert page.evaluate("window.ontrackNoReload") is True
    assert errors == []
