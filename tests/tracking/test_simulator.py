"""The simulator's wearers: deterministic for a seed, plausible, and accepted by the gateway."""

import asyncio
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import pytest

from ontrack.tracking.models import Position
from ontrack.tracking.protocols import (
    gt06,
    h02,
    meitrack,
    queclink,
    suntech,
    teltonika,
    tk103,
    watch,
)
from ontrack.tracking.protocols.records import DeviceEvent, EventKind
from ontrack.tracking.simulator.wearers import (
    Report,
    SimulatorOptions,
    Wearer,
    gt06_frames,
    h02_frames,
    meitrack_frames,
    queclink_frames,
    simulate,
    suntech_frames,
    teltonika_packet,
    tk103_frames,
    watch_frames,
)
from tests.support import fix_position
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import eventually, running_gateway

NIGHT = datetime(2026, 3, 4, 7, 0, tzinfo=UTC)  # 02:00 in New York, earlier further west


def _trace(seed: int) -> list[tuple[float, float]]:
    wearer = Wearer.create("359710049095095", seed)
    return [(r.lat, r.lon) for t in range(50) for r in
            wearer.step(NIGHT + timedelta(minutes=30 * t), 1800)]  # fmt: skip


def test_the_same_seed_gives_the_same_wearer_and_another_seed_another() -> None:
    assert _trace(7) == _trace(7)
    assert _trace(7) != _trace(8)


def test_a_wearer_is_home_at_night_and_stays_near_a_city() -> None:
    wearer = Wearer.create("359710049095095", 3)
    lat, lon, speed, _ = wearer.position(NIGHT)
    assert speed == 0
    assert abs(lat - wearer.home[0]) < 0.001
    assert abs(lon - wearer.home[1]) < 0.001
    assert 24 < lat < 42, "in the continental US"
    assert -119 < lon < -73, "in the continental US"


def test_simulated_frames_decode_with_the_real_decoders() -> None:
    wearer = Wearer.create("352093081452251", 1)
    reports = wearer.step(NIGHT, 60) or wearer.held
    frames = gt06_frames(reports[0], 5)
    decoded = gt06.decode(frames[0], imei="352093081452251")
    assert round(fix_position(decoded.records[0])[0], 4) == round(reports[0].lat, 4)
    packet = teltonika.decode_packet(teltonika_packet(reports), imei="352093081452251")
    assert packet.record_count == len(reports)


def test_simulated_h02_and_watch_alarms_decode_to_their_events() -> None:
    report = Report(NIGHT, 41.8781, -87.6298, 0.0, 0.0, 15, False, events=("sos", "tamper"))

    h02_records = h02.decode(h02_frames("4210051415", report)[0]).records
    watch_records = [
        record
        for frame in watch_frames("8800000015", report)
        for record in watch.decode(frame).records
    ]

    assert [r.kind for r in h02_records if isinstance(r, DeviceEvent)] == [EventKind.SOS]
    assert {r.kind for r in watch_records if isinstance(r, DeviceEvent)} == {
        EventKind.SOS,
        EventKind.DEVICE_REMOVED,
    }


def test_simulated_tk103_and_queclink_alarms_decode_to_their_events() -> None:
    events = ("sos", "power_cut", "low_battery")
    report = Report(NIGHT, 41.8781, -87.6298, 0.0, 0.0, 15, False, events=events)

    def kinds(module: ModuleType, frames: list[bytes]) -> list[EventKind]:
        decoded = [record for frame in frames for record in module.decode(frame).records]
        return [record.kind for record in decoded if isinstance(record, DeviceEvent)]

    expected = [EventKind.SOS, EventKind.EXTERNAL_POWER_CUT, EventKind.LOW_BATTERY]
    assert kinds(tk103, tk103_frames("359586015829802", report)) == expected
    assert kinds(queclink, queclink_frames("860599000773978", report)) == expected


def test_simulated_meitrack_and_suntech_alarms_decode_to_their_events() -> None:
    report = Report(NIGHT, 41.8781, -87.6298, 0.0, 0.0, 15, False, events=("sos", "power_cut"))

    def kinds(module: ModuleType, frames: list[bytes]) -> list[EventKind]:
        records = [record for frame in frames for record in module.decode(frame).records]
        return [record.kind for record in records if isinstance(record, DeviceEvent)]

    both = [EventKind.SOS, EventKind.EXTERNAL_POWER_CUT]
    assert kinds(meitrack, meitrack_frames("353358017784062", report)) == both
    assert kinds(suntech, suntech_frames("317652", report)) == both


def _broker_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 1883), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("protocol", "identifier"),
    [
        ("gt06", "359710049095095"),
        ("teltonika", "352093081452251"),
        ("osmand", "sim-phone-1"),
        ("h02", "4210051415"),
        ("watch", "8800000015"),
        ("tk103", "359586015829802"),
        ("queclink", "860599000773978"),
        ("meitrack", "353358017784062"),
        ("suntech", "317652"),
        pytest.param(
            "mqtt",
            "sim-mqtt-1",
            marks=pytest.mark.skipif(
                not _broker_reachable(), reason="no MQTT broker at 127.0.0.1:1883"
            ),
        ),
    ],
)
def test_simulated_devices_of_each_protocol_deliver_positions_to_a_gateway(
    tmp_path: Path, protocol: str, identifier: str
) -> None:
    """The simulator speaks each protocol well enough for the real gateway to store what it
    sends: over TCP (GT06, Teltonika, H02, Watch, Meitrack, Suntech), HTTP (OsmAnd) and through
    Mosquitto (MQTT)."""
    register_device(identifier, protocol)
    overrides: dict[str, object] = {}
    if protocol == "mqtt":
        overrides = {"mqtt_host": "127.0.0.1", "mqtt_port": 1883,
                     "mqtt_client_id": f"ontrack-test-{uuid.uuid4().hex[:8]}"}  # fmt: skip
    with running_gateway(tmp_path, **overrides) as gateway:
        if protocol == "mqtt":
            assert eventually(lambda: gateway._mqtt.connected.is_set()), "gateway subscribed"
        options = SimulatorOptions(devices=1, protocol=protocol, port=gateway.ports.get(protocol),
                                   rate=0.2, duration=1.5, seed=1)  # fmt: skip
        stats = asyncio.run(simulate(options, [(identifier, protocol)]))
        assert stats.sent >= 1, stats
        assert stats.errors == 0, stats
        assert eventually(lambda: Position.objects.filter(device__identifier=identifier).exists())


@pytest.mark.django_db(transaction=True)
def test_a_simulated_app_reconnects_when_the_gateway_closed_its_idle_connection(
    tmp_path: Path,
) -> None:
    """The gateway closes an idle keep-alive connection after its handshake timeout. An app
    reporting less often than that opens a new connection for its next report, as HTTP
    clients do, instead of losing the report on the closed one (the demo's app wearers
    report every 30 s or so, against a 30 s timeout)."""
    register_device("sim-app-idle", "osmand")
    with running_gateway(tmp_path, handshake_timeout=0.3) as gateway:
        options = SimulatorOptions(devices=1, protocol="osmand", port=gateway.ports["osmand"],
                                   rate=0.8, duration=3.0, seed=1)  # fmt: skip
        stats = asyncio.run(simulate(options, [("sim-app-idle", "osmand")]))
    assert stats.sent >= 3, stats
    assert (stats.errors, stats.acked) == (0, stats.sent), stats
