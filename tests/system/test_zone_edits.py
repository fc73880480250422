"""A zone drawn for someone the gateway is already judging applies from their next fix.

The gateway keeps each wearer's compiled zones between batches and reads them again only
when the zone set's version has changed (database triggers on zones, attachments and time
zones). Here the officer draws an exclusion zone, through the API, around where a wearer is
about to go, after the gateway has judged the wearer's fixes with no zone at all; had the
gateway not noticed, it would judge the next fix against no zone and log no entry."""

from __future__ import annotations

import re

import pytest

from tests.system.alert_scenarios import AWAY, EXCLUDED, at_seconds_ago
from tests.system.harness import System, enrol, eventually, fit_device

pytestmark = [pytest.mark.xdist_group("system"), pytest.mark.both_databases]


def _stored_at(system: System, participant_id: int, place: tuple[float, float]) -> bool:
    """Whether a valid fix of the participant's at ``place`` (lat, lon) is stored."""
    positions = system.api("olivia").get(
        f"/participants/{participant_id}/positions",
        start=at_seconds_ago(3600),
        end=at_seconds_ago(-3600),
    )["results"]
    return any(
        p["valid"] and abs(p["lat"] - place[0]) < 1e-4 and abs(p["lon"] - place[1]) < 1e-4
        for p in positions
    )


def test_a_zone_drawn_for_a_wearer_the_gateway_already_judges_applies_to_the_next_fix(
    system: System,
) -> None:
    pid = enrol(system, gps=True)["id"]
    imei = fit_device(system, pid)
    # Script times are whole seconds: a fix stamped in the second the unit was fitted may
    # come before the fitting and so not be the wearer's. A unit's clock a few seconds
    # ahead is well within the future filter (5 min), and the second fix is later still.
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": at_seconds_ago(-2), "lat": AWAY[0], "lon": AWAY[1]},
        ]}]}
    )  # fmt: skip
    eventually(lambda: _stored_at(system, pid, AWAY), what="the fix away from the address stored")

    zone = system.api("olivia").post(
        f"/participants/{pid}/zones",
        {
            "name": "Protected address",
            "kind": "exclusion",
            "geometry": {"type": "Circle", "center": [EXCLUDED[1], EXCLUDED[0]], "radius_m": 300},
        },
    )
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": at_seconds_ago(-3), "lat": EXCLUDED[0], "lon": EXCLUDED[1]},
        ]}]}
    )  # fmt: skip
    entry = re.compile(rf"zone {zone['id']} participant {pid} violation at ")
    eventually(
        lambda: entry.search(system.tails(100_000, only=["gateway"])),
        what="the gateway to judge the fix inside the new zone a violation",
    )
