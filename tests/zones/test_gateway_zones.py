"""End to end: real GT06 frames through a running gateway into the zone engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from django.utils import timezone

from ontrack.accounts.models import User
from ontrack.participants.models import Participant
from ontrack.tracking.protocols import gt06
from ontrack.zones import services
from ontrack.zones.models import ZoneClock, ZoneState
from tests.tracking.gateway_helpers import connect, eventually, receive_exactly, running_gateway
from tests.zones.conftest import HOME, offset, square

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "359710049095123"


def _send_track(tmp_path: Path, points: list[tuple[float, float]]) -> None:
    """Log the device in and send one location frame per point, a minute apart, ending
    now."""
    start = timezone.now().replace(microsecond=0) - dt.timedelta(minutes=len(points))
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        for n, (lat, lon) in enumerate(points):
            when = start + dt.timedelta(minutes=n)
            sock.sendall(gt06.encode_gps_lbs(time=when, lat=lat, lon=lon, serial=n + 2))
        assert eventually(
            lambda: ZoneClock.objects.filter(
                last_fix_at__gte=start + dt.timedelta(minutes=len(points) - 1)
            ).exists()
        ), "the last fix reached the zone engine"
        sock.close()


def test_coming_home_through_the_gateway_is_recorded_as_inside(
    tmp_path: Path, worn_gt06: Callable[[str], Participant], officer: User
) -> None:
    participant = worn_gt06(IMEI)
    services.zone_create(
        actor=officer,
        participant=participant,
        data=services.ZoneData(name="Home", kind="inclusion", geometry=square(300)),
    )
    _send_track(tmp_path, [offset(200, 0), offset(100, 0), HOME])
    state = ZoneState.objects.get(participant=participant)
    assert state.side == "inside"
    assert not state.violating


def test_entering_an_exclusion_zone_through_the_gateway_raises_one_alert(
    tmp_path: Path, worn_gt06: Callable[[str], Participant], officer: User
) -> None:
    pytest.importorskip("ontrack.alerts.services", reason="the alerts app is not built yet")
    from ontrack.alerts.models import Alert

    participant = worn_gt06(IMEI)
    zone = services.zone_create(
        actor=officer,
        participant=participant,
        data=services.ZoneData(name="Park", kind="exclusion", geometry=square(300)),
    )
    _send_track(tmp_path, [offset(3_000, 0), offset(1_000, 0), HOME, offset(10, 0)])
    state = ZoneState.objects.get(participant=participant, zone=zone)
    assert state.side == "inside"
    assert state.violating
    alerts = Alert.objects.filter(participant=participant, kind="exclusion_zone_entry")
    assert alerts.count() == 1, "two fixes inside are one violation, one alert"
    assert alerts.get().source == f"zone:{zone.pk}"
