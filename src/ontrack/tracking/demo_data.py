"""Demo devices: each fitted device's last report, and 90 days of the alerts they raised.

``ontrack.seed`` fits the devices; this gives them a past. A device the simulator keeps
silent at the start of a run (``simulator.SILENT``) was last heard from hours ago, so the
silence watchdog raises its message-gap alert at the worker's first run; every other
fitted device was heard from a moment ago (where its wearer is now, with its battery), so
that watchdog has nothing to say about it until it really falls silent. Without this the
first run of the watchdog would find every fitted device never heard from, and raise an
alert for each that the device's first report then clears.

Before that (``zones_seed``, run ahead of the zones' evaluation of any position), each
fitted wearer gets their demo zones where the simulator has them live and travel, so that
``ontrack demo`` shows entries, exits and violations: a protected address (an exclusion
zone) is put on the errand of every wearer whose run opens with a visit there
(``simulator.EXCLUSION``), so the queue shows entries within the demo's first minute, and on
the commute of a few more, who cross it on their way to work. Zones get the places only
(``zones.demo_data``): the simulator is tracking's.

The history is what the fleet raised over the last 90 days (gaps, batteries, tamper, GPS
lost, curfew and exclusion-zone breaches, at plausible hours), handed to
``alerts.demo_data.history``, which decides how staff handled each.
"""

from __future__ import annotations

import datetime as dt
import random

from ontrack.accounts.models import Program
from ontrack.alerts.demo_data import Condition, history
from ontrack.alerts.models import AlertKind
from ontrack.tracking.models import Device, DeviceAssignment, DeviceEventRecord
from ontrack.tracking.protocols.records import EventKind
from ontrack.tracking.simulator.wearers import EXCLUSION, SILENT, Wearer, office_place
from ontrack.zones.demo_data import WearerPlaces, wearer_zones_create
from ontrack.zones.models import Zone, ZoneKind

HISTORY_DAYS = 90
# Alerts per wearer per day by kind, after grace (the field figure before grace is ~1.25).
DAILY_RATES: dict[str, float] = {
    AlertKind.MESSAGE_GAP: 1 / 12,
    AlertKind.LOW_BATTERY: 1 / 10,
    AlertKind.CRITICAL_BATTERY: 1 / 40,
    AlertKind.STRAP_TAMPER: 1 / 35,
    AlertKind.GPS_LOST: 1 / 25,
}
CURFEW_EXIT_RATE = 1 / 15
EXCLUSION_ENTRY_RATE = 1 / 12
# Local hours at which each kind tends to begin.
HOURS: dict[str, tuple[float, float]] = {
    AlertKind.MESSAGE_GAP: (0, 24),
    AlertKind.LOW_BATTERY: (15, 21),
    AlertKind.CRITICAL_BATTERY: (17, 22),
    AlertKind.STRAP_TAMPER: (0, 24),
    AlertKind.GPS_LOST: (7, 19),
    AlertKind.INCLUSION_ZONE_EXIT: (21, 23.5),
    AlertKind.EXCLUSION_ZONE_ENTRY: (7, 19),
}
# Besides those whose run opens at the protected address, this share of wearers has one.
EXCLUSION_SHARE = 0.1


def _wearer(assignment: DeviceAssignment, seed_value: int) -> Wearer:
    """The simulator's wearer of this fitting, around the wearer's office as ``ontrack
    simulate`` places them (``wearer_places``): the seeded zones and last reports are where
    the simulated device then goes."""
    office = assignment.participant.office
    around = office_place(office.latitude, office.longitude, office.time_zone)
    return Wearer.create(assignment.device.identifier, seed_value, around)


def zones_seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    """Zones for the program's fitted wearers that have none yet (``now`` is unused: zones
    are in force from the start)."""
    rng = random.Random(f"zones:{seed_value}")
    fitted = (
        DeviceAssignment.objects.filter(participant__program=program, ended_at__isnull=True)
        .exclude(participant__zones__isnull=False)
        .select_related("device", "participant__office")
        .order_by("participant_id")
    )
    places = []
    for assignment in fitted:
        wearer = _wearer(assignment, seed_value)
        protected = rng.random() < EXCLUSION_SHARE or wearer.opening == EXCLUSION
        places.append(
            WearerPlaces(
                participant=assignment.participant,
                home=wearer.home,
                protected=wearer.errand if protected else None,
            )
        )
    wearer_zones_create(program=program, places=places)


def seed(*, program: Program, seed_value: int, now: dt.datetime) -> None:
    rng = random.Random(f"tracking:{seed_value}")
    fitted = list(
        DeviceAssignment.objects.filter(participant__program=program, ended_at__isnull=True)
        .select_related("device", "participant__office")
        .order_by("participant_id")
    )
    if not fitted:
        return
    zones: dict[tuple[int, str], int] = {}
    for pk, participant_id, kind in Zone.objects.filter(
        participant_id__in=[a.participant_id for a in fitted]
    ).values_list("pk", "participant_id", "kind"):
        zones.setdefault((participant_id, kind), pk)
    devices: list[Device] = []
    events: list[DeviceEventRecord] = []
    conditions: list[Condition] = []
    for assignment in fitted:
        device = assignment.device
        wearer = _wearer(assignment, seed_value)
        _last_report(device, wearer, rng, now)
        devices.append(device)
        events += _charging_nights(assignment, wearer, now)
        conditions += _conditions(assignment, wearer, zones, rng, now)
    DeviceEventRecord.objects.bulk_create(events, batch_size=1000)
    Device.objects.bulk_update(
        devices,
        ["last_seen_at", "last_fix_time", "last_lat", "last_lon", "last_accuracy_m",
         "battery_pct", "charging"],
        batch_size=500,
    )  # fmt: skip
    history(conditions, rng=rng, now=now)


