"""The console pages for devices and tracks, through the real HTTP client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Office, Role, User
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device, DeviceAssignment

pytestmark = pytest.mark.django_db


def test_the_participant_page_links_to_the_track(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    page = client_for(officer).get(f"/participants/{participant.pk}/")
    assert page.status_code == 200
    assert f"/tracking/participants/{participant.pk}/track/".encode() in page.content


def test_the_track_page_shows_points_and_events_and_is_logged(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    page = client_for(officer).get(f"/tracking/participants/{participant.pk}/track/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "3 positions and 1 device event" in html
    # In words on the office's clock; the codes only inside the technical details.
    assert "Strap or case tampered with" in html
    events = html[html.index("<h2>Device events</h2>") :]
    assert " EST</time>" in events or " EDT</time>" in events
    code = events.index("<code>0x03</code>")
    assert events.rindex("<summary>Technical details</summary>", 0, code) >= 0
    assert b'id="track-playback"' in page.content
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, action="view", what__startswith="track"
    ).exists()


def test_a_typed_window_is_read_on_the_offices_clock(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    zone = ZoneInfo(participant.office.time_zone)
    base: dt.datetime = worn_track["base"]
    # Five minutes around the fixes, on the office's clock: read as UTC, the same digits would
    # be hours away from them (the office is not on UTC).
    assert base.astimezone(zone).utcoffset() != dt.timedelta(0)
    window = {
        name: (base + dt.timedelta(minutes=m)).astimezone(zone).strftime("%Y-%m-%dT%H:%M")
        for name, m in (("start", -1), ("end", 4))
    }
    html = (
        client_for(officer)
        .get(f"/tracking/participants/{participant.pk}/track/", window)
        .content.decode()
    )
    assert "3 positions and 1 device event" in html
    abbreviation = base.astimezone(zone).strftime("%Z")
    assert f"From ({abbreviation})" in html
    assert f'value="{window["start"]}"' in html


def test_an_empty_window_says_so(
    worn_track: dict[str, Any], officer: User, client_for: Callable[[User], Client]
) -> None:
    participant = worn_track["participant"]
    page = client_for(officer).get(
        f"/tracking/participants/{participant.pk}/track/",
        {"start": "2020-01-01T00:00", "end": "2020-01-02T00:00"},
    )
    assert b"No position in this period." in page.content


def test_another_officers_participant_track_is_not_found(
    worn_track: dict[str, Any],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    stranger = make_user(Role.OFFICER)
    participant = worn_track["participant"]
    response = client_for(stranger).get(f"/tracking/participants/{participant.pk}/track/")
    assert response.status_code == 404


def test_the_inventory_filters_by_status_and_searches_identifiers(
    make_device: Callable[..., Device],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    admin = make_user(Role.ADMINISTRATOR)
    make_device(identifier="351111111111111")
    make_device(identifier="app-352222222222222", kind="phone", protocol="osmand")
    client = client_for(admin)
    page = client.get("/tracking/devices/", {"kind": "phone"})
    assert b"352222222222222" in page.content
    assert b"351111111111111" not in page.content
    page = client.get("/tracking/devices/", {"q": "35111"})
    assert b"351111111111111" in page.content
    assert b"352222222222222" not in page.content
    page = client.get("/tracking/devices/", {"status": "lost"})
    assert b"No device matches these filters." in page.content


def test_an_officer_fits_swaps_and_takes_back_a_device_through_the_forms(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    first, second = make_device(), make_device()
    participant = make_gps_participant()
    client = client_for(officer)
    response = client.post(
        f"/tracking/participants/{participant.pk}/assign/", {"identifier": first.identifier}
    )
    assert response.status_code == 302
    response = client.post(
        f"/tracking/participants/{participant.pk}/swap/",
        {"identifier": second.identifier, "reason": "Strap broken"},
    )
    assert response.status_code == 302
    response = client.post(f"/tracking/devices/{second.pk}/unassign/", {"reason": "Plan ended"})
    assert response.status_code == 302
    history = list(
        DeviceAssignment.objects.filter(participant=participant)
        .order_by("id")
        .values_list("device_id", "end_reason")
    )
    assert history == [(first.pk, "swapped: Strap broken"), (second.pk, "Plan ended")]
    page = client.get(f"/tracking/devices/{second.pk}/")
    assert b"Plan ended" in page.content


def test_fitting_a_device_outside_the_plan_shows_the_reason(
    make_device: Callable[..., Device],
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    device = make_device()
    participant = make_participant()
    response = client_for(officer).post(
        f"/tracking/participants/{participant.pk}/assign/", {"identifier": device.identifier}
    )
    assert response.status_code == 400
    assert b"does not include a GPS device" in response.content


def _registration(**overrides: Any) -> dict[str, Any]:
    return {
        "identifier": "359710049095095",
        "kind": "ankle",
        "protocol": "gt06",
        "firmware": "GT06N v2.1",
        "office": "",
        "time_offset_minutes": "480",
        **overrides,
    }


def test_an_administrator_registers_a_device_from_the_inventory(
    office: Office, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user(Role.ADMINISTRATOR))
    inventory = client.get("/tracking/devices/")
    assert b'href="/tracking/devices/register/"' in inventory.content
    assert client.get("/tracking/devices/register/").status_code == 200
    response = client.post("/tracking/devices/register/", _registration(office=office.pk))
    device = Device.objects.get(identifier="359710049095095")
    assert response.status_code == 302
    assert response["Location"] == f"/tracking/devices/{device.pk}/"
    assert (device.status, device.kind, device.protocol) == ("in_stock", "ankle", "gt06")
    assert (device.firmware, device.office, device.time_offset_minutes) == (
        "GT06N v2.1",
        office,
        480,
    )
    page = client.get(response["Location"])
    assert b"is registered and in stock" in page.content


def test_a_supervisor_registers_devices_for_their_own_office_only(
    office: Office,
    make_office: Callable[..., Office],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    client = client_for(make_user(Role.SUPERVISOR))
    elsewhere = make_office("Elsewhere")
    response = client.post(
        "/tracking/devices/register/", _registration(identifier="app-48241179", protocol="osmand")
    )
    assert response.status_code == 400  # unallocated stock is the administrators'
    response = client.post(
        "/tracking/devices/register/",
        _registration(identifier="app-48241179", protocol="osmand", office=elsewhere.pk),
    )
    assert response.status_code == 400
    assert not Device.objects.exists()
    response = client.post(
        "/tracking/devices/register/",
        _registration(identifier="app-48241179", protocol="osmand", office=office.pk),
    )
    assert response.status_code == 302
    assert Device.objects.get().office == office


@pytest.mark.parametrize("role", [Role.OFFICER, Role.OPERATOR])
def test_officers_and_operators_may_not_register_devices(
    role: Role, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user(role))
    assert b"/tracking/devices/register/" not in client.get("/tracking/devices/").content
    assert client.get("/tracking/devices/register/").status_code == 403
    assert client.post("/tracking/devices/register/", _registration()).status_code == 403
    assert not Device.objects.exists()


def test_a_duplicate_identifier_is_refused_next_to_the_field(
    make_device: Callable[..., Device],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    make_device(identifier="359710049095095")
    client = client_for(make_user(Role.ADMINISTRATOR))
    response = client.post("/tracking/devices/register/", _registration())
    assert response.status_code == 400
    assert b'id="id_identifier-errors"' in response.content
    assert b"Device 359710049095095 is already registered." in response.content
    assert Device.objects.count() == 1


@pytest.mark.parametrize("identifier", ["35971004909509", "3597100490950951", "35971004909509x"])
def test_a_gt06_or_teltonika_unit_needs_a_15_digit_imei(
    identifier: str, make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user(Role.ADMINISTRATOR))
    for protocol in ("gt06", "teltonika"):
        response = client.post(
            "/tracking/devices/register/", _registration(identifier=identifier, protocol=protocol)
        )
        assert response.status_code == 400
        assert b"identified by their IMEI: 15 digits" in response.content
    assert not Device.objects.exists()
    response = client.post(
        "/tracking/devices/register/",
        _registration(identifier=f"app-{identifier}", kind="phone", protocol="osmand"),
    )
    assert response.status_code == 302, "the IMEI rule is not a phone app's"


def test_an_out_of_range_clock_offset_is_shown_on_its_field(
    make_user: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    client = client_for(make_user(Role.ADMINISTRATOR))
    response = client.post("/tracking/devices/register/", _registration(time_offset_minutes="1000"))
    assert response.status_code == 400
    assert b'id="id_time_offset_minutes-errors"' in response.content
    assert b"within \xc2\xb116 hours" in response.content
    assert not Device.objects.exists()


def test_a_device_back_in_stock_shows_only_the_former_wearers_one_may_see_and_logs_them(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    from ontrack.tracking.services.devices import device_assign, device_unassign

    colleague = make_user(Role.OFFICER)
    theirs = make_gps_participant(officer=colleague)
    device = make_device()  # of no office: stock every officer may fit from
    device_assign(device, theirs, actor=SYSTEM)
    device_unassign(device, actor=SYSTEM, reason="Returned")
    page = client_for(officer).get(f"/tracking/devices/{device.pk}/")
    assert page.status_code == 200
    assert theirs.case_number.encode() not in page.content, "another caseload's former wearer"
    assert not AccessLogEntry.objects.exists()
    page = client_for(colleague).get(f"/tracking/devices/{device.pk}/")
    assert theirs.case_number.encode() in page.content
    assert AccessLogEntry.objects.get(what__endswith="wearers").listed_ids == [theirs.pk]


def test_opening_a_worn_device_that_never_reported_logs_a_read_of_its_wearer(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    from ontrack.tracking.services.devices import device_assign

    wearer = make_gps_participant(officer=officer)
    device = make_device()
    device_assign(device, wearer, actor=SYSTEM)
    page = client_for(officer).get(f"/tracking/devices/{device.pk}/")
    assert page.status_code == 200
    assert wearer.case_number.encode() in page.content
    read = AccessLogEntry.objects.get(what=f"device {device.identifier} wearer")
    assert read.listed_ids == [wearer.pk]
