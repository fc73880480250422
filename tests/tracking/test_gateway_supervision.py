"""``ontrack gateway`` as an operator runs it: its workers are replaced when they die, each
process reports a heartbeat, and a stop with devices connected says so in one line.

Every test runs the real command as a subprocess on its own SQLite file and free ports; its
output goes to a file the test reads while it runs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ontrack.tracking.protocols import teltonika
from tests.support import cli_environment, free_port, migrated
from tests.tracking.gateway_helpers import eventually, receive_exactly

IMEIS = [f"35209308200{n:04d}" for n in range(3)]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated ontrack home with three registered Teltonika devices."""
    home = tmp_path_factory.mktemp("gateway-supervision")
    env = cli_environment(home)
    code = (
        "from ontrack.accounts.actors import SYSTEM\n"
        "from ontrack.tracking.services.devices import device_register\n"
        f"for imei in {IMEIS!r}:\n"
        "    device_register(actor=SYSTEM, identifier=imei, protocol='teltonika', kind='ankle')\n"
    )
    cli = [sys.executable, "-m", "ontrack.cli"]
    migrated(home)
    subprocess.run([*cli, "manage", "shell", "-c", code], env=env, check=True, capture_output=True)
    return home


class RunningGateway:
    """``ontrack gateway`` in a subprocess, its combined output in ``log``."""

    def __init__(self, home: Path, log: Path, *flags: str) -> None:
        self.home, self.log = home, log
        self.teltonika_port = free_port()
        self.osmand_port = free_port()
        env = {**cli_environment(home), "ONTRACK_HEARTBEAT_S": "0.5"}
        with log.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ontrack.cli", "gateway", "--host", "127.0.0.1",
                 "--teltonika-port", str(self.teltonika_port),
                 "--osmand-port", str(self.osmand_port), "--gt06-port", "off",
                 "--h02-port", "off", "--watch-port", "off",
                 "--tk103-port", "off", "--queclink-port", "off",
                 "--meitrack-port", "off", "--suntech-port", "off",
                 "--mqtt-host", "off", *flags],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text()

    def listening(self) -> dict[int, int]:
        """Worker index -> pid of the latest process of that worker that said it listens."""
        found: dict[int, int] = {}
        for line in self.output().splitlines():
            if "gateway listening" in line:
                pid = int(re.search(r"\bpid=(\d+)", line).group(1))  # type: ignore[union-attr]
                worker = re.search(r"\bworker=(\d+)", line)
                found[int(worker.group(1)) if worker else 0] = pid
        return found

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.output()


@pytest.fixture
def gateway_factory(home: Path, tmp_path: Path) -> Iterator[Callable[..., RunningGateway]]:
    """Start ``ontrack gateway *flags``; every one started is stopped after the test."""
    started: list[RunningGateway] = []

    def start(*flags: str) -> RunningGateway:
        started.append(RunningGateway(home, tmp_path / f"gateway-{len(started)}.log", *flags))
        return started[-1]

    yield start
    for gateway in started:
        gateway.stop()


def _send_packets(port: int, first: int, count: int) -> int:
    """Send ``count`` one-record packets from each device; return the records acknowledged."""
    acknowledged = 0
    for offset, imei in enumerate(IMEIS):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.settimeout(30)
            sock.sendall(len(imei).to_bytes(2, "big") + imei.encode())
            assert receive_exactly(sock, 1) == teltonika.HANDSHAKE_ACCEPT
            for n in range(first, first + count):
                when = START + timedelta(seconds=10 * n + offset)
                record = teltonika.encode_record(time=when, lat=40.0 + n / 10_000,
                                                 lon=-74.0, satellites=8)  # fmt: skip
                sock.sendall(teltonika.encode_packet(teltonika.CODEC_8, 1, record))
                acknowledged += int.from_bytes(receive_exactly(sock, 4), "big")
    return acknowledged


