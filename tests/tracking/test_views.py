"""The console pages for devices and tracks, through the real HTTP client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
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
    assert b"3 positions and 1 device event" in page.content
    assert b"tamper" in page.content and b"0x03" in page.content
    assert b'id="track-points"' in page.content
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, action="view", what__startswith="track"
    ).exists()


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
    make_device(identifier="352222222222222", kind="phone", protocol="osmand")
    client = client_for(admin)
    page = client.get("/tracking/devices/", {"kind": "phone"})
    assert b"352222222222222" in page.content and b"351111111111111" not in page.content
    page = client.get("/tracking/devices/", {"q": "35111"})
    assert b"351111111111111" in page.content and b"352222222222222" not in page.content
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
