"""Devices, positions and device events in the JSON API, with the console's rules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device
from tests.staff_sign_in import verify_session

pytestmark = pytest.mark.django_db


def _auth(user: User) -> dict[str, Any]:
    _, secret = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _window(worn_track: dict[str, Any]) -> dict[str, Any]:
    base: dt.datetime = worn_track["base"]
    return {
        "start": (base - dt.timedelta(minutes=1)).isoformat(),
        "end": (base + dt.timedelta(minutes=10)).isoformat(),
    }


def test_positions_between_two_times_are_returned_in_order_and_logged(
    worn_track: dict[str, Any], officer: User, client: Client
) -> None:
    participant = worn_track["participant"]
    response = client.get(
        f"/api/participants/{participant.pk}/positions", _window(worn_track), **_auth(officer)
    )
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["lat"] for row in rows] == [40.7, 40.701, 40.702]
    assert rows[0]["accuracy_m"] == 12.0
    assert AccessLogEntry.objects.filter(participant_id=participant.pk, action="api_read").exists()


def test_positions_of_a_participant_who_wore_no_device_then_are_an_empty_page(
    make_participant: Callable[..., Participant], officer: User, client: Client
) -> None:
    person = make_participant()
    window = {"start": "2026-01-05T00:00:00Z", "end": "2026-01-05T01:00:00Z"}
    response = client.get(f"/api/participants/{person.pk}/positions", window, **_auth(officer))
    assert response.status_code == 200, "the alert page's map showed the API's error"
    assert response.json()["results"] == []


def test_device_events_are_returned_with_their_raw_code(
    worn_track: dict[str, Any], officer: User, client: Client
) -> None:
    participant = worn_track["participant"]
    response = client.get(
        f"/api/participants/{participant.pk}/device-events", _window(worn_track), **_auth(officer)
    )
    assert [(e["kind"], e["raw_code"]) for e in response.json()] == [("tamper", "0x03")]


def test_another_officers_participant_positions_are_not_found(
    worn_track: dict[str, Any], make_user: Callable[..., User], client: Client
) -> None:
    participant = worn_track["participant"]
    response = client.get(
        f"/api/participants/{participant.pk}/positions",
        _window(worn_track),
        **_auth(make_user(Role.OFFICER)),
    )
    assert response.status_code == 404


def test_a_window_that_ends_before_it_starts_is_refused(
    worn_track: dict[str, Any], officer: User, client: Client
) -> None:
    window = _window(worn_track)
    response = client.get(
        f"/api/participants/{worn_track['participant'].pk}/positions",
        {"start": window["end"], "end": window["start"]},
        **_auth(officer),
    )
    assert response.status_code == 422


def test_the_device_list_filters_and_shows_the_last_position(
    worn_track: dict[str, Any],
    make_device: Callable[..., Device],
    make_user: Callable[..., User],
    client: Client,
) -> None:
    make_device(kind="phone", protocol="osmand", identifier="app-phone-1")
    auth = _auth(make_user(Role.ADMINISTRATOR))
    page = client.get("/api/devices", {"kind": "ankle"}, **auth).json()
    [device] = page["results"]
    assert device["identifier"] == worn_track["device"].identifier
    assert device["last_lat"] == 40.702
    detail = client.get(f"/api/devices/{device['id']}", **auth)
    assert detail.json()["status"] == "assigned"


def test_an_officer_does_not_see_another_offices_devices(
    make_device: Callable[..., Device],
    make_office: Callable[..., Any],
    officer: User,
    client: Client,
) -> None:
    elsewhere = make_device(office=make_office("Elsewhere"))
    response = client.get(f"/api/devices/{elsewhere.pk}", **_auth(officer))
    assert response.status_code == 404


def test_a_device_worn_by_a_colleagues_participant_is_hidden_as_its_wearer_is(
    worn_track: dict[str, Any], make_user: Callable[..., User], client: Client
) -> None:
    """Officer A must not see, through the device, the name and live position of a person
    on officer B's caseload in the same office; the answer is the same as for no device."""
    device = worn_track["device"]
    colleague = make_user(Role.OFFICER, username="omar")
    listed = client.get("/api/devices", **_auth(colleague)).json()
    assert device.pk not in [row["id"] for row in listed["results"]]
    assert client.get(f"/api/devices/{device.pk}", **_auth(colleague)).status_code == 404
    console = Client()
    console.force_login(colleague)
    verify_session(console, colleague)
    assert console.get(f"/tracking/devices/{device.pk}/").status_code == 404


def test_reading_worn_devices_last_positions_is_in_the_access_log(
    worn_track: dict[str, Any], officer: User, client: Client
) -> None:
    participant = worn_track["participant"]
    client.get("/api/devices", **_auth(officer))
    client.get(f"/api/devices/{worn_track['device'].pk}", **_auth(officer))
    listed = AccessLogEntry.objects.get(action="list", what__contains="last positions")
    read = AccessLogEntry.objects.get(action="api_read", what__contains="last position")
    assert listed.listed_ids == [participant.pk], "the list is one LIST row naming its wearers"
    assert read.participant_id == participant.pk


def test_positions_come_in_pages_each_read_through_the_gate(
    worn_track: dict[str, Any], officer: User, client: Client
) -> None:
    participant = worn_track["participant"]
    path = f"/api/participants/{participant.pk}/positions"
    auth = _auth(officer)
    first = client.get(path, {**_window(worn_track), "page_size": 2}, **auth).json()
    second = client.get(
        path, {**_window(worn_track), "page_size": 2, "cursor": first["next"]}, **auth
    ).json()
    assert [r["lat"] for r in first["results"] + second["results"]] == [40.7, 40.701, 40.702]
    assert second["next"] is None
    reads = AccessLogEntry.objects.filter(participant_id=participant.pk, action="api_read")
    assert reads.count() == 2, "one access-log row per page"


def test_the_device_list_pages_through_a_sort_key_some_devices_lack_each_once(
    make_device: Callable[..., Device], make_user: Callable[..., User], client: Client
) -> None:
    """Devices that never reported have no ``last_seen_at``: they come last, either way."""
    seen = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    devices = [make_device() for _ in range(5)]
    for n, device in enumerate(devices[:3]):
        Device.objects.filter(pk=device.pk).update(last_seen_at=seen + dt.timedelta(minutes=n))
    auth = _auth(make_user(Role.ADMINISTRATOR))
    never = sorted(d.identifier for d in devices[3:])

    def all_pages(sort: str) -> list[str]:
        identifiers: list[str] = []
        cursor = ""
        while cursor is not None:
            page = client.get(
                "/api/devices", {"sort": sort, "page_size": "2", "cursor": cursor}, **auth
            )
            identifiers += [row["identifier"] for row in page.json()["results"]]
            cursor = page.json()["next"]
        return identifiers

    assert all_pages("seen") == [d.identifier for d in devices[:3]] + never
    assert all_pages("-seen") == [d.identifier for d in reversed(devices[:3])] + never