def _query(home: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(home / "ontrack.sqlite3", timeout=30) as db:
        return db.execute(sql).fetchall()


def _stored(home: Path) -> int:
    return int(_query(home, "select count(*) from tracking_position")[0][0])  # type: ignore[call-overload]


def _gateway_beats(home: Path) -> dict[str, dict[str, object]]:
    """Running gateway heartbeats: instance -> details."""
    rows = _query(
        home,
        "select instance, details from operations_heartbeat "
        "where kind = 'gateway' and stopped_at is null",
    )
    return {str(instance): json.loads(str(details)) for instance, details in rows}


def test_a_killed_worker_is_replaced_and_frames_after_it_are_stored(
    home: Path, gateway_factory: Callable[..., RunningGateway]
) -> None:
    gateway = gateway_factory("--workers", "2")
    assert eventually(lambda: len(gateway.listening()) == 2, timeout=30), gateway.output()
    victim = gateway.listening()[0]
    survivor = gateway.listening()[1]

    os.kill(victim, signal.SIGKILL)

    def replaced() -> bool:
        return gateway.listening().get(0) not in (None, victim)

    assert eventually(replaced, timeout=30), "worker 0 replaced:\n" + gateway.output()
    first_replacement = gateway.listening()[0]
    assert gateway.listening()[1] == survivor, "the other worker kept running"

    os.kill(first_replacement, signal.SIGKILL)  # dies again at once: the wait doubles

    def replaced_again() -> bool:
        return gateway.listening().get(0) not in (None, victim, first_replacement)

    assert eventually(replaced_again, timeout=30), "replaced again:\n" + gateway.output()
    replacement = gateway.listening()[0]
    restarts = [line for line in gateway.output().splitlines() if "restarting" in line]
    assert len(restarts) == 2, gateway.output()
    assert f"pid={victim}" in restarts[0], restarts[0]
    assert "exitcode=-9" in restarts[0], restarts[0]
    assert "restart_in_s=1.0" in restarts[0], restarts[0]
    assert f"pid={first_replacement}" in restarts[1]
    assert "restart_in_s=2.0" in restarts[1]

    before = _stored(home)
    acknowledged = sum(_send_packets(gateway.teltonika_port, 10 * n, 2) for n in range(4))
    assert acknowledged == 24
    assert eventually(lambda: _stored(home) == before + 24, timeout=30), (
        "every frame acknowledged after the restart is stored"
    )

    def both_beat() -> bool:
        ours = (f":{replacement}/0", f":{survivor}/1")
        mine = {k: v for k, v in _gateway_beats(home).items() if k.endswith(ours)}
        return len(mine) == 2 and any(v.get("last_stored_at") for v in mine.values())

    assert eventually(both_beat, timeout=15), _gateway_beats(home)
    details = next(v for k, v in _gateway_beats(home).items() if k.endswith(f":{replacement}/0"))
    assert details["worker"] == 0
    assert details["spool_bytes"] == 0
    assert {"connections", "stored_fixes", "stored_events"} <= details.keys()

    output = gateway.stop()
    assert gateway.process.returncode == 0, output
    assert output.count("gateway stopped") == 2, "the survivor and the replacement stop cleanly"
    stopped = _query(home, "select instance from operations_heartbeat where stopped_at is not null")
    assert any(str(k).endswith(f":{replacement}/0") for (k,) in stopped), stopped


def test_a_stop_with_devices_connected_is_one_line_without_tracebacks(
    home: Path, gateway_factory: Callable[..., RunningGateway]
) -> None:
    """Teltonika and OsmAnd connections left open (the devices idle between reports) used to
    give one ``CancelledError`` traceback each when the gateway stopped."""
    gateway = gateway_factory()
    assert eventually(lambda: gateway.listening(), timeout=30), gateway.output()
    idle: list[socket.socket] = []
    try:
        for n in range(40):
            imei = IMEIS[n % len(IMEIS)]
            teltonika_sock = socket.create_connection(("127.0.0.1", gateway.teltonika_port))
            teltonika_sock.sendall(len(imei).to_bytes(2, "big") + imei.encode())
            assert receive_exactly(teltonika_sock, 1) == teltonika.HANDSHAKE_ACCEPT
            osmand_sock = socket.create_connection(("127.0.0.1", gateway.osmand_port))
            osmand_sock.sendall(b"GET /?id=")  # a request half-sent
            idle += [teltonika_sock, osmand_sock]
        assert eventually(
            lambda: any(v.get("connections") == 80 for v in _gateway_beats(home).values()),
            timeout=15,
        ), "the heartbeat counts the open connections"
        output = gateway.stop()
    finally:
        for sock in idle:
            sock.close()
    assert gateway.process.returncode == 0, output
    assert "Traceback" not in output, output
    assert "CancelledError" not in output, output
    assert "ERROR" not in output, output
    stops = [line for line in output.splitlines() if "gateway stopped" in line]
    assert len(stops) == 1, output
    assert "connections=0" in stops[0], output
