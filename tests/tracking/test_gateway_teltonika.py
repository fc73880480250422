"""The Teltonika server: handshake, record-count acknowledgement after durable, bad CRCs."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ontrack.tracking.models import DeviceEventRecord, Position
from ontrack.tracking.protocols import teltonika
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import closed_by_peer, connect, receive_exactly, running_gateway
from tests.tracking.protocols.test_teltonika_real import PACKETS

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "352093081452251"
WHEN = datetime(2026, 3, 1, 9, 15, tzinfo=UTC)


def _handshake(imei: str = IMEI) -> bytes:
    return len(imei).to_bytes(2, "big") + imei.encode()


def _packet(count: int) -> bytes:
    records = b"".join(
        teltonika.encode_record(time=WHEN.replace(minute=15 + n), lat=41.8781 + n / 1000,
                                lon=-87.6298, speed=30, satellites=9, io={113: 80})
        for n in range(count)
    )  # fmt: skip
    return teltonika.encode_packet(teltonika.CODEC_8, count, records)


def test_records_are_acknowledged_with_their_count_once_stored(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        assert receive_exactly(sock, 1) == teltonika.HANDSHAKE_ACCEPT
        sock.sendall(_packet(3))
        assert receive_exactly(sock, 4) == (3).to_bytes(4, "big")
        assert Position.objects.count() == 3, "stored before the acknowledgement"
        sock.close()
    latest = Position.objects.order_by("-time").first()
    assert latest is not None
    assert latest.lat is not None
    assert round(latest.lat, 4) == 41.8801


def test_an_unknown_imei_is_rejected_with_zero(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake("111111111111111"))
        assert receive_exactly(sock, 1) == teltonika.HANDSHAKE_REJECT
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1


def test_a_packet_with_a_bad_crc_is_stored_acknowledged_and_counted(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    packet = bytearray(_packet(2))
    packet[-1] ^= 0x55
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(bytes(packet))
        assert receive_exactly(sock, 4) == (2).to_bytes(4, "big")
        assert gateway.counters["crc_mismatches"] == 1
        assert gateway.counters["bad_frames"] == 0
        sock.close()
    assert Position.objects.count() == 2


def test_with_strict_crc_a_bad_crc_is_answered_zero_and_not_stored(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    packet = bytearray(_packet(2))
    packet[-1] ^= 0x55
    with running_gateway(tmp_path, strict_crc=True) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(bytes(packet))
        assert receive_exactly(sock, 4) == b"\x00\x00\x00\x00"
        sock.sendall(_packet(2))  # the device sends it again, intact
        assert receive_exactly(sock, 4) == (2).to_bytes(4, "big")
        assert gateway.counters["crc_mismatches"] == 1
        sock.close()
    assert Position.objects.count() == 2


def test_a_record_with_an_impossible_time_is_dropped_and_the_rest_acknowledged(
    tmp_path: Path,
) -> None:
    register_device(IMEI, "teltonika")
    good = teltonika.encode_record(time=WHEN, lat=41.0, lon=-87.0, satellites=7)
    clockless = teltonika.encode_record(
        time=datetime(1980, 1, 6, tzinfo=UTC), lat=41.1, lon=-87.0, satellites=7
    )  # a unit whose clock was never set reports the GPS epoch
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(teltonika.encode_packet(teltonika.CODEC_8, 2, clockless + good))
        assert receive_exactly(sock, 4) == (2).to_bytes(4, "big"), "both records acknowledged"
        assert gateway.counters["dropped_record_time_out_of_range"] == 1
        sock.close()
    assert Position.objects.count() == 1


def test_an_sos_event_is_stored(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    record = teltonika.encode_record(time=WHEN, lat=41.0, lon=-87.0, satellites=7,
                                     event_io_id=236, io={236: 1})  # fmt: skip
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(teltonika.encode_packet(teltonika.CODEC_8, 1, record))
        assert receive_exactly(sock, 4) == (1).to_bytes(4, "big")
        sock.close()
    assert DeviceEventRecord.objects.filter(kind="sos").count() == 1


def test_a_malformed_header_closes_the_connection(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(b"\x01\x02\x03\x04\x00\x00\x00\x10")
        assert closed_by_peer(sock)


def test_a_real_codec16_packet_is_stored_record_by_record(tmp_path: Path) -> None:
    register_device(IMEI, "teltonika")
    (fmb640,) = [real.data for real in PACKETS if real.source.startswith("TN, Codec 16 FMB640")]
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(_handshake())
        receive_exactly(sock, 1)
        sock.sendall(fmb640)
        assert receive_exactly(sock, 4) == (4).to_bytes(4, "big")
        sock.close()
    assert Position.objects.count() == 4
