"""The Watch / 3G server: real frames over a real socket, stored through the real database;
keep-alives answered at once, alarms once durable, and the on-demand location (CR)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import User
from ontrack.tracking.models import CommandStatus, DeviceCommand, DeviceEventRecord, Position
from ontrack.tracking.protocols import watch
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

DEVICE = "8800000015"


@pytest.mark.django_db(transaction=True)
def test_a_link_keepalive_is_answered_with_lk(tmp_path: Path) -> None:
    register_device(DEVICE, "watch")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["watch"])
        sock.sendall(frame_starting("watch", "[3G*8800000015*000D*LK"))
        assert receive_exactly(sock, 23) == b"[3G*8800000015*0002*LK]"
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_real_ud_frame_is_stored(tmp_path: Path) -> None:
    register_device(DEVICE, "watch")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["watch"])
        sock.sendall(frame_starting("watch", "[SG*8800000015*0087*UD"))
        assert eventually(lambda: Position.objects.count() == 1), "the fix is stored"
        sock.close()
    stored = Position.objects.get()
    assert stored.time == dt.datetime(2014, 4, 22, 13, 46, 52, tzinfo=dt.UTC)
    assert stored.lat is not None
    assert stored.lon is not None
    assert (round(stored.lat, 5), round(stored.lon, 5)) == (22.57171, 113.8614)


@pytest.mark.django_db(transaction=True)
def test_an_sos_is_answered_al_only_once_stored(tmp_path: Path) -> None:
    register_device("8809008845", "watch")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["watch"])
        sock.sendall(frame_starting("watch", "[3G*8809008845"))
        assert receive_exactly(sock, 23) == b"[3G*8809008845*0002*AL]"
        assert DeviceEventRecord.objects.filter(kind="sos").count() == 1, (
            "the SOS is in the database before the answer"
        )
        sock.close()


@pytest.mark.django_db(transaction=True)
def test_a_watch_taken_off_and_a_fall_are_stored(tmp_path: Path) -> None:
    register_device("8308373902", "watch")
    register_device("014111001332708", "watch")
    with running_gateway(tmp_path) as gateway:
        fall = connect(gateway.ports["watch"])
        fall.sendall(frame_starting("watch", "[3G*8308373902"))
        assert receive_exactly(fall, 23) == b"[3G*8308373902*0002*AL]"
        removed = connect(gateway.ports["watch"])
        removed.sendall(frame_starting("watch", "[ZJ*014111001332708"))
        answer = b"[ZJ*014111001332708*0075*0002*AL]"
        assert receive_exactly(removed, len(answer)) == answer
        fall.close()
        removed.close()
    kinds = set(DeviceEventRecord.objects.values_list("kind", flat=True))
    assert kinds == {"fall", "device_removed"}


@pytest.mark.django_db(transaction=True)
def test_an_unknown_watch_is_closed(tmp_path: Path) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["watch"])
        sock.sendall(b"[SG*8800000015*0002*LK]")
        assert closed_by_peer(sock)
        assert gateway.counters["unknown_devices"] == 1


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    device = make_device(protocol="watch", identifier=DEVICE)
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
    return device


@pytest.mark.django_db(transaction=True)
def test_a_watch_is_asked_for_its_position_with_cr(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["watch"])
        sock.sendall(b"[3G*8800000015*0002*LK]")
        receive_exactly(sock, 23)
        command = device_locate_request(actor=officer, device=worn)
        assert receive_exactly(sock, 23) == b"[3G*8800000015*0002*CR]", "framed as the watch's"
        sock.sendall(b"[3G*8800000015*0002*CR]")
        assert eventually(lambda: _refresh(command).status == CommandStatus.ANSWERED)

        now = timezone.now().replace(microsecond=0)
        sock.sendall(watch.encode_position("3G", DEVICE, time=now, lat=40.7128, lon=-74.006))
        assert eventually(lambda: _refresh(command).lat is not None), "the next fix answers it"
        sock.close()
    assert command.response == "CR"
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command
