"""On-demand location: an officer asks, the gateway sends the command on the device's live
connection (GT06 0x80 / Teltonika Codec 12), and the device's answer is recorded and shown."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from pytest_django.fixtures import Settings

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.audit.models import AccessLogEntry
from ontrack.tracking.models import CommandStatus, Device, DeviceCommand
from ontrack.tracking.protocols import gt06, teltonika
from ontrack.tracking.services.commands import commands_claim, device_locate_request
from ontrack.tracking.services.devices import device_assign
from ontrack.tracking.simulator.wearers import SimulatorOptions, simulate
from tests.tracking.gateway_helpers import connect, eventually, receive_exactly, running_gateway

IMEI = "359710049095095"


@pytest.fixture
def worn(make_device: Callable[..., Any], make_gps_participant: Callable[..., Any]) -> Any:
    def make(protocol: str = "gt06", identifier: str = IMEI) -> Any:
        device = make_device(protocol=protocol, identifier=identifier)
        participant = make_gps_participant()
        device_assign(device, participant, actor=SYSTEM, at=timezone.now() - dt.timedelta(hours=1))
        return device

    return make


def _refresh(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command


@pytest.mark.django_db(transaction=True)
def test_a_gt06_device_gets_the_where_command_and_its_answer_is_recorded(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    device = worn("gt06")
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        command = device_locate_request(actor=officer, device=device)
        frame = receive_exactly(sock, 10 + 1 + 4 + len("WHERE#"))
        assert frame[:2] == b"\x78\x78"
        assert frame[3] == gt06.MSG_COMMAND
        assert frame[-2:] == b"\r\n"
        assert gt06.crc_itu(frame[2:-4]) == int.from_bytes(frame[-4:-2], "big"), "valid CRC"
        content = frame[4:-6]
        assert content[0] == 4 + len("WHERE#")
        assert int.from_bytes(content[1:5], "big") == command.pk, "server flag = command id"
        assert content[5:] == b"WHERE#"
        assert eventually(lambda: _refresh(command).status == CommandStatus.SENT)

        answer = "Lat:N40.712800,Lon:W74.006000"
        sock.sendall(gt06.encode_command_response(answer, command.pk, 2))
        assert eventually(lambda: _refresh(command).status == CommandStatus.ANSWERED)
        assert command.response == answer

        now = timezone.now().replace(microsecond=0)
        sock.sendall(gt06.encode_gps_lbs(time=now, lat=40.7128, lon=-74.006, serial=3))
        assert eventually(lambda: _refresh(command).lat is not None), "the next fix answers it"
        sock.close()
    assert command.lat is not None
    assert command.lon is not None
    assert (round(command.lat, 4), round(command.lon, 4)) == (40.7128, -74.006)
    assert command.fix_time == now


@pytest.mark.django_db(transaction=True)
def test_a_teltonika_device_gets_getgps_over_codec_12(
    tmp_path: Path, worn: Any, officer: User
) -> None:
    imei = "352093081000001"
    device = worn("teltonika", imei)
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["teltonika"])
        sock.sendall(len(imei).to_bytes(2, "big") + imei.encode())
        assert receive_exactly(sock, 1) == teltonika.HANDSHAKE_ACCEPT
        command = device_locate_request(actor=officer, device=device)
        expected = teltonika.encode_codec12_command("getgps")
        assert receive_exactly(sock, len(expected)) == expected
        reply = b"\x06" + len(b"GPS:1 Lat:40.7").to_bytes(4, "big") + b"GPS:1 Lat:40.7"
        sock.sendall(teltonika.encode_packet(teltonika.CODEC_12, 1, reply))
        assert eventually(lambda: _refresh(command).status == CommandStatus.ANSWERED)
        sock.close()
    assert command.response == "GPS:1 Lat:40.7"


def test_an_osmand_phone_cannot_be_asked(worn: Any, officer: User) -> None:
    device = worn("osmand", "phone-17")
    with pytest.raises(ValidationError, match="cannot be asked"):
        device_locate_request(actor=officer, device=device)


def test_only_someone_who_may_act_on_the_wearer_may_ask(
    worn: Any, make_user: Callable[..., User]
) -> None:
    device = worn("gt06")
    stranger = make_user(Role.OFFICER)
    with pytest.raises(PermissionDenied):
        device_locate_request(actor=stranger, device=device)


def test_a_command_is_claimed_once_and_expires_unanswered(
    worn: Any, officer: User, settings: Settings
) -> None:
    device = worn("gt06")
    command = device_locate_request(actor=officer, device=device)
    now = timezone.now()
    assert commands_claim([999_999], mqtt=False, now=now) == [], "not this process's device"
    claimed = commands_claim([device.pk], mqtt=False, now=now)
    assert [c.id for c in claimed] == [command.pk]
    assert commands_claim([device.pk], mqtt=False, now=now) == [], "claimed only once"
    later = now + dt.timedelta(seconds=settings.ONTRACK_TRACKING_COMMAND_TIMEOUT + 1)
    commands_claim([device.pk], mqtt=False, now=later)
    assert _refresh(command).status == CommandStatus.EXPIRED


def test_the_track_page_asks_and_polls_the_answer(
    worn: Any, officer: User, client_for: Callable[[User], Client]
) -> None:
    device = worn("gt06")
    participant = device.assignments.get().participant
    client = client_for(officer)
    page = client.get(f"/tracking/participants/{participant.pk}/track/")
    assert b"Locate now" in page.content
    response = client.post(f"/tracking/devices/{device.pk}/locate/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    command = DeviceCommand.objects.get()
    assert f'hx-get="/tracking/commands/{command.pk}/"'.encode() in response.content
    DeviceCommand.objects.filter(pk=command.pk).update(
        status=CommandStatus.ANSWERED, lat=40.7128, lon=-74.006, fix_time=timezone.now()
    )
    answer = client.get(f"/tracking/commands/{command.pk}/")
    assert b"40.712800" in answer.content
    assert b"hx-trigger" not in answer.content
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what__startswith="on-demand location"
    ).exists(), "reading where someone is now is access-logged"


def test_a_request_waiting_for_a_silent_device_says_when_it_last_reported(
    worn: Any, officer: User, client_for: Callable[[User], Client]
) -> None:
    """A wearer whose device fell silent (the demo's silent wearers; a flat battery; no
    signal) is not connected: the request waits, and the box says since when it is silent
    rather than only "waiting for the device to be connected"."""
    from ontrack.tracking.models import Device

    device = worn("gt06")
    Device.objects.filter(pk=device.pk).update(
        last_seen_at=timezone.now() - dt.timedelta(minutes=25)
    )
    client = client_for(officer)
    response = client.post(f"/tracking/devices/{device.pk}/locate/", HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert "Waiting for the device to be connected" in text
    assert "last reported 25" in text, text
    assert "minutes ago" in text, text


def test_the_device_page_says_an_osmand_phone_cannot_be_asked(
    worn: Any, officer: User, client_for: Callable[[User], Client]
) -> None:
    device = worn("osmand", "phone-18")
    page = client_for(officer).get(f"/tracking/devices/{device.pk}/")
    assert b"cannot be asked for its position" in page.content
    assert b"Locate now" not in page.content


def test_another_officer_cannot_see_the_answer(
    worn: Any, officer: User, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    device = worn("gt06")
    command = device_locate_request(actor=officer, device=device)
    stranger = make_user(Role.OFFICER)
    assert client_for(stranger).get(f"/tracking/commands/{command.pk}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_simulated_gt06_wearer_answers_a_locate_request(
    tmp_path: Path, make_device: Callable[..., Device], make_user: Callable[..., User]
) -> None:
    device = make_device(protocol="gt06", identifier=IMEI)
    command = device_locate_request(actor=make_user(Role.ADMINISTRATOR), device=device)
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        options = SimulatorOptions(devices=1, protocol="gt06", port=gateway.ports["gt06"],
                                   rate=30, duration=2.0, seed=1)  # fmt: skip
        asyncio.run(simulate(options, [(IMEI, "gt06")]))
        assert eventually(lambda: _refresh(command).lat is not None and command.response)
    assert command.status == CommandStatus.ANSWERED
    assert command.response.startswith("Lat:")


@pytest.mark.django_db(transaction=True)
def test_a_simulated_teltonika_wearer_answers_getgps_in_words(
    tmp_path: Path, make_device: Callable[..., Device], make_user: Callable[..., User]
) -> None:
    imei = "352093081000002"
    device = make_device(protocol="teltonika", identifier=imei)
    command = device_locate_request(actor=make_user(Role.ADMINISTRATOR), device=device)
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        options = SimulatorOptions(devices=1, protocol="teltonika",
                                   port=gateway.ports["teltonika"], rate=30, duration=2.0,
                                   seed=1)  # fmt: skip
        asyncio.run(simulate(options, [(imei, "teltonika")]))
        assert eventually(lambda: _refresh(command).response, timeout=5), (
            "the simulated unit answers Codec 12 'getgps' in words, as a real one does"
        )
    assert command.status == CommandStatus.ANSWERED
    assert command.response.startswith("GPS:1")


@pytest.mark.django_db(transaction=True)
def test_a_simulated_gt06_wearer_reconnects_at_once_when_the_gateway_closes_it(
    tmp_path: Path, make_device: Callable[..., Device]
) -> None:
    """The gateway closes a connection idle past ``idle_timeout`` (a silent wearer's after 10
    minutes). A simulated unit used to notice only when a write failed: its next report
    went into the dead socket and was lost, the one after failed, and meanwhile "Locate
    now" said the device was not connected. Like a real unit, it now reconnects at once."""
    from ontrack.tracking.models import Position

    make_device(protocol="gt06", identifier=IMEI)
    with running_gateway(tmp_path, idle_timeout=0.6, handshake_timeout=2.0) as gateway:
        options = SimulatorOptions(devices=1, protocol="gt06", port=gateway.ports["gt06"],
                                   rate=1.5, duration=6.5, seed=1)  # fmt: skip
        stats = asyncio.run(simulate(options, [(IMEI, "gt06")]))
        assert eventually(lambda: Position.objects.count() >= stats.sent, timeout=5)
    assert stats.sent >= 3
    assert Position.objects.count() == stats.sent, "no report lost into a closed connection"
