"""The Queclink @Track server: real frames over a real socket, stored through the real
database; heartbeats answered at once, reports acknowledged once durable, and the on-demand
location (``AT+GTRTO`` sub-command ``RTL``)."""

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
from ontrack.tracking.models import CommandStatus, DeviceCommand, DeviceEventRecord, Position
from ontrack.tracking.protocols import queclink
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

DEVICE = "860599000773978"
GL300_REPORT = frame_starting("queclink", "+RESP:GTFRI,1A0401,860599000508846")


@pytest.mark.django_db(transaction=True)
def test_a_real_report_is_stored_then_acknowledged(tmp_path: Path) -> None:
    register_device("860599000508846", "queclink")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["queclink"])
        sock.sendall(GL300_REPORT + b"\r\n")
        assert receive_exactly(sock, len(b"+SACK:0F24$")) == b"+SACK:0F24$"
        assert Position.objects.count() == 1, "stored before the answer"
        sock.close()
    stored = Position.objects.get()
    assert stored.time == datetime(2015, 6, 23, 15, 43, 1, tzinfo=UTC)
    assert (stored.lat, stored.lon) == (39.778885, -76.671089)


@pytest.mark.django_db(transaction=True)
def test_a_heartbeat_is_answered_at_once(tmp_path: Path) -> None:
    register_device("135790246811220", "queclink")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["queclink"])
        sock.sendall(frame_starting("queclink", "+ACK:GTHBD"))
        expected = b"+SACK:GTHBD,1A0401,11F0$"
        assert receive_exactly(sock, len(expected)) == expected
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_sos_and_low_battery_are_stored_as_events(tmp_path: Path) -> None:
    register_device("135790246811220", "queclink")
    register_device(DEVICE, "queclink")
    with running_gateway(tmp_path) as gateway:
        sos = connect(gateway.ports["queclink"])
        sos.sendall(frame_starting("queclink", "+RESP:GTSOS,020102"))
        low = connect(gateway.ports["queclink"])
        low.sendall(frame_starting("queclink", "+BUFF:GTBPL"))
        receive_exactly(sos, len(b"+SACK:11F0$"))
        receive_exactly(low, len(b"+SACK:0C75$"))
        sos.close()
        low.close()
    kinds = set(DeviceEventRecord.objects.values_list("kind", flat=True))
    assert kinds == {"sos", "low_battery"}


@pytest.mark.django_db(transaction=True)
def test_an_unknown_unit_is_closed(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["queclink"])
        sock.sendall(GL300_REPORT)
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1
    assert Position.objects.count() == 0


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    device = make_device(protocol="queclink", identifier=DEVICE)
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
    return device


@pytest.mark.django_db(transaction=True)
def test_a_unit_is_asked_for_its_position_with_rto(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    info = frame_starting("queclink", "+RESP:GTINF,1A0800")
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["queclink"])
        sock.sendall(info)
        receive_exactly(sock, len(b"+SACK:022C$"))
        command = device_locate_request(actor=officer, device=worn)
        expected = b"AT+GTRTO=gl300,1,,,,,,FFFF$"
        assert receive_exactly(sock, len(expected)) == expected, "the GL300's password"
        sock.sendall(b"+ACK:GTRTO,1A0800,860599000773978,GL300,RTL,FFFF,20261201120000,0C1A$")
        assert eventually(lambda: _refresh(command).status == CommandStatus.ANSWERED)

        now = timezone.now().replace(microsecond=0)
        report = queclink.encode_report(
            "1A0800", DEVICE, time=now, lat=40.7128, lon=-74.006, message="GTRTL", count=7
        )
        sock.sendall(report)
        assert receive_exactly(sock, len(b"+SACK:0007$")) == b"+SACK:0007$"
        assert eventually(lambda: _refresh(command).lat is not None), "the next fix answers it"
        sock.close()
    assert command.response is not None
    assert command.response.startswith("GTRTO,GL300,RTL")
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command
