"""Demo zones sit where the simulator's wearers live (``tracking.demo_data.zones_seed``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ontrack.accounts.models import Program
from ontrack.participants.models import Participant
from ontrack.tracking import demo_data
from ontrack.tracking.handoff import StoredFix
from ontrack.tracking.simulator.wearers import Wearer
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
    wearer = Wearer.create(participant.device_assignments.get().device.identifier, 2026)
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
