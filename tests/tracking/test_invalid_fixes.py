"""Reports without a valid fix are stored, marked with why, and never taken for a position:
through the gateway's real sockets, the zones, the console, the API and the exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from django.test import Client
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.accounts.services import api_token_create
from ontrack.alerts.models import Alert
from ontrack.alerts.services import alerts_promote_due
from ontrack.participants.models import Participant
from ontrack.tracking.models import CommandStatus, Device, DeviceCommand, Position
from ontrack.tracking.protocols import gt06
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services.commands import device_locate_request
from ontrack.tracking.services.directory import device_directory
from ontrack.tracking.services.ingest import store_batch
from ontrack.zones.queries import participant_last_position
from ontrack.zones.services import ZoneData, zone_create
from tests.tracking.device_helpers import register_device
from tests.tracking.gateway_helpers import (
    connect,
    eventually,
    exchange,
    receive_exactly,
    running_gateway,
)

IMEI = "359710049095321"
PHONE = "app-55120931"
WHEN = dt.datetime(2026, 3, 1, 12, 30, 5, tzinfo=dt.UTC)
ELSEWHERE = (41.2, -73.1)  # where an invalid fix claims the device is


# --------------------------------------------------------------------------------------
# Through the gateway


@pytest.mark.django_db(transaction=True)
def test_a_gt06_fix_without_satellites_is_stored_marked_and_moves_only_last_seen(
    tmp_path: Path,
) -> None:
    register_device(IMEI, "gt06")
    frame = gt06.encode_gps_lbs(
        time=WHEN, lat=ELSEWHERE[0], lon=ELSEWHERE[1], satellites=0, valid=False, serial=2
    )
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        sock.sendall(frame)
        assert eventually(lambda: Position.objects.exists()), "the report is stored"
        sock.close()
    position = Position.objects.get()
    assert (position.valid, position.invalid_reason) == (False, "few_satellites")
    device = Device.objects.get(identifier=IMEI)
    assert device.last_seen_at is not None, "the device reported: last seen moves"
    assert device.last_fix_time is None, "but it has no last fix"
    assert device.last_lat is None, "but it has no last fix"


@pytest.mark.django_db(transaction=True)
def test_an_osmand_request_with_only_cell_data_is_stored_as_no_fix_and_answered_200(
    tmp_path: Path,
) -> None:
    register_device(PHONE, "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        status, body = exchange(
            sock, "GET", f"/?id={PHONE}&timestamp=1772364600&cell=310,260,4012,88871,-71&batt=40"
        )
        assert (status, body) == (200, b"")
        assert Position.objects.count() == 1, "stored before the 200"
        form = f"id={PHONE}&timestamp=1772364660&wifi=3c-a6-2f-11-22-33,-60".encode()
        status, _ = exchange(sock, "POST", "/", form, "application/x-www-form-urlencoded")
        assert status == 200
        sock.close()
    rows = list(Position.objects.order_by("time").values_list("lat", "lon", "invalid_reason"))
    assert rows == [(None, None, "no_fix"), (None, None, "no_fix")]
    device = Device.objects.get(identifier=PHONE)
    assert device.last_seen_at is not None
    assert device.last_fix_time is None


@pytest.mark.django_db(transaction=True)
def test_an_osmand_refusal_says_why_in_plain_text_without_telling_if_the_id_exists(
    tmp_path: Path,
) -> None:
    register_device(PHONE, "osmand")
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["osmand"])
        nothing = exchange(sock, "GET", f"/?id={PHONE}&timestamp=1772364600")
        nothing_unknown = exchange(sock, "GET", "/?id=nobody&timestamp=1772364600")
        bad_number = exchange(sock, "GET", f"/?id={PHONE}&lat=abc&lon=2")
        unknown = exchange(sock, "GET", "/?id=nobody&lat=1&lon=2")
        sock.close()
    assert nothing == (400, b"missing_coordinates\n")
    assert nothing_unknown == nothing, "a request refused anyway does not reveal unknown ids"
    assert bad_number == (400, b"bad_number: lat=abc\n")
    assert unknown == (400, b"unknown device\n")
    assert not Position.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_locate_request_is_answered_by_the_next_valid_fix_not_by_a_report_without_one(
    tmp_path: Any, worn_gt06: Callable[[str], Participant], officer: User
) -> None:
    worn_gt06(IMEI)
    device = Device.objects.get(identifier=IMEI)
    with running_gateway(tmp_path, command_poll=0.05) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        command = device_locate_request(actor=officer, device=device)
        receive_exactly(sock, 10 + 1 + 4 + len("WHERE#"))
        assert eventually(lambda: _refreshed(command).status == CommandStatus.SENT)
        now = timezone.now().replace(microsecond=0)
        sock.sendall(
            gt06.encode_gps_lbs(time=now, lat=ELSEWHERE[0], lon=ELSEWHERE[1], valid=False, serial=2)
        )
        assert eventually(lambda: Position.objects.exists()), "the report is stored"
        later = now + dt.timedelta(seconds=10)
        sock.sendall(gt06.encode_gps_lbs(time=later, lat=40.7128, lon=-74.006, serial=3))
        assert eventually(lambda: _refreshed(command).fix_time is not None)
        sock.close()
    assert command.fix_time == later, "the report without a fix did not answer the request"
    assert command.lat is not None
    assert round(command.lat, 4) == 40.7128


def _refreshed(command: DeviceCommand) -> DeviceCommand:
    command.refresh_from_db()
    return command


# --------------------------------------------------------------------------------------
# Zones, alerts and "last known position"


def _store(*fixes: Fix) -> None:
    info = device_directory()[IMEI]
    store_batch([(info, fix) for fix in fixes], received_at=timezone.now())


@pytest.mark.django_db
def test_an_invalid_fix_inside_an_exclusion_zone_raises_no_alert(
    worn_gt06: Callable[[str], Participant], officer: User
) -> None:
    participant = worn_gt06(IMEI)
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Victim's street",
            kind="exclusion",
            geometry={"type": "Circle", "center": [ELSEWHERE[1], ELSEWHERE[0]], "radius_m": 300},
        ),
    )
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    _store(
        Fix(IMEI, start, 40.70, -74.00, accuracy_m=5.0),
        *(
            Fix(IMEI, start + dt.timedelta(minutes=m), *ELSEWHERE, satellites=9, valid=False)
            for m in range(1, 20)
        ),
    )
    alerts_promote_due(now=timezone.now() + dt.timedelta(hours=1))
    assert Position.objects.filter(valid=False).count() == 19
    assert not Alert.objects.exists(), "a fix the device calls invalid is no breach"


@pytest.mark.django_db
def test_the_last_known_position_is_the_last_valid_fix(
    worn_gt06: Callable[[str], Participant],
) -> None:
    participant = worn_gt06(IMEI)
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=30)
    _store(
        Fix(IMEI, start, 40.70, -74.00),
        Fix(IMEI, start + dt.timedelta(minutes=1), *ELSEWHERE, valid=False),
        Fix(IMEI, start + dt.timedelta(minutes=2), None, None, valid=False),
    )
    device = Device.objects.get(identifier=IMEI)
    assert (device.last_lat, device.last_lon, device.last_fix_time) == (40.70, -74.00, start)
    assert participant_last_position(participant) == (40.70, -74.00, start)


# --------------------------------------------------------------------------------------
# The console, the API and the exports


@pytest.fixture
def track_with_no_fix(worn_track: dict[str, Any]) -> dict[str, Any]:
    """``worn_track`` (three fixes an hour ago), then two reports without a fix."""
    device: Device = worn_track["device"]
    info = device_directory()[device.identifier]
    base: dt.datetime = worn_track["base"]
    store_batch(
        [
            (info, Fix(device.identifier, base + dt.timedelta(minutes=5), None, None, valid=False)),
            (
                info,
                Fix(
                    device.identifier,
                    base + dt.timedelta(minutes=6),
                    *ELSEWHERE,
                    satellites=1,
                    valid=False,
                ),
            ),
        ],
        received_at=timezone.now(),
    )
    return worn_track


@pytest.mark.django_db
def test_the_track_page_shows_the_period_without_a_gps_fix(
    track_with_no_fix: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = track_with_no_fix["participant"]
    page = client_for(officer).get(f"/tracking/participants/{participant.pk}/track/")
    content = page.content.decode()
    assert "3 positions, 1 period without a GPS fix and 1 device event" in content
    assert 'id="no-fix-periods"' in content
    assert "No GPS fix · 2 reports" in content
    assert "(No GPS fix, Too few satellites)" in content
    assert str(ELSEWHERE[0]) not in content, "an invalid fix is not drawn on the map"


@pytest.mark.django_db
def test_the_api_marks_reports_without_a_fix_invalid_with_their_reason(
    track_with_no_fix: dict[str, Any], officer: User, client: Client
) -> None:
    participant = track_with_no_fix["participant"]
    base: dt.datetime = track_with_no_fix["base"]
    _, secret = api_token_create(user=officer, name="test")
    window = {
        "start": (base - dt.timedelta(minutes=1)).isoformat(),
        "end": (base + dt.timedelta(minutes=10)).isoformat(),
    }
    rows = client.get(
        f"/api/participants/{participant.pk}/positions",
        window,
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    ).json()["results"]
    assert [(r["valid"], r["invalid_reason"]) for r in rows] == [
        (True, ""),
        (True, ""),
        (True, ""),
        (False, "no_fix"),
        (False, "few_satellites"),
    ]
    assert (rows[3]["lat"], rows[3]["lon"]) == (None, None)


def _export(client: Client, participant: Participant, fmt: str) -> str:
    response = client.post(
        f"/tracking/participants/{participant.pk}/export.{fmt}", {"purpose": "Court order 24-1"}
    )
    assert response.status_code == 200
    return response.getvalue().decode()


@pytest.mark.django_db
def test_geojson_and_csv_exports_mark_reports_without_a_fix_and_gpx_leaves_them_out(
    track_with_no_fix: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = track_with_no_fix["participant"]
    client = client_for(officer)
    features = json.loads(_export(client, participant, "geojson"))["features"]
    assert [f["properties"]["valid"] for f in features] == [True, True, True, False, False]
    assert features[3]["geometry"] is None
    assert features[3]["properties"]["invalid_reason"] == "no_fix"
    assert features[4]["geometry"]["coordinates"] == [ELSEWHERE[1], ELSEWHERE[0]]

    rows = list(csv.DictReader(io.StringIO(_export(client, participant, "csv"))))
    assert [(r["valid"], r["invalid_reason"]) for r in rows[3:]] == [
        ("False", "no_fix"),
        ("False", "few_satellites"),
    ]
    assert (rows[3]["lat"], rows[3]["lon"]) == ("", "")

    gpx = ET.fromstring(_export(client, participant, "gpx"))  # noqa: S314
    points = gpx.findall(".//{http://www.topografix.com/GPX/1/1}trkpt")
    assert len(points) == 3, "GPX has no way to say 'not a position': only valid fixes"
