"""Demo zones sit where the simulator's wearers live."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ontrack.tracking.handoff import StoredFix
from ontrack.tracking.simulator import Wearer
from ontrack.zones import demo_data, services
from ontrack.zones.models import Zone

pytestmark = pytest.mark.django_db


def test_each_wearer_gets_a_curfew_home_zone_they_are_inside_at_night(worn_gt06, program):
    participants = [worn_gt06(f"3591000000000{n:02d}") for n in range(12)]
    demo_data.seed(program=program, seed_value=2026, now=timezone.now())
    homes = Zone.objects.filter(kind="inclusion")
    assert homes.count() == len(participants)
    participant = participants[0]
    wearer = Wearer.create(participant.device_assignments.get().device.identifier, 2026)
    night = datetime(2026, 6, 2, 3, 0, tzinfo=wearer.zone).astimezone(UTC)
    lat, lon, _, _ = wearer.position(night)
    fix = StoredFix(
        device_id=1, participant_id=participant.pk, time=night, lat=lat, lon=lon, accuracy_m=10.0
    )
    assert services.zone_fixes_evaluate([fix]) == []
    assert participant.zones.get(kind="inclusion").states.get().side == "inside"


def test_seeding_twice_adds_no_second_set_of_zones(worn_gt06, program):
    worn_gt06("359100000000099")
    demo_data.seed(program=program, seed_value=1, now=timezone.now())
    demo_data.seed(program=program, seed_value=1, now=timezone.now())
    assert Zone.objects.filter(kind="inclusion").count() == 1
