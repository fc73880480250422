"""The triage desk through every process: two wearers' straps are cut, the gateway stores
the units' alarm frames and raises two tamper alerts, and the signed-in officer claims one
from her queue, then acknowledges both together with one reason, over HTTP as her browser
would."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.system.alert_scenarios import at_seconds_ago, queued
from tests.system.harness import System, enrol, eventually, fit_device

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def test_tamper_alerts_from_two_units_are_claimed_and_acknowledged_together_by_the_officer(
    system: System,
) -> None:
    people = [enrol(system, gps=True) for _ in range(2)]
    units = [fit_device(system, p["id"]) for p in people]
    system.simulate(
        {"wearers": [
            {"device": imei, "protocol": "gt06", "steps": [
                {"at": at_seconds_ago(0), "lat": 40.7357, "lon": -74.1724, "event": "strap_cut"},
            ]}
            for imei in units
        ]}
    )  # fmt: skip

    def both_open() -> list[dict[str, Any]] | None:
        alerts = [queued(system, p["id"], "strap_tamper") for p in people]
        return (
            [a for a in alerts if a] if all(a and a["status"] == "open" for a in alerts) else None
        )

    alerts = eventually(both_open, what="both cut straps' alerts open in the officer's queue")
    ids = [a["id"] for a in alerts]
    officer = system.browser("olivia")

    unclaimed = "/alerts/?holder=unclaimed&kind=strap_tamper"
    claimed = officer.submit(unclaimed, {"next": unclaimed}, action=f"/alerts/{ids[0]}/claim/")
    assert claimed.status_code == 302
    mine = officer.page("/alerts/", holder="mine", kind="strap_tamper")
    assert f'<tr data-alert="{ids[0]}"' in mine
    assert f'<tr data-alert="{ids[1]}"' not in mine

    preview = f"/alerts/bulk-acknowledge/?alert={ids[0]}&alert={ids[1]}"
    summary = re.search(r'<p id="bulk-summary">([^<]*)', officer.page(preview))
    assert summary, "the bulk preview shows what it will acknowledge"
    assert summary.group(1).startswith("2 open Strap tamper alerts for 2 participants")
    done = officer.submit(
        preview,
        {"alert": ids, "reason": "Straps of one delivery batch report cuts falsely"},
        action="/alerts/bulk-acknowledge/",
    )
    assert done.status_code == 302

    api = system.api("olivia")
    for alert_id in ids:
        detail = api.get(f"/alerts/{alert_id}")
        assert detail["status"] == "acknowledged"
        assert detail["steps"][-1]["note"] == "Straps of one delivery batch report cuts falsely"
    first_steps = [s["action"] for s in api.get(f"/alerts/{ids[0]}")["steps"]]
    assert first_steps == ["status", "claim", "status"], "raised, claimed, acknowledged"
