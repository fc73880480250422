"""The Meitrack server: real frames over a real socket, stored through the real database;
checksum mismatches decoded and counted, and the on-demand location (A10)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import User
from ontrack.tracking.models import DeviceCommand, DeviceEventRecord, Position
from ontrack.tracking.protocols import meitrack
from ontrack.tracking.services.commands import device_locate_request
from ontrack.tracking.services.devices import device_assign
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import (
    closed_by_peer,
    connect,
    eventually,
    receive_exactly,
    running_gateway,
)
from tests.tracking.protocols.frame_files import frame_starting

DEVICE = "353358017784062"
CRLF = b"\r\n"
# The vendor's example of an SOS report (frames/meitrack.txt): 13 Mar 2010 09:56:53.
REAL_SOS = frame_starting("meitrack", "$$G127") + CRLF
REAL_REPORT = frame_starting("meitrack", "$$W129") + CRLF


@pytest.mark.django_db(transaction=True)
def test_a_real_sos_report_is_stored_with_its_position(tmp_path: Path) -> None:
    register_device(DEVICE, "meitrack")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["meitrack"])
        sock.sendall(REAL_SOS)
        assert eventually(lambda: DeviceEventRecord.objects.filter(kind="sos").count() == 1)
        assert gateway.counters["frames"] == 1
        sock.close()
    stored = Position.objects.get()
    assert stored.time == datetime(2010, 3, 13, 9, 56, 53, tzinfo=UTC)
    assert (stored.lat, stored.lon) == (22.538169, 114.075958)


@pytest.mark.django_db(transaction=True)
def test_frames_cut_anywhere_and_sent_together_are_all_stored(tmp_path: Path) -> None:
    register_device(DEVICE, "meitrack")
    stream = REAL_REPORT + REAL_SOS
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["meitrack"])
        sock.sendall(stream[:37])
        sock.sendall(stream[37:])
        assert eventually(lambda: Position.objects.count() == 2)
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_checksum_mismatch_is_stored_and_counted(tmp_path: Path) -> None:
    frame = frame_starting("meitrack", "$$V177") + CRLF  # its checksum does not match
    register_device("863835026871173", "meitrack")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["meitrack"])
        sock.sendall(frame)
        assert eventually(lambda: Position.objects.count() == 1)
        assert gateway.counters["crc_mismatches"] == 1
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_an_unknown_device_is_closed_and_counted(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["meitrack"])
        sock.sendall(REAL_SOS)
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1
    assert Position.objects.count() == 0


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    device = make_device(protocol="meitrack", identifier=DEVICE)
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
    return device


@pytest.mark.django_db(transaction=True)
def test_a_unit_is_asked_for_its_position_with_a10(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["meitrack"])
        sock.sendall(REAL_REPORT)
        assert eventually(lambda: Position.objects.count() == 1)
        command = device_locate_request(actor=officer, device=worn)
        expected = b"@@Q25,353358017784062,A10*6A\r\n"
        assert receive_exactly(sock, len(expected)) == expected, "as in the vendor's manual"

        now = timezone.now().replace(microsecond=0)
        sock.sendall(meitrack.encode_aaa(DEVICE, time=now, lat=40.7128, lon=-74.006, event=34))
        assert eventually(lambda: _refresh(command).lat is not None), "the answer is a fix"
        sock.close()
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command


def test_the_ports_default_and_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from ontrack.tracking.gateway.core import GatewayConfig

    assert (GatewayConfig().meitrack_port, GatewayConfig().suntech_port) == (5020, 5011)
    monkeypatch.setenv("ONTRACK_GATEWAY_MEITRACK_PORT", "6020")
    monkeypatch.setenv("ONTRACK_GATEWAY_SUNTECH_PORT", "off")
    config = GatewayConfig.from_settings()
    assert config.meitrack_port == 6020
    assert config.suntech_port is None
