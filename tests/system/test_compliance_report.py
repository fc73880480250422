"""A court's compliance report, made from what the processes recorded: the worker marks a
window missed, the participant checks in from the portal, the gateway stores a wearer's
track and raises a strap-tamper alert from their unit's frame, the officer resolves it; then
the officer signs off the report on the person's page and downloads the PDF from the web
process, and it says all of that."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import uuid
from typing import Any

import pytest
from pypdf import PdfReader

from tests.support import photo_bytes
from tests.system.harness import (
    System,
    enrol,
    eventually,
    fit_device,
    new_phone,
    portal_sign_in,
)

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def _iso(when: dt.datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _window(system: System, pid: int, *, seconds: int) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    window: dict[str, Any] = system.api("olivia").post(
        f"/participants/{pid}/checkin-windows",
        {"opens_at": _iso(now), "closes_at": _iso(now + dt.timedelta(seconds=seconds))},
    )
    return window


def _outcome(system: System, pid: int, window_id: int) -> str:
    windows = system.api("olivia").get(f"/participants/{pid}/checkin-windows")
    (window,) = [w for w in windows if w["id"] == window_id]
    return str(window["outcome"])


def _alert(system: System, pid: int, kind: str) -> dict[str, Any] | None:
    alerts = system.api("olivia").get("/alerts", participant=pid)["results"]
    return next((a for a in alerts if a["kind"] == kind), None)


def test_the_officer_downloads_a_signed_off_compliance_report_of_what_happened(
    system: System,
) -> None:
    phone_number = new_phone()
    participant = enrol(system, gps=True, phones=[phone_number])
    pid = participant["id"]

    missed = _window(system, pid, seconds=3)
    eventually(
        lambda: _outcome(system, pid, missed["id"]) == "missed",
        what="the worker to mark the closed window missed",
    )
    kept = _window(system, pid, seconds=7200)
    phone = portal_sign_in(system, phone_number)
    page = phone.page("/me/check-in/")
    csrf = re.search(r'data-csrf="([^"]+)"', page)
    assert csrf, "the check-in page carries its CSRF token"
    sent = phone.session.post(
        phone.base_url + "/me/check-in/submit/",
        data={"client_ref": str(uuid.uuid4()), "attempted_at": _iso(dt.datetime.now(dt.UTC))},
        files={"photo": ("checkin.jpg", photo_bytes(), "image/jpeg")},
        headers={"X-CSRFToken": csrf.group(1)},
        timeout=60,
    )
    assert sent.status_code == 200, sent.text[:500]
    assert _outcome(system, pid, kept["id"]) == "on_time"

    imei = fit_device(system, pid)
    time.sleep(2)  # the gateway's directory learns the wearer (see test_device_fitting)
    now = dt.datetime.now(dt.UTC)
    steps = [
        {"at": _iso(now - dt.timedelta(seconds=2)), "lat": 40.7357, "lon": -74.1724},
        {"at": _iso(now - dt.timedelta(seconds=1)), "lat": 40.7370, "lon": -74.1700},
        {"at": _iso(now), "lat": 40.7385, "lon": -74.1690, "event": "strap_cut"},
    ]
    system.simulate({"wearers": [{"device": imei, "protocol": "gt06", "steps": steps}]})
    tamper = eventually(
        lambda: _alert(system, pid, "strap_tamper"),
        what="the gateway's strap-tamper alert in the officer's queue",
    )
    system.api("olivia").post(
        f"/alerts/{tamper['id']}/resolve",
        {"disposition": "equipment_fault", "note": "Strap replaced at the office"},
        expect=200,
    )

    today = dt.datetime.now(dt.UTC).date()
    officer = system.browser("olivia")
    report = officer.submit(
        f"/participants/{pid}/",
        {
            "from": f"{today - dt.timedelta(days=2):%Y-%m-%d}",
            "to": f"{today + dt.timedelta(days=1):%Y-%m-%d}",
            "purpose": "Hearing on 2027-01-12",
        },
        action=f"/reports/participants/{pid}/compliance.pdf",
    )
    assert report.status_code == 200, report.text[:500]
    assert report.headers["Content-Type"] == "application/pdf"
    text = " ".join(
        " ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(report.content)).pages
    )
    assert f"{participant['given_name']} {participant['family_name']}" in text
    assert participant["case_number"] in text
    assert "On time 1 50.0 %" in text, "the check-in from the portal"
    assert "Missed 1 50.0 %" in text, "the window the worker marked missed"
    assert "Strap tamper" in text
    assert "Equipment fault" in text
    assert "Strap replaced at the office" in text
    positions = system.api("olivia").get(
        f"/participants/{pid}/positions",
        start=_iso(now - dt.timedelta(hours=1)),
        end=_iso(now + dt.timedelta(hours=1)),
    )["results"]
    fixes = sum(1 for p in positions if p["valid"])
    assert fixes >= len(steps) - 1, "the gateway stored the track"
    assert f"({fixes} valid fixes, {fixes} drawn" in text, text
    assert re.search(r"Prepared by \S.*, \d{4}-\d{2}-\d{2}\.", text)

    refused = officer.submit(
        f"/participants/{pid}/",
        {"from": f"{today:%Y-%m-%d}", "to": f"{today - dt.timedelta(days=3):%Y-%m-%d}",
         "purpose": "Hearing on 2027-01-12"},
        action=f"/reports/participants/{pid}/compliance.pdf",
    )  # fmt: skip
    assert refused.status_code == 400
    assert "before its first day" in refused.text