def _last_report(device: Device, wearer: Wearer, rng: random.Random, now: dt.datetime) -> None:
    """Where and how the device was when it last reported (hours ago for a silent one)."""
    if wearer.opening == SILENT:
        seen = now - dt.timedelta(hours=rng.uniform(2.5, 7.0))
    else:
        seen = now - dt.timedelta(seconds=rng.uniform(5, 90))
    lat, lon, _speed, _course = wearer.position(seen)
    device.last_seen_at = device.last_fix_time = seen
    device.last_lat, device.last_lon = round(lat, 6), round(lon, 6)
    device.last_accuracy_m = 8.0
    device.battery_pct = round(wearer.battery)
    local_hour = seen.astimezone(wearer.zone).hour
    device.charging = (local_hour >= 22 or local_hour < 6) and not wearer.forgets_charging


CHARGING_NIGHTS = 7


def _charging_nights(
    assignment: DeviceAssignment, wearer: Wearer, now: dt.datetime
) -> list[DeviceEventRecord]:
    """On charge from 22:00 to 06:00 (the simulator's habit) on the last nights; a wearer
    who forgets to charge last did it three nights ago, so the charger watchdog has
    something to say about them at its first run, and nothing about the others."""
    today = now.astimezone(wearer.zone).date()
    nights = range(3, 3 + CHARGING_NIGHTS) if wearer.forgets_charging else range(CHARGING_NIGHTS)
    rows = []
    for back in nights:
        evening = dt.datetime.combine(today - dt.timedelta(days=back + 1), dt.time(22),
                                      tzinfo=wearer.zone)  # fmt: skip
        for kind, at in (
            (EventKind.CHARGER_CONNECTED, evening),
            (EventKind.CHARGER_DISCONNECTED, evening + dt.timedelta(hours=8)),
        ):
            if at < assignment.started_at or at > now:
                continue
            rows.append(
                DeviceEventRecord(
                    device_id=assignment.device_id,
                    participant_id=assignment.participant_id,
                    time=at,
                    kind=str(kind),
                    raw_code="charger",
                    received_at=at,
                )
            )
    return rows


def _at_local_hour(
    day: dt.date, hours: tuple[float, float], wearer: Wearer, rng: random.Random
) -> dt.datetime:
    hour = rng.uniform(*hours)
    local = dt.datetime.combine(day, dt.time(0), tzinfo=wearer.zone)
    return (local + dt.timedelta(hours=hour)).astimezone(dt.UTC)


def _conditions(
    assignment: DeviceAssignment,
    wearer: Wearer,
    zones: dict[tuple[int, str], int],
    rng: random.Random,
    now: dt.datetime,
) -> list[Condition]:
    """What this device and its wearer's zones raised, day by day, up to yesterday."""
    pid, device_id = assignment.participant_id, assignment.device_id
    device_source = f"device:{device_id}"
    start = max(assignment.started_at, now - dt.timedelta(days=HISTORY_DAYS))
    rates: list[tuple[str, float, str, int | None]] = [
        (kind, rate, device_source, None) for kind, rate in DAILY_RATES.items()
    ]
    home = zones.get((pid, ZoneKind.INCLUSION))
    if home is not None:
        rates.append((AlertKind.INCLUSION_ZONE_EXIT, CURFEW_EXIT_RATE, f"zone:{home}", home))
    exclusion = zones.get((pid, ZoneKind.EXCLUSION))
    if exclusion is not None:
        rates.append(
            (AlertKind.EXCLUSION_ZONE_ENTRY, EXCLUSION_ENTRY_RATE, f"zone:{exclusion}", exclusion)
        )
    found: list[Condition] = []
    day = start.astimezone(wearer.zone).date()
    last_day = (now - dt.timedelta(days=1)).astimezone(wearer.zone).date()
    while day < last_day:
        for kind, rate, source, zone_id in rates:
            if rng.random() >= rate:
                continue
            at = _at_local_hour(day, HOURS[kind], wearer, rng)
            if at < start:
                continue
            details: dict[str, object] = {}
            if kind == AlertKind.MESSAGE_GAP:
                since = at - dt.timedelta(minutes=30)
                details = {"tier_minutes": 30, "silent_since": since.isoformat()}
            elif kind in (AlertKind.LOW_BATTERY, AlertKind.CRITICAL_BATTERY):
                level = rng.randint(12, 20) if kind == AlertKind.LOW_BATTERY else rng.randint(4, 10)
                details = {"battery_pct": level}
            found.append(
                Condition(
                    participant_id=pid,
                    kind=kind,
                    source=source,
                    occurred_at=at,
                    device_id=device_id,
                    zone_id=zone_id,
                    details=details,
                )
            )
        day += dt.timedelta(days=1)
    return found
