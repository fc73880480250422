"""Fixtures for the zones tests: geometry helpers and zones made through the services."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData
from ontrack.tracking.services import device_assign, device_register
from ontrack.zones import services
from ontrack.zones.engine import M_PER_DEG
from ontrack.zones.models import Zone

HOME = (40.7128, -74.0060)


def offset(
    north_m: float, east_m: float, origin: tuple[float, float] = HOME
) -> tuple[float, float]:
    lat, lon = origin
    return (
        lat + north_m / M_PER_DEG,
        lon + east_m / (M_PER_DEG * math.cos(math.radians(lat))),
    )


def square(half_m: float, origin: tuple[float, float] = HOME) -> dict[str, Any]:
    corners = [
        offset(n, e, origin)
        for n, e in ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    ]
    ring = [[lon, lat] for lat, lon in corners]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@pytest.fixture
def make_zone(officer: User) -> Callable[..., Zone]:
    def make(participant: Participant, *, actor: User = officer, **fields: Any) -> Zone:
        data = {"name": "Zone", "kind": "exclusion", "geometry": square(500), **fields}
        return services.zone_create(
            actor=actor, participant=participant, data=services.ZoneData(**data)
        )

    return make


@pytest.fixture
def worn_gt06(make_participant: Callable[..., Participant]) -> Callable[[str], Participant]:
    """A participant whose plan includes GPS, wearing a registered GT06 device."""

    def make(imei: str) -> Participant:
        device = device_register(actor=None, identifier=imei, kind="ankle", protocol="gt06")
        review = timezone.localdate() + dt.timedelta(days=90)
        participant = make_participant(
            plan=PlanData(level="intensive", review_date=review, gps_device=True)
        )
        device_assign(device, participant, actor=None, at=timezone.now() - dt.timedelta(hours=1))
        return participant

    return make
