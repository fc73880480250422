"""A unit's frames speak for whoever wears it when they are sent, including in the first
minute after it was fitted: the gateway keeps a directory of devices and their wearers and
reloads it within seconds of a fit, swap or take-back (``DirectoryVersion``)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from tests.system.harness import System, enrol, eventually, fit_device, register_device

# One running system serves every scenario (session fixture): keep them on one
# xdist worker so that it starts once.
pytestmark = pytest.mark.xdist_group("system")


def test_a_unit_in_stock_that_is_fitted_raises_its_new_wearers_tamper_alert_at_once(
    system: System,
) -> None:
    pid = enrol(system, gps=True)["id"]
    imei = register_device(system)
    system.device_online(imei)  # the gateway knows the unit: in stock, worn by nobody
    fit_device(system, pid, imei)
    # The fit reaches the gateway through its directory poll (0.5 s here, 2 s by default):
    # a strap cut in the seconds after the officer's click belongs to the new wearer. With
    # the old 60 s directory refresh this test fails.
    time.sleep(2)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    system.simulate(
        {"wearers": [{"device": imei, "protocol": "gt06", "steps": [
            {"at": now, "lat": 40.7357, "lon": -74.1724, "event": "strap_cut"},
        ]}]}
    )  # fmt: skip

    def tamper() -> list[dict[str, Any]]:
        page = system.api("olivia").get("/alerts", participant=pid, kind="strap_tamper")
        results: list[dict[str, Any]] = page["results"]
        return results

    (alert,) = eventually(tamper, what="the cut strap's alert for the new wearer", timeout=8)
    assert alert["status"] == "open"
