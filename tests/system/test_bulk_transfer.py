"""A bulk caseload transfer over the running web process: a signed-in supervisor ticks two
people in the caseload, sees the preview (who, from whom, to whom), confirms it with a
reason, then undoes it from the action's page; the caseload shows each step
(``participants.bulk_transfers``)."""

from __future__ import annotations

import html
import os
import re

import pytest

from tests.system.harness import Browser, System, enrol

pytestmark = pytest.mark.xdist_group("system")

_TOKEN = re.compile(r'name="token" value="([^"]+)"')


def _officers_shown(browser: Browser, stem: str) -> list[str]:
    """The officer column of the caseload rows whose names start with ``stem``."""
    page = browser.page("/participants/", q=stem)
    return re.findall(r'<td data-label="Officer">([^<]*)<span', page)


def test_a_supervisor_transfers_two_people_through_preview_and_confirm_then_undoes_it(
    system: System,
) -> None:
    stem = f"Bulkmove{os.getpid()}"
    people = [enrol(system, family_name=f"{stem} {n}", given_name="Ines") for n in range(2)]
    browser = system.browser("sam")
    assert _officers_shown(browser, stem) == ["olivia", "olivia"]

    choose = browser.page("/participants/transfer/")
    (sam,) = set(re.findall(r'<option value="(\d+)">sam — ', choose))  # in both lists
    preview = browser.submit(
        f"/participants/?q={stem}",
        {"participant": [p["id"] for p in people], "officer": sam},
        action="/participants/transfer/",
    )
    assert preview.status_code == 200, preview.text[-1500:]
    assert "2 participants will move to sam" in preview.text
    assert "from olivia (2)" in preview.text
    assert all(f"{stem} {n}, Ines" in preview.text for n in range(2))
    assert _officers_shown(browser, stem) == ["olivia", "olivia"], "a preview moves no one"

    token = html.unescape(_TOKEN.findall(preview.text)[0])
    forged = browser.post_form(
        "/participants/transfer/confirm/", preview.text, {"token": token[:-2], "reason": "x"}
    )
    assert forged.status_code == 400
    assert "altered or is not yours" in forged.text

    done = browser.post_form(
        "/participants/transfer/confirm/",
        preview.text,
        {"token": token, "reason": "Olivia is on leave this month"},
    )
    assert done.status_code == 302
    action_page = done.headers["Location"]
    shown = browser.page(action_page)
    assert "2 participants moved to sam" in shown
    assert "Olivia is on leave this month" in shown
    assert _officers_shown(browser, stem) == ["sam", "sam"]

    undone = browser.submit(action_page, {}, action=action_page + "undo/")
    assert undone.status_code == 302
    assert "2 participants moved back" in browser.page(undone.headers["Location"])
    assert _officers_shown(browser, stem) == ["olivia", "olivia"]
    timeline = browser.page(f"/participants/{people[0]['id']}/timeline/")
    assert "Olivia is on leave this month" in timeline
