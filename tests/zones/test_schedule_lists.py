"""Wherever zones are listed (the participant page's panel, their zones page, the shared
zones page, every map's GeoJSON), a schedule reads in words, never as stored day numbers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from ontrack.accounts.models import Role, User
from ontrack.participants.models import Participant
from ontrack.zones import services
from ontrack.zones.models import Zone
from tests.zones.conftest import square

pytestmark = pytest.mark.django_db

CURFEW = [{"days": list(range(7)), "start": "21:00", "end": "06:00"}]
WEEKNIGHTS = [{"days": [0, 1, 2, 3, 4], "start": "20:00", "end": "06:00"}]


def _text(response: object) -> str:
    assert response.status_code == 200  # type: ignore[attr-defined]
    return response.content.decode()  # type: ignore[attr-defined]


def test_the_zones_page_and_the_panel_read_a_curfew_in_words(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    make_zone(participant, name="Home", kind="inclusion", schedule=CURFEW)
    make_zone(participant, name="Park")
    client = client_for(officer)
    for url in (f"/zones/participant/{participant.pk}/", f"/participants/{participant.pk}/"):
        page = _text(client.get(url))
        assert "every day 21:00–06:00" in page, url
        assert "always" in page, f"{url}: the zone without a schedule"
        assert "0,1,2" not in page, url


def test_the_shared_zones_page_and_the_attach_list_read_schedules_in_words(
    make_participant: Callable[..., Participant],
    make_user: Callable[..., User],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    services.zone_create(
        actor=make_user(Role.SUPERVISOR),
        office=officer.office,
        data=services.ZoneData(
            name="Courthouse", kind="exclusion", geometry=square(60), schedule=WEEKNIGHTS
        ),
    )
    client = client_for(officer)
    assert "Mon–Fri 20:00–06:00" in _text(client.get("/zones/shared/"))
    participant = make_participant()
    assert "Courthouse (exclusion, Mon–Fri 20:00–06:00)" in _text(
        client.get(f"/zones/participant/{participant.pk}/")
    )


def test_every_zone_feature_carries_its_schedule_in_words_for_the_map_tooltips(
    make_participant: Callable[..., Participant],
    make_zone: Callable[..., Zone],
    officer: User,
    client_for: Callable[[User], Client],
) -> None:
    participant = make_participant()
    make_zone(participant, name="Home", kind="inclusion", schedule=CURFEW)
    collection = client_for(officer).get(f"/zones/participant/{participant.pk}/geojson/").json()
    words = [f["properties"]["schedule_words"] for f in collection["features"]]
    assert words == ["every day 21:00–06:00"]
