"""The timeline in a real headless Chromium: opened from the participant page, filtered,
older entries loaded in place with htmx, check-in thumbnails drawn.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import EventKind, Participant
from ontrack.participants.services import participant_event_record
from tests.participants.test_timeline import one_of_each_kind

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_officer_opens_filters_and_pages_back_through_a_timeline(
    live_server: LiveServer,
    worn_gt06: Callable[[str], Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    participant = worn_gt06("359710049095111")
    one_of_each_kind(participant, officer)
    long_ago = timezone.now() - dt.timedelta(days=30)
    for n in range(40):
        participant_event_record(
            participant,
            actor=officer,
            kind=EventKind.EDITED,
            summary=f"old change {n}",
            at=long_ago,
        )
    page = browser_page
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/participants/{participant.pk}/")
    page.click("text=Whole timeline")
    page.wait_for_selector("h1:has-text('Timeline')")
    entries = page.locator("li.timeline-entry")
    assert entries.count() == 30
    # The check-in's thumbnail came through the photo view and was drawn.
    thumb = page.locator("img.thumb").first
    thumb.scroll_into_view_if_needed()
    for _ in range(50):
        if thumb.evaluate("img => img.complete && img.naturalWidth > 0"):
            break
        page.wait_for_timeout(100)
    assert 0 < thumb.evaluate("img => img.naturalWidth") <= 160

    page.check("input[name=kind][value=alerts]")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"kind=alerts"))
    kinds = set(
        page.locator("li.timeline-entry").evaluate_all("els => els.map(e => e.dataset.kind)")
    )
    assert kinds == {"alerts"}
    assert page.locator("li.timeline-entry", has_text="Alert resolved").count() == 1

    page.click("text=Show everything")
    page.wait_for_selector("li.timeline-entry >> nth=29")
    page.evaluate("window.__marker = 'same page'")
    page.click("text=Older entries")
    page.locator("li.timeline-entry").nth(30).wait_for()
    assert page.evaluate("window.__marker") == "same page"  # appended in place, not reloaded
    texts = page.locator("li.timeline-entry").all_inner_texts()
    assert len(texts) == len(set(texts))
    shown = {int(m) for t in texts for m in re.findall(r"old change (\d+)", t)}
    assert shown == set(range(40))
    assert page.locator("text=The beginning of the record.").count() == 1
