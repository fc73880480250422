"""The zone editor in a real headless Chromium: drawing a polygon with clicks and saving it."""

from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_an_officer_draws_a_polygon_by_clicking_undoes_a_corner_and_saves_it(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = make_participant()
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/zones/participant/{participant.pk}/new/")
    page.wait_for_selector("#zone-editor.leaflet-container")
    page.locator("#zone-editor").scroll_into_view_if_needed()
    box = page.locator("#zone-editor").bounding_box()
    assert box is not None
    for dx, dy in ((120, 60), (260, 80), (230, 220), (100, 240)):  # clear of the zoom buttons
        page.mouse.click(box["x"] + dx, box["y"] + dy)
    page.click("#zone-undo")
    page.fill("#id_name", "Home")
    page.select_option("#id_kind", "inclusion")
    assert page.input_value("#id_geometry"), "the drawing filled the form's geometry"
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#zones-map")
    assert errors == []
    ring = Zone.objects.get().geometry["coordinates"][0]
    assert len(ring) == 4, "four corners, one undone, and the closing point"
    assert ring[0] == ring[-1]
