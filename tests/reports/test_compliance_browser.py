"""The compliance report's form on the participant page, in a real headless Chromium: the
officer picks the days, states the purpose and gets the PDF as a download.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from pypdf import PdfReader
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import User
from ontrack.participants.models import Participant

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_the_officer_downloads_the_report_from_the_persons_page(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    person = make_participant()
    today = timezone.now().date()
    page = browser_page
    browser_sign_in(page, live_server.url, officer)
    page.goto(f"{live_server.url}/participants/{person.pk}/")
    page.fill("#compliance-from", f"{today - dt.timedelta(days=30):%Y-%m-%d}")
    page.fill("#compliance-to", f"{today:%Y-%m-%d}")
    page.fill("#compliance-purpose", "Hearing on 2027-01-12")
    with page.expect_download() as download:
        page.click("button:has-text('Sign off and download (PDF)')")
    saved = Path(download.value.path())
    assert download.value.suggested_filename.endswith(".pdf")
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(saved).pages)
    assert person.full_name in text
    assert f"Prepared by {officer}, " in text
