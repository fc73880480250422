"""A phone that cannot get a fix still reports: an OsmAnd request with only cell data, sent
to the running gateway, is answered 200 and shows on the officer's track page as a period
without a GPS fix (it used to be refused with 400 and lost)."""

from __future__ import annotations

import os
import secrets
import time
import urllib.error
import urllib.request

import pytest

from tests.system.harness import System, enrol, eventually, office_id

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def _osmand(system: System, query: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{system.ports['osmand']}/?{query}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_cell_only_osmand_report_shows_as_no_gps_fix_on_the_track_page(system: System) -> None:
    pid = enrol(system, gps=True)["id"]
    phone = f"app-{os.getpid()}-{secrets.token_hex(8)}"
    registered = system.browser("sam").submit(
        "/tracking/devices/register/",
        {"identifier": phone, "kind": "phone", "protocol": "osmand",
         "office": office_id(system.api("sam")), "firmware": "", "time_offset_minutes": "0"},
    )  # fmt: skip
    assert registered.status_code == 302, f"phone not registered: {registered.text[-1500:]}"
    officer = system.browser("olivia")
    fitted = officer.submit(f"/tracking/participants/{pid}/assign/", {"identifier": phone})
    assert fitted.status_code == 302, f"phone not fitted: {fitted.text[-1500:]}"

    # Until the gateway reloads its directory (0.5 s here) the phone is unknown; the app
    # simply sends again.
    # Reported after the fit (rounded up to the second): the track shows only what was
    # reported while the phone was worn.
    reported_at = int(time.time()) + 1
    report = f"id={phone}&timestamp={reported_at}&cell=310,260,4012,88871,-71"

    def accepted() -> tuple[int, str] | None:
        answer = _osmand(system, report)
        return answer if answer[0] == 200 else None

    assert eventually(accepted, what="the gateway to accept the cell-only report") == (200, "")
    assert _osmand(system, f"id={phone}") == (400, "missing_coordinates\n")

    time.sleep(max(0.0, reported_at - time.time() + 0.5))  # the page shows up to "now"
    page = officer.page(f"/tracking/participants/{pid}/track/")
    assert "0 positions, 1 period without a GPS fix" in page
    assert "No GPS fix · 1 report" in page
