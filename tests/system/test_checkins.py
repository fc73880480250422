"""Check-in outcomes decided by the processes, not by the test: the worker's missed-check-in
watchdog marks a window that closed with nothing received, and the portal's report of a
failed upload (the call its JavaScript makes) is a technical failure with a task for the
officer, never an alert."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest

from tests.system.harness import (
    Browser,
    System,
    enrol,
    eventually,
    new_phone,
    portal_sign_in,
)

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = [pytest.mark.xdist_group("system"), pytest.mark.both_databases]


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _window(system: System, pid: int, window_id: int) -> dict[str, Any]:
    windows = system.api("olivia").get(f"/participants/{pid}/checkin-windows")
    (window,) = [w for w in windows if w["id"] == window_id]
    return window


def _alerts(system: System, pid: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = system.api("olivia").get("/alerts", participant=pid)["results"]
    return results


def _report_technical_failure(phone: Browser, reason: str, detail: str) -> dict[str, Any]:
    """What ``portal/checkin.js`` sends when the photo or location could not be taken or
    sent: the attempt's reference and phone time, with the page's CSRF token."""
    page = phone.page("/me/check-in/")
    csrf = re.search(r'data-csrf="([^"]+)"', page)
    url = re.search(r'data-failure-url="([^"]+)"', page)
    assert csrf, "the check-in page carries what its script needs"
    assert url, "the check-in page carries what its script needs"
    response = phone.session.post(
        phone.base_url + url.group(1),
        data={
            "client_ref": str(uuid.uuid4()),
            "attempted_at": _iso(dt.datetime.now(dt.UTC)),
            "reason": reason,
            "detail": detail,
        },
        headers={"X-CSRFToken": csrf.group(1), "Accept": "application/json"},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:500]
    receipt: dict[str, Any] = response.json()
    return receipt


def test_a_window_that_closes_without_a_check_in_is_missed_and_raises_an_alert(
    system: System,
) -> None:
    pid = enrol(system, phones=[new_phone()])["id"]
    now = dt.datetime.now(dt.UTC)
    window = system.api("olivia").post(
        f"/participants/{pid}/checkin-windows",
        {"opens_at": _iso(now), "closes_at": _iso(now + dt.timedelta(seconds=5))},
    )
    assert window["outcome"] == "due"

    missed = eventually(
        lambda: _window(system, pid, window["id"])["outcome"] == "missed",
        what="the worker to mark the closed window missed",
    )
    assert missed
    (alert,) = eventually(
        lambda: _alerts(system, pid), what="the missed-check-in alert in the officer's queue"
    )
    assert (alert["kind"], alert["status"]) == ("missed_checkin", "open")
    compliance = system.api("olivia").get(f"/participants/{pid}/compliance")
    assert compliance[0]["missed"] == 1


def test_an_upload_failure_from_the_portal_is_a_technical_failure_with_a_task_and_no_alert(
    system: System,
) -> None:
    phone_number = new_phone()
    participant = enrol(system, phones=[phone_number])
    pid = participant["id"]
    now = dt.datetime.now(dt.UTC)
    window = system.api("olivia").post(
        f"/participants/{pid}/checkin-windows",
        {"opens_at": _iso(now), "closes_at": _iso(now + dt.timedelta(hours=2))},
    )
    phone = portal_sign_in(system, phone_number)

    receipt = _report_technical_failure(phone, "upload", "HTTP 413: photo too large")
    assert receipt["outcome"] == "technical_failure"
    assert receipt["reference"]

    assert _window(system, pid, window["id"])["outcome"] == "technical_failure"
    tasks = system.browser("olivia").page("/schedule/tasks/")
    assert f"{participant['given_name']} {participant['family_name']}" in tasks
    assert "Check-in could not be completed" in tasks
    assert _alerts(system, pid) == [], "a technical failure is never an alert"
