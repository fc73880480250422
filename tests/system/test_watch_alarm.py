"""A personal watch through every process: registered on the inventory form as a Watch / 3G
device and fitted, it keeps its link with ``LK`` and its wearer presses SOS; the gateway
answers the keep-alive at once and the alarm only once it is stored, and the officer's
alert queue shows the SOS."""

from __future__ import annotations

import datetime as dt
import socket
import time
from typing import Any

import pytest

from tests.system.harness import System, enrol, eventually, fit_device, watch_frame

pytestmark = pytest.mark.xdist_group("system")


def test_a_watch_sos_reaches_the_officers_queue(system: System) -> None:
    pid = enrol(system, gps=True)["id"]
    watch_id = fit_device(system, pid, protocol="watch")
    time.sleep(2)  # the fit reaches the gateway's directory poll (0.5 s here)
    now = dt.datetime.now(dt.UTC)
    # UD-style alarm: date, time, fix, position, speed, course, altitude, satellites,
    # GSM signal, battery, steps, tumbles, terminal status (bit 16: SOS), no cells.
    alarm = (
        f"AL,{now:%d%m%y},{now:%H%M%S},A,40.735700,N,74.172400,W,0.00,0.0,10.0,7,80,64,0,0,"
        "00010000,0,0"
    )
    with socket.create_connection(("127.0.0.1", system.ports["watch"]), timeout=10) as sock:
        sock.settimeout(10)
        sock.sendall(watch_frame(watch_id, "LK,0,0,64"))
        assert sock.recv(64) == watch_frame(watch_id, "LK"), "the keep-alive is answered"
        sock.sendall(watch_frame(watch_id, alarm))
        assert sock.recv(64) == watch_frame(watch_id, "AL"), "the alarm is answered"

    def sos() -> list[dict[str, Any]]:
        page = system.api("olivia").get("/alerts", participant=pid, kind="sos")
        results: list[dict[str, Any]] = page["results"]
        return results

    (alert,) = eventually(sos, what="the watch's SOS in the officer's queue", timeout=15)
    assert alert["status"] in ("open", "pending")
