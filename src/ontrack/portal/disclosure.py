"""What the program collects about a participant's location, as the participant is told it.

The check-in page and "my data" say it from this one reading of the person's plan, the
device they wear now and the retention periods in force, so that a GPS wearer is never
told "we do not follow your location" and someone checking in by app is not told more is
taken than one fix. How often a device reports is measured from what it actually sent in
the last day (devices are set up differently, and faster while an alert is open), not
assumed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from dataclasses import dataclass

from ontrack.audit.retention import retention_days
from ontrack.participants.models import Participant
from ontrack.schedule.queries import current_plan
from ontrack.tracking.queries import participant_current_device, participant_positions
from ontrack.tracking.services import can_locate

MEASURED_OVER = dt.timedelta(days=1)
MEASURED_POSITIONS = 500


@dataclass(frozen=True)
class DeviceTracking:
    """A device worn now: what kind, how often it sent a position over the last day (None:
    fewer than two positions), how long positions and device events are kept, and whether
    the officer can ask it for a position at any moment ("locate now")."""

    kind: str
    every: dt.timedelta | None
    positions_days: int
    events_days: int
    can_be_asked: bool


@dataclass(frozen=True)
class LocationCollection:
    """``at_checkin``: one fix with each check-in from the portal (the plan has app
    check-ins); ``by_text``: check-in by texting the PIN, which takes no location;
    ``photo_days``: how long a check-in photo is kept; ``device``: continuous tracking."""

    at_checkin: bool
    by_text: bool
    photo_days: int
    device: DeviceTracking | None


def reporting_interval(times: list[dt.datetime]) -> dt.timedelta | None:
    """The typical gap between consecutive reports (the median, so that one night without
    signal does not make a one-minute device look like an hourly one)."""
    ordered = sorted(times)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
    gaps = [gap for gap in gaps if gap > 0]
    if not gaps:
        return None
    return dt.timedelta(seconds=statistics.median(gaps))


def location_collection(participant: Participant, *, now: dt.datetime) -> LocationCollection:
    plan = current_plan(participant)
    device = participant_current_device(participant)
    tracking = None
    if device is not None:
        recent = (
            participant_positions(participant, now - MEASURED_OVER, now)
            .filter(device=device)
            .order_by("-time")
            .values_list("time", flat=True)[:MEASURED_POSITIONS]
        )
        tracking = DeviceTracking(
            kind=device.kind,
            every=reporting_interval(list(recent)),
            positions_days=retention_days("positions"),
            events_days=retention_days("device_events"),
            can_be_asked=can_locate(device),
        )
    return LocationCollection(
        at_checkin=bool(plan and plan.app_checkins),
        by_text=bool(plan and plan.phone_checkins),
        photo_days=retention_days("checkin_photos"),
        device=tracking,
    )
