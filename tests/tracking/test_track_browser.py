"""The track map in a real headless Chromium: what Leaflet actually draws."""

from typing import Any

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_the_track_map_draws_every_fix_and_its_accuracy_circle(
    live_server, worn_track: dict[str, Any], officer, browser_page, browser_sign_in
):
    participant = worn_track["participant"]
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/tracking/participants/{participant.pk}/track/")
    page.wait_for_selector("#track-map .leaflet-overlay-pane path", state="attached")
    assert errors == []
    # Three fixes: one polyline, three accuracy circles and three point markers.
    drawn = page.evaluate(
        "document.querySelectorAll('#track-map .leaflet-overlay-pane path').length"
    )
    assert drawn == 7, f"expected the track, 3 accuracy circles and 3 markers, got {drawn} paths"
