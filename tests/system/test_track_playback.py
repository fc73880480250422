"""Track playback through the running processes: a GT06 unit's positions, played by the
simulator through the gateway, appear on the signed-in officer's track page as a playback
with a stop where the wearer stayed.

A stop takes a dwell of minutes, and the track shows only what was reported after the unit
was fitted (a moment ago), so the unit states its fixes up to a little over a minute ahead
of the clock, well within the gateway's tolerance for a clock running fast (5 minutes), and
the officer asks for stops of at least one minute, as the page allows."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.system.harness import System, enrol, eventually, fit_device

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")

HOME = (40.7357, -74.1724)
COURT = (40.7336, -74.1711)  # about 260 m from HOME


NEWARK = ZoneInfo("America/New_York")  # the seeded office's zone: the form's clock


def _z(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _office_clock(when: dt.datetime) -> str:
    return when.astimezone(NEWARK).strftime("%Y-%m-%dT%H:%M")


def test_a_simulated_units_positions_play_back_on_the_officers_track_page_with_a_stop(
    system: System,
) -> None:
    pid = enrol(system, gps=True)["id"]
    imei = fit_device(system, pid)
    time.sleep(1)  # fixes dated after the fitting, to the second
    t0 = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    plan = [(0, COURT), (10, HOME), (30, HOME), (50, HOME), (70, HOME), (85, COURT)]
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": _z(t0 + dt.timedelta(seconds=s)), "lat": place[0], "lon": place[1]}
            for s, place in plan
        ]}]}
    )  # fmt: skip
    officer = system.browser("olivia")
    window = {
        "start": _office_clock(t0 - dt.timedelta(minutes=1)),
        "end": _office_clock(t0 + dt.timedelta(minutes=5)),
        "stop_min": "1",
    }

    def played_back() -> tuple[str, dict[str, Any]] | None:
        page = officer.page(f"/tracking/participants/{pid}/track/", **window)
        found = re.search(r'<script id="track-playback" type="application/json">(.*?)</script>',
                          page, re.S)  # fmt: skip
        assert found, "the track page carries no playback"
        data: dict[str, Any] = json.loads(found.group(1))
        fixes = sum(len(segment) for segment in data["segments"])
        return (page, data) if fixes == len(plan) else None

    page, data = eventually(played_back, what="the unit's six fixes on the playback")
    (segment,) = data["segments"]
    assert [round(p[1], 4) for p in segment] == [round(place[0], 4) for _, place in plan]
    (stop,) = data["stops"]
    assert stop["start"] == int((t0 + dt.timedelta(seconds=10)).timestamp() * 1000)
    assert stop["end"] == int((t0 + dt.timedelta(seconds=70)).timestamp() * 1000)
    assert stop["label"].startswith("Stopped 1 min, ")
    assert stop["label"] in page, "the stop is not listed on the page"
    assert data["gaps"] == []
