"""Zone pages and the zones API through the real client, with the console's rules."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.accounts.services import api_token_create
from ontrack.audit.models import AccessLogEntry
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone
from tests.zones.conftest import square

pytestmark = pytest.mark.django_db


def _auth(user: User) -> dict[str, Any]:
    _, secret = api_token_create(user=user, name="test")
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_the_participant_page_shows_the_zones_panel(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    make_zone(participant, name="Home block")
    page = client_for(officer).get(f"/participants/{participant.pk}/")
    assert page.status_code == 200
    assert b'id="zones-panel"' in page.content
    assert b"Home block" in page.content


def test_the_zones_page_lists_zones_on_a_map_and_is_access_logged(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    make_zone(participant, name="Home block")
    page = client_for(officer).get(f"/zones/participant/{participant.pk}/")
    assert page.status_code == 200
    assert b"Home block" in page.content
    assert b"zones.js" in page.content
    assert AccessLogEntry.objects.filter(participant_id=participant.pk, what="zones").exists()


def test_an_officer_draws_a_zone_in_the_editor(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    client = client_for(officer)
    assert client.get(f"/zones/participant/{participant.pk}/new/").status_code == 200
    response = client.post(
        f"/zones/participant/{participant.pk}/new/",
        {
            "name": "Home",
            "kind": "inclusion",
            "buffer_m": "20",
            "schedule": "Mon-Fri 20:00-06:00",
            "geometry": json.dumps(square(80)),
        },
    )
    assert response.status_code == 302
    zone = Zone.objects.get()
    assert zone.schedule == [{"days": [0, 1, 2, 3, 4], "start": "20:00", "end": "06:00"}]
    assert zone.buffer_m == 20


def test_a_pasted_wkt_polygon_replaces_the_drawing(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    response = client_for(officer).post(
        f"/zones/participant/{participant.pk}/new/",
        {
            "name": "Park",
            "kind": "exclusion",
            "buffer_m": "0",
            "schedule": "",
            "import_text": "POLYGON ((-74 40.7, -73.99 40.7, -73.99 40.71, -74 40.7))",
        },
    )
    assert response.status_code == 302
    assert Zone.objects.get().geometry["coordinates"][0][0] == [-74.0, 40.7]


def test_an_unreadable_schedule_is_shown_on_the_form(
    make_participant: Callable[..., Participant],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    response = client_for(officer).post(
        f"/zones/participant/{participant.pk}/new/",
        {
            "name": "Home",
            "kind": "inclusion",
            "buffer_m": "0",
            "schedule": "weeknights",
            "geometry": json.dumps(square(80)),
        },
    )
    assert response.status_code == 200
    assert b"Mon-Fri 20:00-06:00" in response.content
    assert not Zone.objects.exists()


def test_another_caseload_is_not_found_and_cannot_be_edited(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    make_user: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    zone = make_zone(participant)
    stranger = client_for(make_user(Role.OFFICER))
    assert stranger.get(f"/zones/participant/{participant.pk}/").status_code == 404
    assert stranger.get(f"/zones/participant/{participant.pk}/geojson/").status_code == 404
    assert stranger.get(f"/zones/{zone.pk}/edit/").status_code == 404
    assert stranger.post(f"/zones/{zone.pk}/delete/").status_code == 404
    assert Zone.objects.filter(pk=zone.pk).exists()


def test_the_geojson_endpoint_gives_a_feature_collection(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    make_zone(participant, geometry={"type": "Circle", "center": [-74.0, 40.7], "radius_m": 150})
    data = client_for(officer).get(f"/zones/participant/{participant.pk}/geojson/").json()
    assert data["type"] == "FeatureCollection"
    feature = data["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-74.0, 40.7]}
    assert feature["properties"]["radius_m"] == 150


def test_a_supervisor_keeps_shared_zones_and_an_officer_attaches_them(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    supervisor = client_for(make_user(Role.SUPERVISOR))
    response = supervisor.post(
        "/zones/shared/new/",
        {
            "name": "Courthouse",
            "kind": "inclusion",
            "buffer_m": "0",
            "schedule": "",
            "geometry": json.dumps(square(60)),
        },
    )
    assert response.status_code == 302
    court = Zone.objects.get()
    officer_client = client_for(officer)
    assert officer_client.get("/zones/shared/new/").status_code == 403
    assert b"Courthouse" in officer_client.get("/zones/shared/").content
    participant = make_participant()
    officer_client.post(f"/zones/participant/{participant.pk}/attach/", {"zone": court.pk})
    assert list(court.attached.all()) == [participant]


def test_the_api_creates_lists_updates_and_deletes_zones(
    make_participant: Callable[..., Participant], officer: User, client: Client
) -> None:
    participant = make_participant()
    auth = _auth(officer)
    url = f"/api/participants/{participant.pk}/zones"
    created = client.post(
        url,
        {"name": "Home", "kind": "inclusion", "geometry": square(100), "buffer_m": 10},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    zone_id = created.json()["id"]
    listed = client.get(url, **auth).json()
    assert [f["id"] for f in listed["features"]] == [zone_id]
    assert AccessLogEntry.objects.filter(participant_id=participant.pk, action="api_read").exists()
    updated = client.put(
        f"/api/zones/{zone_id}",
        {"name": "Home", "kind": "inclusion", "wkt": "POLYGON ((0 0, 1 0, 1 1, 0 0))"},
        content_type="application/json",
        **auth,
    )
    assert updated.status_code == 200
    assert updated.json()["properties"]["version"] == 2
    assert client.delete(f"/api/zones/{zone_id}", **auth).status_code == 204
    assert not Zone.objects.exists()


def test_the_api_refuses_bad_geometry_and_other_caseloads(
    make_participant: Callable[..., Participant], make_user: Callable[..., User], client: Client
) -> None:
    participant = make_participant()
    url = f"/api/participants/{participant.pk}/zones"
    bad = {
        "name": "X",
        "kind": "exclusion",
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0]]]},
    }
    response = client.post(
        url, bad, content_type="application/json", **_auth(make_user(Role.SUPERVISOR))
    )
    assert response.status_code == 422
    stranger = _auth(make_user(Role.OFFICER))
    assert client.get(url, **stranger).status_code == 404
    assert client.get("/api/zones/shared", **stranger).status_code == 200


def test_editing_a_zone_shows_it_logs_the_read_and_saves_a_new_version(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    zone = make_zone(
        participant, name="Park", schedule=[{"days": [5, 6], "start": "22:00", "end": "07:00"}]
    )
    client = client_for(officer)
    page = client.get(f"/zones/{zone.pk}/edit/")
    assert page.status_code == 200
    assert b"Sat-Sun 22:00-07:00" in page.content
    assert AccessLogEntry.objects.filter(
        participant_id=participant.pk, what=f"zone {zone.pk}"
    ).exists()
    response = client.post(
        f"/zones/{zone.pk}/edit/",
        {
            "name": "Park",
            "kind": "exclusion",
            "buffer_m": "5",
            "schedule": "",
            "geometry": json.dumps(square(200)),
        },
    )
    assert response.status_code == 302
    zone.refresh_from_db()
    assert (zone.version, zone.schedule, zone.buffer_m) == (2, [], 5)
