"""The track map in a real headless Chromium: what Leaflet actually draws."""

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User

pytestmark = pytest.mark.browser

TRACK_PATHS = "#track-map .leaflet-overlay-pane path:not(.playback-position)"


@pytest.mark.django_db(transaction=True)
def test_the_track_map_draws_every_fix_and_its_accuracy_circle(
    live_server: LiveServer,
    worn_track: dict[str, Any],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = worn_track["participant"]
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/tracking/participants/{participant.pk}/track/")
    page.wait_for_selector("#track-map .leaflet-overlay-pane path", state="attached")
    assert errors == []
    # Three fixes: one polyline, three accuracy circles and three point markers, beside the
    # playback's marker.
    drawn = page.evaluate(f"document.querySelectorAll('{TRACK_PATHS}').length")
    assert drawn == 7, f"expected the track, 3 accuracy circles and 3 markers, got {drawn} paths"


UNREACHABLE_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"  # the discard port: nothing answers


@pytest.mark.django_db(transaction=True)
def test_the_track_map_draws_the_base_layer_beneath_tiles_that_cannot_load(
    live_server: LiveServer,
    worn_track: dict[str, Any],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
    settings: Any,
) -> None:
    # A tile server that cannot be reached (as with no network), allowed by the policy as a
    # configured one is: the map still shows the country and state boundaries ontrack serves.
    settings.ONTRACK_MAP_TILES = UNREACHABLE_TILES
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {**directives, "img-src": [*directives["img-src"], "http://127.0.0.1:9"]}
    }
    participant = worn_track["participant"]
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/tracking/participants/{participant.pk}/track/")
    page.wait_for_selector("#track-map[data-tiles-failed]", state="attached")
    page.wait_for_selector("#track-map[data-base-drawn]", state="attached")
    assert errors == []
    base = page.evaluate(
        "document.querySelectorAll('#track-map .leaflet-ontrack-base-pane path').length"
    )
    shapes = int(page.get_attribute("#track-map", "data-base-drawn") or "0")
    # 177 countries of world-atlas's 110m map and 56 states and territories of us-atlas;
    # the SVG renderer draws those in view (clipped), and Newark is in view.
    assert shapes > 200
    assert base > 0
    track = page.evaluate(f"document.querySelectorAll('{TRACK_PATHS}').length")
    assert track == 7
    attribution = page.inner_text("#track-map .leaflet-control-attribution")
    assert "Map tiles unavailable" in attribution


@pytest.mark.django_db(transaction=True)
def test_moving_the_playback_slider_moves_the_time_and_shows_the_stop(
    live_server: LiveServer,
    stopping_track: dict[str, Any],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = stopping_track["participant"]
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(
        f"{live_server.url}/tracking/participants/{participant.pk}/track/?at=2026-11-20T14:05:00Z"
    )
    page.wait_for_selector("#track-map path.playback-stop", state="attached")
    assert page.locator("#track-map path.playback-stop").count() == 1
    assert page.inner_text("#track-map .playback-stop-label") == "8 min"
    # Opened at the moment asked for, at home during the stop.
    assert page.inner_text("#playback-time") == "2026-11-20 09:05 EST"
    assert page.inner_text("#playback-state") == "Stopped 8 min, 09:02–09:10 EST"
    # Six minutes on with the keyboard: left home, standing at its last fix there.
    page.focus("#playback-slider")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert page.inner_text("#playback-time") == "2026-11-20 09:11 EST"
    assert page.inner_text("#playback-state") == "0 km/h"
    # Into the silence after the store: nobody knows where, and the page says so.
    page.eval_on_selector(
        "#playback-slider",
        "(el, value) => { el.value = value; el.dispatchEvent(new Event('input')); }",
        str(1795184400000),  # 14:20 UTC
    )
    assert page.inner_text("#playback-time") == "2026-11-20 09:20 EST"
    assert page.inner_text("#playback-state").startswith("No report from 2026-11-20 09:15 EST")
    assert errors == []
