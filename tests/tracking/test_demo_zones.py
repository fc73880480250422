"""Demo zones sit where the simulator's wearers live (``tracking.demo_data.zones_seed``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ontrack.accounts.models import Office, Program
from ontrack.participants.models import Participant
from ontrack.tracking import demo_data
from ontrack.tracking.handoff import StoredFix
from ontrack.tracking.simulator.wearers import Wearer, wearer_places
from ontrack.zones import services
from ontrack.zones.models import Zone

pytestmark = pytest.mark.django_db


def test_each_wearer_gets_a_curfew_home_zone_they_are_inside_at_night(
    worn_gt06: Callable[[str], Participant], program: Program
) -> None:
    participants = [worn_gt06(f"3591000000000{n:02d}") for n in range(12)]
    demo_data.zones_seed(program=program, seed_value=2026, now=timezone.now())
    homes = Zone.objects.filter(kind="inclusion")
    assert homes.count() == len(participants)
    participant = participants[0]
    identifier = participant.device_assignments.get().device.identifier
    wearer = Wearer.create(identifier, 2026, wearer_places().get(identifier))
    night = datetime(2026, 6, 2, 3, 0, tzinfo=wearer.zone).astimezone(UTC)
    lat, lon, _, _ = wearer.position(night)
    fix = StoredFix(
        device_id=1, participant_id=participant.pk, time=night, lat=lat, lon=lon, accuracy_m=10.0
    )
    assert services.zone_fixes_evaluate([fix]) == []
    assert participant.zones.get(kind="inclusion").states.get().side == "inside"


def test_seeding_twice_adds_no_second_set_of_zones(
    worn_gt06: Callable[[str], Participant], program: Program
) -> None:
    worn_gt06("359100000000099")
    demo_data.zones_seed(program=program, seed_value=1, now=timezone.now())
    demo_data.zones_seed(program=program, seed_value=1, now=timezone.now())
    assert Zone.objects.filter(kind="inclusion").count() == 1


def test_wearers_live_around_their_office_where_the_simulator_puts_them(
    worn_gt06: Callable[[str], Participant], program: Program, office: Office
) -> None:
    """An office's live map shows its caseload where the office is: the simulator places
    each wearer around their office (``wearer_places``), and the demo's zones and last
    reports agree with it."""
    office.latitude, office.longitude, office.time_zone = 29.9422, -95.4168, "America/Chicago"
    office.save()
    participant = worn_gt06("359100000000077")
    assert participant.office == office
    places = wearer_places()
    assert places == {"359100000000077": (29.9422, -95.4168, "America/Chicago")}
    demo_data.zones_seed(program=program, seed_value=2026, now=timezone.now())
    wearer = Wearer.create("359100000000077", 2026, places["359100000000077"])
    assert str(wearer.zone) == "America/Chicago"
    home = participant.zones.get(kind="inclusion")
    lon, lat = home.geometry["center"]
    for place in (wearer.home, wearer.work, (lat, lon)):
        assert abs(place[0] - 29.9422) < 0.15, place  # 15 km is 0.135 degrees of latitude
        assert abs(place[1] - (-95.4168)) < 0.2, place
