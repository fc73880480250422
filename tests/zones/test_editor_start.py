"""Where the zone editor opens: the participant's home zone, else what else is known of
them, else their office's location (a shared zone's editor: the editor's own office), else
the whole country."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import Office, Role, User
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone
from ontrack.zones.queries import OFFICE_ZOOM, editor_start
from tests.zones.conftest import HOME, offset, square

pytestmark = pytest.mark.django_db

NEWARK = (40.7357, -74.1724)


def _placed(office: Office) -> Office:
    office.latitude, office.longitude = NEWARK
    office.save()
    return office


def test_an_office_without_a_location_gives_no_start(
    make_participant: Callable[..., Participant], office: Office
) -> None:
    assert office.location is None
    assert editor_start(make_participant(), office=office) == {}


def test_with_nothing_known_of_the_person_the_editor_opens_at_their_office(
    make_participant: Callable[..., Participant], office: Office
) -> None:
    start = editor_start(make_participant(), office=_placed(office))
    assert start == {"reason": "office", "center": list(NEWARK), "zoom": OFFICE_ZOOM}


def test_the_home_zone_comes_before_the_office(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    office: Office,
) -> None:
    participant = make_participant()
    make_zone(participant, name="Home", kind="inclusion", geometry=square(100))
    start = editor_start(participant, office=_placed(office))
    assert start["reason"] == "home zone"
    (south, west), (north, east) = start["bounds"]
    assert south < HOME[0] < north
    assert west < HOME[1] < east


def test_other_zones_come_before_the_office(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    office: Office,
) -> None:
    participant = make_participant()
    make_zone(participant, name="Park", geometry=square(100, offset(2000, 0)))
    assert editor_start(participant, office=_placed(office))["reason"] == "zones"


def test_a_shared_zone_opens_at_the_office(office: Office) -> None:
    assert editor_start(None, office=_placed(office))["reason"] == "office"


def test_the_new_shared_zone_page_opens_at_the_supervisors_office(
    make_user: Callable[..., User], office: Office, client_for: Callable[[User], Client]
) -> None:
    _placed(office)
    page = client_for(make_user(Role.SUPERVISOR)).get("/zones/shared/new/")
    assert page.status_code == 200
    assert page.context["start"]["center"] == list(NEWARK)
    assert "The map opens at the office." in page.content.decode()
