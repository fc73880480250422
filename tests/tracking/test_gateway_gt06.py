"""The GT06 server: real frames over a real socket, stored through the real database."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ontrack.accounts.actors import SYSTEM
from ontrack.participants.models import Participant
from ontrack.tracking import handoff
from ontrack.tracking.models import DeviceEventRecord, Position
from ontrack.tracking.protocols import gt06
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import (
    closed_by_peer,
    connect,
    eventually,
    receive_exactly,
    running_gateway,
)

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "359710049095095"
WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def _login(imei: str = IMEI, serial: int = 1) -> bytes:
    return gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + imei), serial)


def test_a_registered_device_is_acknowledged_and_its_positions_stored(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login(serial=7))
        assert receive_exactly(sock, 10) == gt06.encode_frame(gt06.MSG_LOGIN, b"", 7)
        sock.sendall(
            gt06.encode_gps_lbs(time=WHEN, lat=40.7128, lon=-74.006, speed_kmh=12, serial=8)
            + gt06.encode_gps_lbs(time=WHEN.replace(second=35), lat=40.713, lon=-74.0062,
                                  serial=9)
        )  # fmt: skip
        assert eventually(lambda: Position.objects.count() == 2), "both fixes stored"
        sock.close()
    first = Position.objects.order_by("time").first()
    assert first is not None
    assert first.lat is not None
    assert first.lon is not None
    assert (round(first.lat, 4), round(first.lon, 4)) == (40.7128, -74.006)
    assert first.time == WHEN
    assert first.speed_kmh == 12


def test_an_alarm_is_acknowledged_only_once_its_event_is_stored(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    location = gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0, serial=3)
    content = location[4:22] + bytes([9]) + location[22:30] + bytes([0x44, 5, 4, 0x13, 2])
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        sock.sendall(gt06.encode_frame(gt06.MSG_ALARM, content, 0x1C))
        assert receive_exactly(sock, 10) == gt06.encode_frame(gt06.MSG_ALARM, b"", 0x1C)
        assert DeviceEventRecord.objects.filter(kind="tamper").count() == 1, (
            "the tamper event is in the database before the acknowledgement"
        )
        sock.close()


def test_an_unknown_device_gets_no_login_ack_and_is_counted(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login("123456789012345"))
        assert closed_by_peer(sock), "the connection of an unknown device is closed"
        assert gateway.counters["unknown_devices"] == 1
    assert Position.objects.count() == 0


def test_frames_before_login_close_the_connection(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0))
        assert closed_by_peer(sock)


def test_a_silent_or_trickling_client_is_closed_and_others_are_served(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    with running_gateway(tmp_path, handshake_timeout=0.5, idle_timeout=1.0) as gateway:
        port = gateway.ports["gt06"]
        silent = connect(port)
        trickler = connect(port)
        trickler.sendall(_login()[:5])  # a login that never completes
        device = connect(port)
        device.sendall(_login())
        assert receive_exactly(device, 10)[3] == gt06.MSG_LOGIN
        assert closed_by_peer(silent)
        assert closed_by_peer(trickler)
        device.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0))
        assert eventually(lambda: Position.objects.count() == 1)
        for sock in (silent, trickler, device):
            sock.close()


def test_garbage_and_oversized_frames_are_skipped_not_buffered(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        sock.sendall(b"\x00" * 50_000 + b"\x79\x79\xff\xff" + b"\x01" * 5_000)
        sock.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0))
        assert eventually(lambda: Position.objects.count() == 1), "the stream resynchronised"
        assert gateway.counters["bad_bytes"] >= 50_000
        sock.close()


def test_a_crc_mismatch_is_counted_and_the_frame_still_decoded(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    frame = bytearray(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0))
    frame[-4] ^= 0xFF
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        sock.sendall(bytes(frame))
        assert eventually(lambda: Position.objects.count() == 1)
        assert gateway.counters["crc_mismatches"] == 1
        sock.close()


def test_a_device_fitted_while_connected_reports_for_its_new_wearer_within_seconds(
    tmp_path: Path, make_participant: Callable[..., Participant]
) -> None:
    """The gateway's directory is reloaded when a device is fitted (a version number it
    checks every couple of seconds), not only at its periodic refresh."""
    import datetime as dt

    from django.utils import timezone

    from ontrack.participants.services import PlanData
    from ontrack.tracking.services.devices import device_assign

    device = register_device(IMEI, "gt06")
    wearer = make_participant(
        plan=PlanData(
            level="intensive",
            review_date=timezone.localdate() + dt.timedelta(days=90),
            gps_device=True,
        )
    )
    with running_gateway(tmp_path, directory_refresh=3600.0) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        device_assign(device, wearer, actor=SYSTEM, at=timezone.now())
        assert eventually(lambda: gateway.directory.devices[IMEI].participant_id == wearer.pk)
        sock.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0, serial=5))
        assert eventually(lambda: Position.objects.filter(participant=wearer).count() == 1)
        sock.close()


def test_gateway_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ontrack.tracking.gateway.core import GatewayConfig

    monkeypatch.setenv("ONTRACK_GATEWAY_DIRECTORY_POLL", "0.5")
    monkeypatch.setenv("ONTRACK_GATEWAY_GT06_PORT", "6023")
    monkeypatch.setenv("ONTRACK_GATEWAY_OSMAND_PORT", "off")
    monkeypatch.setenv("ONTRACK_GATEWAY_STRICT_CRC", "1")
    config = GatewayConfig.from_settings()
    assert config.directory_poll == 0.5
    assert config.gt06_port == 6023
    assert config.osmand_port is None
    assert config.strict_crc is True


def test_a_connection_from_outside_the_allowed_networks_is_closed_at_once(tmp_path: Path) -> None:
    register_device(IMEI, "gt06")
    with running_gateway(tmp_path, allowed_networks="10.64.0.0/10, 192.0.2.0/24") as gateway:
        for port in (gateway.ports["gt06"], gateway.ports["teltonika"], gateway.ports["osmand"]):
            sock = connect(port)
            sock.sendall(_login())
            assert closed_by_peer(sock)
        assert gateway.counters["refused_networks"] == 3
    with running_gateway(tmp_path, allowed_networks="127.0.0.0/8") as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        assert receive_exactly(sock, 10) == gt06.encode_frame(gt06.MSG_LOGIN, b"", 1)
        sock.close()


def test_a_position_is_acknowledged_only_once_it_is_stored(tmp_path: Path) -> None:
    """Concox units hold back or resend positions that go unacknowledged; the gateway
    acknowledges them as it does alarms, after the batch is durable."""
    register_device(IMEI, "gt06")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        sock.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0, serial=0x21))
        assert receive_exactly(sock, 10) == gt06.encode_frame(gt06.MSG_GPS_LBS, b"", 0x21)
        assert Position.objects.count() == 1, "the fix is in the database before the ack"
        sock.close()


def test_a_frame_whose_length_byte_is_wrong_is_cut_at_its_stop_bits_and_counted(
    tmp_path: Path,
) -> None:
    register_device(IMEI, "gt06")
    frame = bytearray(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0, serial=4))
    frame[2] += 3  # a firmware that miscounts its length
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(_login())
        receive_exactly(sock, 10)
        sock.sendall(bytes(frame))
        assert receive_exactly(sock, 10) == gt06.encode_frame(gt06.MSG_GPS_LBS, b"", 4)
        assert Position.objects.count() == 1
        assert gateway.counters["length_mismatches"] == 1
        assert gateway.counters["crc_mismatches"] == 1, "its CRC covers the wrong length byte"
        sock.close()


def test_a_login_whose_length_byte_claims_more_than_was_sent_is_answered(tmp_path: Path) -> None:
    """A real unit's login (Traccar's tests) counts a serial and CRC it does not send, then
    waits for its acknowledgement: after a quiet moment it is cut at its stop bits."""
    register_device("359339075005244", "gt06")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(bytes.fromhex("78780d010359339075005244340d0a"))
        assert receive_exactly(sock, 10)[2:4] == bytes([0x05, gt06.MSG_LOGIN])
        assert gateway.counters["length_mismatches"] == 1
        sock.close()


def test_a_position_is_acknowledged_while_the_zone_and_alert_rules_still_run(
    tmp_path: Path,
) -> None:
    """The acknowledgement waits for the commit, not for the rules run on the stored batch:
    a slow rule must not hold every device's acknowledgement. Here the rule finishes only
    once the device has its acknowledgement; had the ack waited for it, the read would time
    out (10 s) first."""
    register_device(IMEI, "gt06")
    rule_started = threading.Event()
    device_acknowledged = threading.Event()

    def slow_rule(batch: handoff.StoredBatch) -> None:
        rule_started.set()
        device_acknowledged.wait(30)

    handoff.register(slow_rule)
    try:
        with running_gateway(tmp_path) as gateway:
            sock = connect(gateway.ports["gt06"])
            sock.sendall(_login())
            receive_exactly(sock, 10)
            sock.sendall(gt06.encode_gps_lbs(time=WHEN, lat=40.7, lon=-74.0, serial=0x22))
            ack = receive_exactly(sock, 10)
            device_acknowledged.set()
            assert ack == gt06.encode_frame(gt06.MSG_GPS_LBS, b"", 0x22)
            assert Position.objects.count() == 1, "the fix is in the database before the ack"
            assert rule_started.wait(10), "the rules ran on the stored batch"
            sock.close()
    finally:
        device_acknowledged.set()
        handoff.unregister(slow_rule)
