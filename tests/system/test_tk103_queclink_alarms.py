"""A TK103 vehicle unit and a Queclink GL300 through every process: each registered on the
inventory form and fitted, the gateway answers its login or heartbeat, and the SOS it sends
(a TK103 ``help me`` report, a Queclink ``GTSOS``) reaches the officer's alert queue."""

from __future__ import annotations

import datetime as dt
import socket
import time
from typing import Any

import pytest

from ontrack.tracking.protocols import queclink, tk103
from tests.system.harness import System, enrol, eventually, fit_device

pytestmark = pytest.mark.xdist_group("system")


def _sos_alerts(system: System, pid: int) -> list[dict[str, Any]]:
    page = system.api("olivia").get("/alerts", participant=pid, kind="sos")
    results: list[dict[str, Any]] = page["results"]
    return results


def test_a_tk103_help_me_and_a_queclink_sos_reach_the_officers_queue(system: System) -> None:
    tk103_pid = enrol(system, gps=True)["id"]
    tk103_imei = fit_device(system, tk103_pid, protocol="tk103")
    queclink_pid = enrol(system, gps=True)["id"]
    queclink_imei = fit_device(system, queclink_pid, protocol="queclink")
    time.sleep(2)  # the fits reach the gateway's directory poll (0.5 s here)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    with socket.create_connection(("127.0.0.1", system.ports["tk103"]), timeout=10) as sock:
        sock.settimeout(10)
        sock.sendall(f"##,imei:{tk103_imei},A;".encode())
        assert sock.recv(64) == b"LOAD", "the login is answered"
        sock.sendall(
            tk103.encode_report(tk103_imei, time=now, lat=40.7357, lon=-74.1724, keyword="help me")
        )
        eventually(lambda: _sos_alerts(system, tk103_pid), what="the TK103's SOS", timeout=15)

    sos = queclink.encode_report(
        "1A0800", queclink_imei, time=now, lat=40.7357, lon=-74.1724, message="GTSOS", count=9
    )
    with socket.create_connection(("127.0.0.1", system.ports["queclink"]), timeout=10) as sock:
        sock.settimeout(10)
        sock.sendall(sos)
        assert sock.recv(64) == b"+SACK:0009$", "the SOS is acknowledged once stored"
    (alert,) = eventually(
        lambda: _sos_alerts(system, queclink_pid), what="the GL300's SOS", timeout=15
    )
    assert alert["status"] in ("open", "pending")
