"""The bulk transfer in a real headless Chromium: ticked in the caseload, previewed,
confirmed with a reason, then undone from the action's page.

Needs Debian's ``chromium`` package; skipped with that reason where it is absent.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from typing import Any

import pytest
from pytest_django.live_server_helper import LiveServer

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium package is not installed"),
]


@pytest.mark.django_db(transaction=True)
def test_supervisor_previews_confirms_and_undoes_a_transfer_of_ticked_people(
    live_server: LiveServer,
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    browser_page: Any,
    browser_sign_in: Callable[[Any, str, User], None],
) -> None:
    people = [make_participant() for _ in range(2)]
    target = make_user(Role.OFFICER)
    supervisor = make_user(Role.SUPERVISOR)
    page = browser_page
    browser_sign_in(page, live_server.url, supervisor)
    page.goto(f"{live_server.url}/participants/")
    for p in people:
        page.check(f"input[name=participant][value='{p.pk}']")
    page.select_option("#caseload select[name=officer]", str(target.pk))
    page.click("button:has-text('Preview the transfer')")
    page.wait_for_selector("#bulk-summary")
    assert "2 participants will move to" in page.inner_text("#bulk-summary")
    assert page.locator("#bulk-people tbody tr").count() == 2
    assert {Participant.objects.get(pk=p.pk).officer_id for p in people} == {officer.pk}

    page.fill("#bulk-reason", "Caseload rebalanced after a departure")
    page.click("button:has-text('Confirm: move 2')")
    page.wait_for_url(re.compile(r"/participants/bulk/\d+/$"))
    assert "2 participants moved to" in page.content()
    assert {Participant.objects.get(pk=p.pk).officer_id for p in people} == {target.pk}

    page.click("button:has-text('Undo this transfer')")
    page.wait_for_selector("text=2 participants moved back")
    assert {Participant.objects.get(pk=p.pk).officer_id for p in people} == {officer.pk}
