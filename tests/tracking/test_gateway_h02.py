"""The H02 server: real frames over a real socket, stored through the real database."""

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ontrack.tracking.models import DeviceEventRecord, Position
from ontrack.tracking.protocols import h02
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import (
    closed_by_peer,
    connect,
    eventually,
    receive_exactly,
    running_gateway,
)
from tests.tracking.protocols.frame_files import frame_starting

pytestmark = pytest.mark.django_db(transaction=True)

DEVICE = "4210051415"
# A real unit's V1 frame (frames/h02.txt): 22 Dec 2015 16:45:49, 9.93978 N 84.11178 W.
REAL_V1 = frame_starting("h02", "*HQ,4210051415,V1")
REPLY_LENGTH = len(b"*HQ,4210051415,V4,V1,20260301120000#")


def test_a_real_v1_frame_is_stored_then_answered(tmp_path: Path) -> None:
    register_device(DEVICE, "h02")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(REAL_V1 + b"\r\n")
        reply = receive_exactly(sock, REPLY_LENGTH)
        assert reply.startswith(b"*HQ,4210051415,V4,V1,")
        assert reply.endswith(b"#")
        assert Position.objects.count() == 1, "stored before the answer"
        sock.close()
    stored = Position.objects.get()
    assert stored.time == datetime(2015, 12, 22, 16, 45, 49, tzinfo=UTC)
    assert stored.lat is not None
    assert stored.lon is not None
    assert (round(stored.lat, 5), round(stored.lon, 5)) == (9.93978, -84.11178)


def test_a_binary_frame_with_a_cleared_sos_bit_stores_an_sos(tmp_path: Path) -> None:
    binary = frame_starting("h02", "2441060008")  # status FFFFFBFD: bit 1 cleared
    register_device("4106000826", "h02")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(binary)
        assert eventually(lambda: DeviceEventRecord.objects.filter(kind="sos").count() == 1)
        sock.close()
    assert Position.objects.count() == 1


def test_a_power_cut_is_stored_as_an_event(tmp_path: Path) -> None:
    register_device("4210209006", "h02")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(frame_starting("h02", "*HQ,4210209006"))
        receive_exactly(sock, len(b"*HQ,4210209006,V4,V1,20260301120000#"))
        sock.close()
    assert DeviceEventRecord.objects.filter(kind="external_power_cut").count() == 1


def test_an_unknown_device_is_closed_and_counted(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(REAL_V1)
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1
    assert Position.objects.count() == 0


def test_a_connection_cannot_speak_for_another_device(tmp_path: Path) -> None:
    register_device(DEVICE, "h02")
    register_device("4210209006", "h02")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(REAL_V1)
        receive_exactly(sock, REPLY_LENGTH)
        sock.sendall(frame_starting("h02", "*HQ,4210209006"))
        assert closed_by_peer(sock)
        assert gateway.counters["closed_identifier_changed"] == 1
    assert Position.objects.count() == 1


def test_a_device_registered_for_another_protocol_is_refused(tmp_path: Path) -> None:
    register_device("359710049095095", "gt06")
    frame = h02.encode_v1("359710049095095", time=datetime.now(UTC), lat=1.0, lon=2.0)
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(frame)
        assert closed_by_peer(sock)
        assert gateway.counters["protocol_mismatches"] == 1


def test_garbage_between_frames_is_skipped(tmp_path: Path) -> None:
    register_device(DEVICE, "h02")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["h02"])
        sock.sendall(b"noise" + REAL_V1)
        receive_exactly(sock, REPLY_LENGTH)
        assert gateway.counters["bad_bytes"] == 5
        sock.close()
    assert Position.objects.count() == 1


def test_a_trickling_client_is_closed(tmp_path: Path) -> None:
    register_device(DEVICE, "h02")
    with running_gateway(tmp_path, handshake_timeout=0.5) as gateway:
        sock = connect(gateway.ports["h02"])
        for byte in REAL_V1[:20]:
            try:
                sock.sendall(bytes([byte]))
            except (ConnectionResetError, BrokenPipeError):
                break  # a byte sent after the gateway closed is answered with a reset
            if closed_by_peer_soon(sock):
                break
        assert closed_by_peer(sock)
        assert gateway.counters["closed_timeout"] == 1


def closed_by_peer_soon(sock: socket.socket) -> bool:
    sock.settimeout(0.1)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.settimeout(10)


def test_the_text_ports_default_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ontrack.tracking.gateway.core import GatewayConfig

    assert (GatewayConfig().h02_port, GatewayConfig().watch_port) == (5013, 5093)
    monkeypatch.setenv("ONTRACK_GATEWAY_H02_PORT", "6013")
    monkeypatch.setenv("ONTRACK_GATEWAY_WATCH_PORT", "off")
    config = GatewayConfig.from_settings()
    assert config.h02_port == 6013
    assert config.watch_port is None


def test_the_tk103_and_queclink_ports_default_and_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ontrack.tracking.gateway.core import GatewayConfig

    assert (GatewayConfig().tk103_port, GatewayConfig().queclink_port) == (5001, 5004)
    monkeypatch.setenv("ONTRACK_GATEWAY_TK103_PORT", "6001")
    monkeypatch.setenv("ONTRACK_GATEWAY_QUECLINK_PORT", "off")
    config = GatewayConfig.from_settings()
    assert config.tk103_port == 6001
    assert config.queclink_port is None
