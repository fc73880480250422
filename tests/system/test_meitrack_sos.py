"""A Meitrack personal tracker through every process: registered on the inventory form as a
Meitrack unit and fitted, its wearer presses SOS; the gateway stores the ``AAA`` report of
event 1 (answering nothing, as the protocol wants) and the officer's alert queue shows the
SOS."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

import pytest

from tests.system.harness import System, enrol, eventually, fit_device, meitrack_frame

pytestmark = pytest.mark.xdist_group("system")


def test_a_meitrack_sos_reaches_the_officers_queue(system: System) -> None:
    pid = enrol(system, gps=True)["id"]
    imei = fit_device(system, pid, protocol="meitrack")
    now = dt.datetime.now(dt.UTC)
    # Event 1 (SOS), position, time, fix, satellites, GSM, speed, course, HDOP, altitude,
    # odometer, run time, cell, I/O, analog inputs.
    sos_report = (
        f"AAA,1,40.735700,-74.172400,{now:%y%m%d%H%M%S},A,7,20,0,0,0.9,10,0,0,"
        "310|260|2A13|634E,0000,0000|0000|0000|0190|0000,"
    )
    with socket.create_connection(("127.0.0.1", system.ports["meitrack"]), timeout=10) as sock:
        sock.sendall(meitrack_frame(imei, sos_report))

        def sos() -> list[dict[str, Any]]:
            page = system.api("olivia").get("/alerts", participant=pid, kind="sos")
            results: list[dict[str, Any]] = page["results"]
            return results

        (alert,) = eventually(sos, what="the Meitrack unit's SOS in the officer's queue",
                              timeout=15)  # fmt: skip
    assert alert["status"] in ("open", "pending")
