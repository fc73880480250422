"""The caseload's signal columns in a real headless Chromium, on a laptop (1366 px) and on a
phone (390 px): on the laptop the whole table fits the page without scrolling sideways; on
the phone each row collapses into labelled lines (``console.css``) and the page does not
scroll sideways either.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from tests.conftest import CHROMIUM
from tests.participants.test_caseload_signals import _everything

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


def _overflow(page: Any, selector: str) -> int:
    """How many pixels ``selector``'s content is wider than its box."""
    return int(page.eval_on_selector(selector, "e => e.scrollWidth - e.clientWidth"))


@pytest.mark.django_db(transaction=True)
def test_the_signal_columns_fit_a_laptop_and_collapse_into_lines_on_a_phone(
    live_server: LiveServer,
    worn_gt06: Callable[[str], Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    _everything(worn_gt06("359710000000601"), timezone.now() - dt.timedelta(minutes=1))
    page = browser_page
    browser_sign_in(page, live_server.url, officer)
    shots = os.environ.get("ONTRACK_SCREENSHOTS")

    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/participants/")
    assert page.locator("thead th").nth(-1).is_visible()
    assert _overflow(page, ".table-wrap") <= 0, "the caseload table scrolls sideways at 1366 px"
    if shots:
        page.screenshot(path=f"{shots}/caseload-1366.png", full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/participants/")
    assert not page.locator("thead").is_visible(), "the header row is folded into labels"
    device = page.locator('td[data-label="Device"]')
    assert device.is_visible()
    assert "battery 15" in device.inner_text()
    assert _overflow(page, "html") <= 0, "the page scrolls sideways at 390 px"
    if shots:
        page.screenshot(path=f"{shots}/caseload-390.png", full_page=True)
