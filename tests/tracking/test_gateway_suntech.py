"""The Suntech server: real reports over a real socket, stored through the real database;
emergencies stored as alarms, nothing answered, and the on-demand location (StatusReq)."""

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
from ontrack.tracking.protocols import suntech
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

DEVICE = "317652"
# A real SA200's emergency report (frames/suntech.txt): panic, 18 Jul 2012 15:35:41.
REAL_EMERGENCY = frame_starting("suntech", "SA200EMG") + b"\r"
REAL_ALIVE = frame_starting("suntech", "SA200ALV") + b"\r"
REAL_STATUS = frame_starting("suntech", "ST300STT;007238270") + b"\r"


@pytest.mark.django_db(transaction=True)
def test_a_real_emergency_is_stored_as_an_sos_with_its_position(tmp_path: Path) -> None:
    register_device(DEVICE, "suntech")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["suntech"])
        sock.sendall(REAL_ALIVE + REAL_EMERGENCY)
        assert eventually(lambda: DeviceEventRecord.objects.filter(kind="sos").count() == 1)
        assert gateway.counters["frames"] == 2
        sock.close()
    stored = Position.objects.get()
    assert stored.time == datetime(2012, 7, 18, 15, 35, 41, tzinfo=UTC)
    assert (stored.lat, stored.lon) == (-15.61874, -56.083252)


@pytest.mark.django_db(transaction=True)
def test_reports_are_answered_nothing(tmp_path: Path) -> None:
    register_device("007238270", "suntech")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["suntech"])
        sock.sendall(REAL_STATUS)
        assert eventually(lambda: Position.objects.count() == 1)
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(1)
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_an_unknown_device_is_closed_and_counted(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["suntech"])
        sock.sendall(REAL_STATUS)
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1
    assert Position.objects.count() == 0


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    device = make_device(protocol="suntech", identifier="007238270")
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
    return device


@pytest.mark.django_db(transaction=True)
def test_a_unit_is_asked_for_its_position_with_status_req(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["suntech"])
        sock.sendall(REAL_STATUS)
        assert eventually(lambda: Position.objects.count() == 1)
        command = device_locate_request(actor=officer, device=worn)
        expected = b"ST300CMD;007238270;02;StatusReq\r"
        assert receive_exactly(sock, len(expected)) == expected, "as in the ST300 manual"

        now = timezone.now().replace(microsecond=0)
        sock.sendall(suntech.encode_report("007238270", time=now, lat=40.7128, lon=-74.006))
        assert eventually(lambda: _refresh(command).lat is not None), "the STT answers it"
        sock.close()
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command
