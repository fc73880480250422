"""Fixtures for the zones tests: geometry helpers and zones made through the services."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
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
