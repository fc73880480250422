"""``ontrack simulate`` as an operator runs it: a separate process per protocol, against
``ontrack gateway`` running as its own process on a real SQLite file (and, for MQTT, through
the Mosquitto broker on 127.0.0.1:1883). Each must get positions stored."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import cli_environment, free_port, migrated
from tests.tracking.gateway_helpers import eventually

DEVICES = {
    "gt06": "359710049095111",
    "teltonika": "352093081452222",
    "osmand": "sim-osmand-phone",
    "h02": "4210051998",  # a wearer with no silent opening under --seed 5
    "watch": "8800000999",
    "tk103": "359586015829999",
    "queclink": "860599000779999",
    "meitrack": "353358017784999",
    "suntech": "205027999",
    # A wearer with no opening incident under --seed 5: a silent opening (decided by the
    # identifier) would publish nothing in the two-second run.
    "mqtt": "sim-mqtt-00000001",
}


def _broker_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, int]]]:
    """A migrated home with one registered device per protocol and its gateway running."""
    home = tmp_path_factory.mktemp("simulate-home")
    env = cli_environment(home)
    code = (
        "from ontrack.accounts.actors import SYSTEM\n"
        "from ontrack.tracking.services.devices import device_register\n"
        f"for protocol, identifier in {DEVICES!r}.items():\n"
        "    kind = 'phone' if protocol in ('osmand', 'mqtt') else 'ankle'\n"
        "    device_register(actor=SYSTEM, identifier=identifier, protocol=protocol, kind=kind)\n"
    )
    migrated(home)
    subprocess.run([sys.executable, "-m", "ontrack.cli", "manage", "shell", "-c", code],
                   env=env, check=True, capture_output=True)  # fmt: skip
    servers = ("gt06", "teltonika", "osmand", "h02", "watch", "tk103", "queclink", "meitrack",
               "suntech")  # fmt: skip
    ports = {name: free_port() for name in servers}
    broker = _broker_reachable()
    mqtt = ["--mqtt-client-id", f"ontrack-test-{uuid.uuid4().hex[:8]}"]
    if not broker:
        mqtt = ["--mqtt-host", "off"]
    log = home / "gateway.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "ontrack.cli", "gateway", "--host", "127.0.0.1",
             *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))),
             *mqtt],
            env=env, stdout=output, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def listening() -> bool:
        try:
            socket.create_connection(("127.0.0.1", ports["osmand"]), timeout=0.5).close()
        except OSError:
            return False
        return True

    def subscribed() -> bool:
        # A session the broker has never seen keeps nothing published before it subscribes,
        # so the simulated MQTT wearer must not start before the gateway's subscription.
        return not broker or "mqtt subscribed" in log.read_text()

    assert eventually(listening, timeout=30), "the gateway listens"
    assert eventually(subscribed, timeout=30), f"the gateway subscribes: {log.read_text()}"
    yield home, ports
    process.terminate()
    process.wait(timeout=30)


def _stored(home: Path, identifier: str) -> int:
    with sqlite3.connect(home / "ontrack.sqlite3", timeout=30) as db:
        return db.execute(
            "select count(*) from tracking_position p join tracking_device d "
            "on d.id = p.device_id where d.identifier = ?",
            (identifier,),
        ).fetchone()[0]


@pytest.mark.parametrize(
    "protocol",
    [
        "gt06",
        "teltonika",
        "osmand",
        "h02",
        "watch",
        "tk103",
        "queclink",
        "meitrack",
        "suntech",
        pytest.param(
            "mqtt",
            marks=pytest.mark.skipif(not _broker_reachable(), reason="no broker on 1883"),
        ),
    ],
)
def test_ontrack_simulate_delivers_positions_to_a_running_gateway(
    gateway: tuple[Path, dict[str, int]], protocol: str
) -> None:
    home, ports = gateway
    port = ["--port", str(ports[protocol])] if protocol in ports else []
    result = subprocess.run(
        [sys.executable, "-m", "ontrack.cli", "simulate", "--protocol", protocol,
         "--devices", "1", "--rate", "0.3", "--duration", "2", "--seed", "5", *port],
        env=cli_environment(home), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert eventually(lambda: _stored(home, DEVICES[protocol]) > 0, timeout=20), (
        f"positions of the simulated {protocol} device stored"
    )
