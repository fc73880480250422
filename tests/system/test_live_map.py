"""The live map through the running processes: a GT06 unit's frame, received by the
gateway and stored, moves its wearer on the positions the officer's live map polls."""

from __future__ import annotations

import datetime as dt
import functools
import time
from typing import Any

import pytest

from tests.system.harness import System, enrol, eventually, fit_device

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")

HOME = (40.7357, -74.1724)
COURT = (40.7336, -74.1711)


def _on_map(system: System, participant_id: int) -> dict[str, Any] | None:
    response = system.browser("olivia").get("/tracking/map/positions.json")
    assert response.status_code == 200, response.text[:500]
    by_id = {w["id"]: w for w in response.json()["wearers"]}
    return by_id.get(participant_id)


def _at(seconds_ago: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_a_gt06_frame_moves_the_wearer_on_the_officers_live_map(system: System) -> None:
    pid = enrol(system, gps=True)["id"]
    imei = fit_device(system, pid)
    # Fitted, nothing reported yet: on the map's list, without a place.
    fitted = _on_map(system, pid)
    assert fitted is not None
    assert (fitted["lat"], fitted["state"]) == (None, "stale")

    def at(place: tuple[float, float]) -> dict[str, Any] | None:
        wearer = _on_map(system, pid)
        if wearer and wearer["lat"] is not None and abs(wearer["lat"] - place[0]) < 1e-4:
            return wearer
        return None

    # Each fix dated as it is sent: after the fitting (an earlier fix would be the unit's
    # previous wearer's place), and the second after the first.
    for place in (HOME, COURT):
        time.sleep(1)
        system.simulate(
            {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
                {"at": _at(0), "lat": place[0], "lon": place[1]},
            ]}]}
        )  # fmt: skip
        wearer = eventually(functools.partial(at, place), what=f"the wearer at {place}")
        assert abs(wearer["lon"] - place[1]) < 1e-4
        assert wearer["state"] == "current"
        assert wearer["device"] == imei
        assert wearer["url"] == f"/participants/{pid}/"
    # The supervisor's scope is the office: the same wearer; an administrator's, everyone.
    sam = system.browser("sam").get("/tracking/map/positions.json").json()
    assert pid in {w["id"] for w in sam["wearers"]}
