"""The gateway as an operator runs it (a separate process on a real SQLite file) through a
database outage and a kill -9: every acknowledged record ends up stored.

The outage is real: the test holds SQLite's write lock (``BEGIN EXCLUSIVE`` from its own
connection) for longer than the gateway's ``--db-timeout``, so ``store_batch`` fails with
"database is locked" exactly as it does when another process hogs the database.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ontrack.tracking.protocols import teltonika
from tests.support import cli_environment, free_port, migrated
from tests.tracking.gateway_helpers import eventually, receive_exactly

IMEIS = [f"35209308100{n:04d}" for n in range(3)]
START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated ontrack home with three registered Teltonika devices."""
    home = tmp_path_factory.mktemp("gateway-home")
    env = cli_environment(home)
    code = (
        "from ontrack.accounts.actors import SYSTEM\n"
        "from ontrack.tracking.services.devices import device_register\n"
        f"for imei in {IMEIS!r}:\n"
        "    device_register(actor=SYSTEM, identifier=imei, protocol='teltonika', kind='ankle')\n"
    )
    migrated(home)
    subprocess.run([sys.executable, "-m", "ontrack.cli", "manage", "shell", "-c", code],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return home


def _start_gateway(home: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = cli_environment(home)
    gateway = subprocess.Popen(
        [sys.executable, "-m", "ontrack.cli", "gateway", "--host", "127.0.0.1",
         "--teltonika-port", str(port), "--gt06-port", "off", "--osmand-port", "off",
         "--h02-port", "off", "--watch-port", "off",
         "--tk103-port", "off", "--queclink-port", "off",
         "--meitrack-port", "off", "--suntech-port", "off",
         "--mqtt-host", "off", "--db-timeout", "0.2", "--retry-interval", "0.3", *extra],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except OSError:
            return False
        return True

    assert eventually(listening, timeout=30), "the gateway listens"
    return gateway


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


def _stored(home: Path) -> int:
    with sqlite3.connect(home / "ontrack.sqlite3", timeout=30) as db:
        return db.execute("select count(*) from tracking_position").fetchone()[0]


def _stop(gateway: subprocess.Popen[str]) -> str:
    if gateway.poll() is None:
        gateway.send_signal(signal.SIGTERM)
    try:
        output, _ = gateway.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        gateway.kill()
        output, _ = gateway.communicate()
    return output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_records_acknowledged_during_an_outage_are_stored_after_it(
    home: Path, workers: str
) -> None:
    port = free_port()
    gateway = _start_gateway(home, port, "--workers", workers)
    base = 0 if workers == "1" else 1000
    try:
        before = _stored(home)
        assert _send_packets(port, base, 5) == 15
        assert eventually(lambda: _stored(home) == before + 15)
        lock = sqlite3.connect(home / "ontrack.sqlite3", isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            assert _send_packets(port, base + 100, 5) == 15, (
                "acknowledged while the database is away"
            )
            assert list((home / "spool").rglob("segment-*.spool")), "spooled to disk"
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        assert eventually(lambda: _stored(home) == before + 30, timeout=30), (
            "every acknowledged record stored once the database is back"
        )
        assert eventually(lambda: not list((home / "spool").rglob("segment-*.spool"))), (
            "spool emptied (a segment is deleted just after its records are committed)"
        )
    finally:
        output = _stop(gateway)
    assert "database unavailable, spooling" in output


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_kill_9_loses_no_acknowledged_record(home: Path, workers: str) -> None:
    """With workers, the kill -9 hits the parent: its workers notice and stop, and the
    restarted gateway's workers wait for their spool folders and replay them."""
    port = free_port()
    gateway = _start_gateway(home, port, "--workers", workers)
    first = 200 if workers == "1" else 400
    before = _stored(home)
    lock = sqlite3.connect(home / "ontrack.sqlite3", isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        assert _send_packets(port, first, 4) == 12
        os.kill(gateway.pid, signal.SIGKILL)
        gateway.communicate(timeout=30)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert _stored(home) == before, "nothing reached the database before the kill"
    restarted = _start_gateway(home, port, "--workers", workers)
    try:
        assert eventually(lambda: _stored(home) == before + 12, timeout=30), (
            "the restarted gateway replayed the spool"
        )
    finally:
        _stop(restarted)


def test_worker_processes_share_the_port_and_store_every_acknowledged_record(home: Path) -> None:
    """``--workers 2``: two gateway processes on one port (SO_REUSEPORT), each writing the
    connections the kernel gave it; a SIGTERM stops both cleanly."""
    port = free_port()
    gateway = _start_gateway(home, port, "--workers", "2")
    try:
        before = _stored(home)
        acknowledged = sum(_send_packets(port, 300 + 10 * round_, 3) for round_ in range(4))
        assert acknowledged == 36
        assert eventually(lambda: _stored(home) == before + 36, timeout=30)
    finally:
        gateway.send_signal(signal.SIGTERM)
        output, _ = gateway.communicate(timeout=60)
    assert gateway.returncode == 0, output
    assert output.count("gateway stopped") == 2, "both workers stopped cleanly"
