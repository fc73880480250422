"""A wearer's device speaks on their officer's caseload page: a position sent through the
running gateway (a phone app's OsmAnd report, which carries the battery with the position)
becomes the person's last contact, in the office's zone, and its battery the device column
(``participants.caseload_signals`` over the running web, worker and gateway)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest

from ontrack.accounts.templatetags.office_time import office_time
from tests.system.harness import (
    OFFICE,
    System,
    enrol,
    eventually,
    osmand_report,
    register_device,
)

pytestmark = pytest.mark.xdist_group("system")


def _cell(page: str, label: str) -> str:
    """The text of the one row's cell of column ``label``, tags stripped."""
    (cell,) = re.findall(rf'<td data-label="{label}"[^>]*>(.*?)</td>', page, re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())


def test_a_position_sent_through_the_gateway_is_the_wearers_last_contact_and_battery(
    system: System,
) -> None:
    person = enrol(system, gps=True)
    phone = register_device(system, "osmand", kind="phone")
    officer = system.browser("olivia")
    fitted = officer.submit(f"/tracking/participants/{person['id']}/assign/", {"identifier": phone})
    assert fitted.status_code == 302, f"phone not fitted: {fitted.text[-1500:]}"

    def row() -> str:
        return officer.page("/participants/", q=person["case_number"])

    assert _cell(row(), "Last contact") == "none recorded"
    assert _cell(row(), "Device") == "battery unknown no fix yet"

    # After the fit (rounded up to the second): a fix is the wearer's from the fit on.
    at = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    report = f"id={phone}&timestamp={int(at.timestamp())}&lat=40.7357&lon=-74.1724&batt=37"
    # Until the gateway reloads its directory (0.5 s here) the phone is unknown; the app
    # simply sends again.
    eventually(
        lambda: osmand_report(system, report)[0] == 200 or None,
        what="the gateway to accept the phone's report",
    )

    def fix_shown() -> str | None:
        page = row()
        return page if "device fix" in page else None

    shown = eventually(fix_shown, what="the fix on the caseload page")
    (zone,) = [o["time_zone"] for o in system.api("olivia").get("/offices") if o["name"] == OFFICE]
    assert _cell(shown, "Last contact") == f"{office_time(at, zone)} device fix"
    assert _cell(shown, "Device").startswith("battery 37 % last fix ")
