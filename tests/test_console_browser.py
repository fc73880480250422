"""The officer console in a real headless Chromium at phone width (360 px).

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import Participant

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_officer_searches_the_caseload_and_opens_a_case_on_a_phone(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    tmp_path: Path,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    make_participant(given_name="Guerline", family_name="Exantus", case_number="HT-77")
    for n in range(5):
        make_participant(given_name="Rosa", family_name=f"Quispe {n}")
    page = browser_page
    browser_sign_in(page, live_server.url, officer)
    page.wait_for_selector("h1:text('Caseload')")
    assert "6 participants" in page.inner_text("#caseload-count")

    page.evaluate("window.__marker = 'same page'")
    page.fill("input[name=q]", "exantus")
    # A locator wait, not wait_for_function: the page's Content-Security-Policy refuses the
    # string evaluation that one uses.
    page.locator("#caseload-count", has_text=re.compile(r"^1 participant")).wait_for()
    # htmx swapped the table in place: the page was not reloaded.
    assert page.evaluate("window.__marker") == "same page"
    assert "q=exantus" in page.url

    overflow = page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 360, f"the caseload scrolls sideways on a phone ({overflow}px)"

    page.click("text=Exantus, Guerline")
    page.wait_for_selector("h1:has-text('Guerline Exantus')")
    assert "HT-77" in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / "participant-360.png"), full_page=True)
