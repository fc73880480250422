"""Demo zones: a curfew home zone and, for some wearers, an exclusion zone around a
protected address.

Where a wearer lives and where their errands take them is the simulator's definition, which
belongs to tracking (above zones in the import stack); ``tracking.demo_data.zones_seed``
reads it and hands the places here, so that zones knows nothing of devices or simulators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ontrack.accounts.models import Program
from ontrack.participants.models import Participant
from ontrack.zones.models import Zone, ZoneKind
from ontrack.zones.services import geometry_bbox

CURFEW = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "21:00", "end": "06:00"}]
HOME_RADIUS_M = 150.0
PROTECTED_RADIUS_M = 200.0


@dataclass(frozen=True, slots=True)
class WearerPlaces:
    """Where a demo wearer lives, and the protected address they must keep away from
    (None: no exclusion zone for them); points are (lat, lon)."""

    participant: Participant
    home: tuple[float, float]
    protected: tuple[float, float] | None


def _circle(lat: float, lon: float, radius_m: float) -> dict[str, object]:
    return {"type": "Circle", "center": [round(lon, 6), round(lat, 6)], "radius_m": radius_m}


def wearer_zones_create(*, program: Program, places: Sequence[WearerPlaces]) -> None:
    """The demo zones of each wearer in ``places``: a curfew home zone, and an exclusion zone
    around their protected address when they have one."""
    zones: list[Zone] = []
    for place in places:
        participant = place.participant
        common = {
            "program": program,
            "office_id": participant.office_id,
            "participant": participant,
        }
        zones.append(
            Zone(
                name="Home (curfew)",
                kind=ZoneKind.INCLUSION,
                geometry=_circle(*place.home, HOME_RADIUS_M),
                buffer_m=30.0,
                schedule=CURFEW,
                **common,
            )
        )
        if place.protected is not None:
            zones.append(
                Zone(
                    name="Protected address",
                    kind=ZoneKind.EXCLUSION,
                    geometry=_circle(*place.protected, PROTECTED_RADIUS_M),
                    buffer_m=20.0,
                    **common,
                )
            )
    for zone in zones:
        zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat = geometry_bbox(zone.geometry)
    Zone.objects.bulk_create(zones, batch_size=1000)
