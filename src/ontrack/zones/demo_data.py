"""Demo zones: a curfew home zone for every wearer of a GPS device and a few exclusion zones.

The zones are put where the simulator's wearers live and travel, so that ``ontrack demo``
shows entries, exits and violations: an exclusion zone (a protected address) is put on
the errand of every wearer whose run opens with a visit there (``simulator.EXCLUSION``), so
the queue shows entries within the demo's first minute, and on the commute of a few more,
who cross it on their way to work.
Where a wearer lives is the simulator's own definition (``Wearer.create`` from the device
identifier and the seed), so this reads it from ``tracking`` rather than copying it. That
is the one import against the app stack in zones, and it is deliberate: this module is only
called by ``ontrack.seed`` (which sits at the top, beside the command line), never by the
zones app at run time.
"""

from __future__ import annotations

import datetime as dt
import random

from ontrack.accounts.models import Program
from ontrack.zones.models import Zone, ZoneKind
from ontrack.zones.services import geometry_bbox

CURFEW = [{"days": [0, 1, 2, 3, 4, 5, 6], "start": "21:00", "end": "06:00"}]
HOME_RADIUS_M = 150.0
EXCLUSION_SHARE = 0.1


def _circle(lat: float, lon: float, radius_m: float) -> dict[str, object]:
    return {"type": "Circle", "center": [round(lon, 6), round(lat, 6)], "radius_m": radius_m}


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    """Zones for the program's fitted wearers that have none yet (``now`` is unused: zones
    are in force from the start)."""
    from ontrack.tracking.models import DeviceAssignment
    from ontrack.tracking.simulator import EXCLUSION, Wearer

    rng = random.Random(f"zones:{seed_value}")
    fitted = (
        DeviceAssignment.objects.filter(participant__program=program, ended_at__isnull=True)
        .exclude(participant__zones__isnull=False)
        .select_related("device", "participant")
        .order_by("participant_id")
    )
    zones: list[Zone] = []
    for assignment in fitted:
        participant = assignment.participant
        wearer = Wearer.create(assignment.device.identifier, seed_value)
        common = {
            "program": program,
            "office_id": participant.office_id,
            "participant": participant,
        }
        home = _circle(*wearer.home, HOME_RADIUS_M)
        zones.append(
            Zone(
                name="Home (curfew)",
                kind=ZoneKind.INCLUSION,
                geometry=home,
                buffer_m=30.0,
                schedule=CURFEW,
                **common,
            )
        )
        if rng.random() < EXCLUSION_SHARE or wearer.opening == EXCLUSION:
            zones.append(
                Zone(
                    name="Protected address",
                    kind=ZoneKind.EXCLUSION,
                    geometry=_circle(*wearer.errand, 200.0),
                    buffer_m=20.0,
                    **common,
                )
            )
    for zone in zones:
        zone.min_lon, zone.min_lat, zone.max_lon, zone.max_lat = geometry_bbox(zone.geometry)
    Zone.objects.bulk_create(zones, batch_size=1000)
