"""A phone that cannot get a fix still reports: an OsmAnd request with only cell data, sent
to the running gateway, is answered 200 and shows on the officer's track page as a period
without a GPS fix (it used to be refused with 400 and lost)."""

from __future__ import annotations

import time

import pytest

from tests.system.harness import System, enrol, eventually, osmand_report, register_device

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def test_a_cell_only_osmand_report_shows_as_no_gps_fix_on_the_track_page(system: System) -> None:
    pid = enrol(system, gps=True)["id"]
    phone = register_device(system, "osmand", kind="phone")
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
        answer = osmand_report(system, report)
        return answer if answer[0] == 200 else None

    assert eventually(accepted, what="the gateway to accept the cell-only report") == (200, "")
    assert osmand_report(system, f"id={phone}") == (400, "missing_coordinates\n")

    time.sleep(max(0.0, reported_at - time.time() + 0.5))  # the page shows up to "now"
    page = officer.page(f"/tracking/participants/{pid}/track/")
    assert "0 positions, 1 period without a GPS fix" in page
    assert "No GPS fix · 1 report" in page
