"""The TK103 server: real frames over a real socket, stored through the real database; login
and heartbeat answered at once, and the on-demand location (single locate, ``B``)."""

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
from ontrack.tracking.protocols import tk103
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

DEVICE = "359586015829802"


@pytest.mark.django_db(transaction=True)
def test_a_login_is_answered_load_and_a_heartbeat_on(tmp_path: Path) -> None:
    register_device(DEVICE, "tk103")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["tk103"])
        sock.sendall(frame_starting("tk103", "##,imei:359586015829802"))
        assert receive_exactly(sock, 4) == b"LOAD"
        sock.sendall(frame_starting("tk103", "359586015829802;"))
        assert receive_exactly(sock, 2) == b"ON"
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_real_report_is_stored(tmp_path: Path) -> None:
    register_device("359710045559474", "tk103")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["tk103"])
        sock.sendall(frame_starting("tk103", "imei:359710045559474") + b"\r\n")
        assert eventually(lambda: Position.objects.count() == 1)
        sock.close()
    stored = Position.objects.get()
    assert stored.time == datetime(2015, 10, 30, 0, 1, 1, tzinfo=UTC)
    assert stored.lat is not None
    assert stored.lon is not None
    assert (round(stored.lat, 5), round(stored.lon, 5)) == (54.72306, 25.21512)


@pytest.mark.django_db(transaction=True)
def test_help_me_and_ac_alarm_are_stored_as_sos_and_power_cut(tmp_path: Path) -> None:
    register_device(DEVICE, "tk103")
    register_device("862106021237716", "tk103")
    with running_gateway(tmp_path) as gateway:
        sos = connect(gateway.ports["tk103"])
        sos.sendall(frame_starting("tk103", "imei:359586015829802,help me"))
        cut = connect(gateway.ports["tk103"])
        cut.sendall(frame_starting("tk103", "imei:862106021237716,ac alarm"))
        assert eventually(lambda: DeviceEventRecord.objects.count() == 2)
        sos.close()
        cut.close()
    kinds = set(DeviceEventRecord.objects.values_list("kind", flat=True))
    assert kinds == {"sos", "external_power_cut"}


@pytest.mark.django_db(transaction=True)
def test_an_unknown_unit_is_closed(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["tk103"])
        sock.sendall(b"##,imei:359586015829802,A;")
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    device = make_device(protocol="tk103", identifier=DEVICE)
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
    return device


@pytest.mark.django_db(transaction=True)
def test_a_unit_is_asked_for_its_position_with_single_locate(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["tk103"])
        sock.sendall(b"##,imei:359586015829802,A;")
        receive_exactly(sock, 4)
        command = device_locate_request(actor=officer, device=worn)
        expected = b"**,imei:359586015829802,B;"
        assert receive_exactly(sock, len(expected)) == expected

        now = timezone.now().replace(microsecond=0)
        sock.sendall(tk103.encode_report(DEVICE, time=now, lat=40.7128, lon=-74.006))
        assert eventually(lambda: _refresh(command).lat is not None), "the next fix answers it"
        sock.close()
    assert command.status == CommandStatus.ANSWERED
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command
