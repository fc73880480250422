"""Fixtures for the tracking tests: devices registered and fitted through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from ontrack.accounts.actors import SYSTEM
from ontrack.participants.models import Participant
from ontrack.participants.services import PlanData
from ontrack.tracking.models import Device
from ontrack.tracking.services.devices import device_register
from ontrack.tracking.services.directory import DeviceInfo, device_directory


@pytest.fixture
def make_device(db: None) -> Callable[..., Device]:
    counter = iter(range(1, 100_000))

    def make(
        *, kind: str = "ankle", protocol: str = "gt06", identifier: str | None = None, **fields: Any
    ) -> Device:
        return device_register(
            actor=SYSTEM,
            identifier=identifier or f"35{next(counter):013d}",
            kind=kind,
            protocol=protocol,
            **fields,
        )

    return make


@pytest.fixture
def make_gps_participant(
    make_participant: Callable[..., Participant],
) -> Callable[..., Participant]:
    """A participant whose plan includes a GPS device."""

    def make(**overrides: Any) -> Participant:
        plan = PlanData(
            level="intensive",
            review_date=timezone.localdate() + dt.timedelta(days=90),
            gps_device=True,
        )
        return make_participant(plan=plan, **overrides)

    return make


@pytest.fixture
def info_for() -> Callable[[Device], DeviceInfo]:
    """The gateway's view of a device, read the way the gateway reads it."""

    def get(device: Device) -> DeviceInfo:
        return device_directory()[device.identifier]

    return get


@pytest.fixture
def worn_track(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
) -> dict[str, Any]:
    """A participant (of the ``officer`` fixture) wearing a device that reported three fixes
    and a tamper event an hour ago."""
    from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
    from ontrack.tracking.services.devices import device_assign
    from ontrack.tracking.services.ingest import store_batch

    device = make_device()
    participant = make_gps_participant()
    start = timezone.now() - dt.timedelta(hours=2)
    device_assign(device, participant, actor=SYSTEM, at=start)
    info = device_directory()[device.identifier]
    base = timezone.now() - dt.timedelta(hours=1)
    items: list[tuple[DeviceInfo, Fix | DeviceEvent]] = [
        (
            info,
            Fix(
                device.identifier,
                base + dt.timedelta(minutes=m),
                (40.7, 40.701, 40.702)[m],
                -74.0,
                accuracy_m=12.0,
                altitude_m=10.0,
            ),
        )
        for m in range(3)
    ]
    items.append((info, DeviceEvent(device.identifier, base, EventKind.TAMPER, raw_code="0x03")))
    store_batch(items, received_at=timezone.now())
    return {"device": device, "participant": participant, "base": base}


PLAYBACK_DAY = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)  # 09:00 EST in Newark
HOME = (40.7357, -74.1724)
COURT = (40.7336, -74.1711)  # about 260 m from HOME
STORE = (40.7421, -74.1802)  # about 1 km from HOME


@pytest.fixture
def stopping_track(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
) -> dict[str, Any]:
    """A participant (of the ``officer`` fixture, office in Newark) whose device reported,
    on 2026-11-20 from 09:00 EST: at the court, then eight minutes at home (a stop, 09:02 to
    09:10 EST), back at the court, a report without a fix at 09:13, at a store from 09:15,
    silent until 10:00; with a curfew zone round home every night 21:00-06:00."""
    from ontrack.tracking.protocols.records import Fix
    from ontrack.tracking.services.devices import device_assign
    from ontrack.tracking.services.ingest import store_batch
    from ontrack.zones.services import ZoneData, zone_create

    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=PLAYBACK_DAY - dt.timedelta(hours=1))
    info = device_directory()[device.identifier]
    plan: list[tuple[int, tuple[float, float] | None]] = [
        (0, COURT),
        *((m, HOME) for m in range(2, 11)),
        (12, COURT),
        (13, None),
        (15, STORE),
        (60, STORE),
    ]
    fixes = [
        Fix(
            device.identifier,
            PLAYBACK_DAY + dt.timedelta(minutes=m),
            place[0] if place else None,
            place[1] if place else None,
            accuracy_m=10.0,
            valid=place is not None,
        )
        for m, place in plan
    ]
    store_batch([(info, fix) for fix in fixes], received_at=PLAYBACK_DAY + dt.timedelta(hours=1))
    officer = participant.officer
    assert officer is not None
    zone_create(
        actor=officer,
        participant=participant,
        data=ZoneData(
            name="Home curfew",
            kind="inclusion",
            geometry={"type": "Circle", "center": [HOME[1], HOME[0]], "radius_m": 80},
            schedule=[{"days": list(range(7)), "start": "21:00", "end": "06:00"}],
        ),
    )
    return {"device": device, "participant": participant}
