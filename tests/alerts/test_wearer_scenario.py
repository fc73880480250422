"""A scripted wearer: real GT06 frames through a real gateway socket, fix times scripted
across the end of daylight saving time in New York (2026-11-01 02:00 EDT -> 01:00 EST),
through the zone engine and the device-event rules into alerts.

Home is an inclusion zone with a 20:00-06:00 curfew in the participant's time zone; a
second place is an exclusion zone with a buffer. The wearer visits the exclusion zone, leaves
home during the curfew on the Saturday night (EDT) and again on the Sunday night (EST) --
stepping out at 19:30 EST first, which is 20:30 by the summer clock and must not count --
cuts the strap, goes silent, and comes home.
"""

import datetime as dt
from datetime import UTC, datetime

import pytest
from django.utils import timezone

from ontrack.alerts.models import Alert
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device
from ontrack.tracking.protocols import gt06
from ontrack.tracking.watchdogs import device_silence_check
from ontrack.zones.models import Zone, ZoneState
from ontrack.zones.services import ZoneData, zone_create
from tests.tracking.gateway_helpers import connect, eventually, receive_exactly, running_gateway
from tests.tracking.test_alerting import _alarm as alarm_frame

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "359710049095888"
HOME = (40.72, -74.05)  # (lat, lon)
EXCLUDED = (40.75, -73.95)
AWAY = (40.7, -74.0)  # where the alarm frame of the tracking tests reports its fix
CURFEW = [{"days": list(range(7)), "start": "20:00", "end": "06:00"}]


def _circle(lat_lon: tuple[float, float], radius_m: float) -> dict[str, object]:
    return {"type": "Circle", "center": [lat_lon[1], lat_lon[0]], "radius_m": radius_m}


def _zones(participant: Participant, actor) -> tuple[Zone, Zone]:
    home = zone_create(
        actor=actor,
        participant=participant,
        data=ZoneData(name="Home", kind="inclusion", geometry=_circle(HOME, 300), schedule=CURFEW),
    )
    excluded = zone_create(
        actor=actor,
        participant=participant,
        data=ZoneData(
            name="Victim's street", kind="exclusion", geometry=_circle(EXCLUDED, 300), buffer_m=100
        ),
    )
    return home, excluded


class Wearer:
    """The device's side of the socket, one frame at a time, each waited for until the zone
    engine has judged it (so each step's alerts exist before the next is sent)."""

    def __init__(self, port: int, home: Zone) -> None:
        self.port = port
        self.home = home
        self.serial = 1
        self.sock = connect(port)
        self._send(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), self._next()))
        receive_exactly(self.sock, 10)

    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _send(self, frame: bytes) -> None:
        self.sock.sendall(frame)

    def _judged(self, when: datetime) -> None:
        assert eventually(
            lambda: ZoneState.objects.filter(zone=self.home, last_fix_at=when).exists()
        ), f"the fix of {when:%Y-%m-%d %H:%M}Z reached the zone engine"

    def at(self, when: datetime, place: tuple[float, float]) -> None:
        lat, lon = place
        self._send(gt06.encode_gps_lbs(time=when, lat=lat, lon=lon, serial=self._next()))
        self._judged(when)

    def strap_cut(self, when: datetime) -> None:
        self._send(alarm_frame(0x13, self._next(), when))
        receive_exactly(self.sock, 10)
        self._judged(when)

    def close(self) -> None:
        self.sock.close()


def _alerts(participant: Participant) -> list[tuple[str, str, str]]:
    return sorted(
        Alert.objects.filter(participant=participant).values_list("kind", "source", "status")
    )


def test_a_scripted_wearer_raises_exactly_the_expected_alerts_across_the_dst_change(
    tmp_path, worn_gt06, officer
):
    participant = worn_gt06(IMEI)
    assert participant.time_zone == "America/New_York"
    device = Device.objects.get(identifier=IMEI)
    home, excluded = _zones(participant, officer)
    zone_home, zone_excluded, on_device = (
        f"zone:{home.pk}",
        f"zone:{excluded.pk}",
        f"device:{device.pk}",
    )

    with running_gateway(tmp_path) as gateway:
        wearer = Wearer(gateway.ports["gt06"], home)
        # Saturday 31 October, EDT (UTC-4): afternoon, no curfew.
        wearer.at(datetime(2026, 10, 31, 19, 0, tzinfo=UTC), HOME)  # 15:00 EDT
        wearer.at(datetime(2026, 10, 31, 20, 0, tzinfo=UTC), EXCLUDED)  # 16:00 EDT
        # Replayed in the past: grace is judged by the fixes' times, so it waits for them.
        assert _alerts(participant) == [("exclusion_zone_entry", zone_excluded, "pending")]
        wearer.at(datetime(2026, 10, 31, 20, 30, tzinfo=UTC), AWAY)  # 16:30: out, no curfew
        wearer.at(datetime(2026, 10, 31, 23, 30, tzinfo=UTC), HOME)  # 19:30 EDT
        assert _alerts(participant) == [("exclusion_zone_entry", zone_excluded, "auto_resolved")]

        # Saturday night, still EDT: out at 23:00 during the curfew, home at 23:40.
        wearer.at(datetime(2026, 11, 1, 3, 0, tzinfo=UTC), AWAY)  # 23:00 EDT
        assert ("inclusion_zone_exit", zone_home, "pending") in _alerts(participant)
        wearer.at(datetime(2026, 11, 1, 3, 40, tzinfo=UTC), HOME)  # 23:40 EDT

        # Clocks go back at 06:00Z. Sunday evening, EST (UTC-5).
        wearer.at(datetime(2026, 11, 2, 0, 30, tzinfo=UTC), AWAY)  # 19:30 EST: before curfew
        assert len(_alerts(participant)) == 2, "19:30 EST is not yet curfew (20:30 in EDT)"
        wearer.at(datetime(2026, 11, 2, 1, 30, tzinfo=UTC), AWAY)  # 20:30 EST: curfew
        wearer.strap_cut(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))  # 21:00 EST, still out
        wearer.close()

    assert _alerts(participant) == sorted(
        [
            ("exclusion_zone_entry", zone_excluded, "auto_resolved"),
            ("inclusion_zone_exit", zone_home, "auto_resolved"),
            ("inclusion_zone_exit", zone_home, "open"),
            ("strap_tamper", on_device, "open"),
        ]
    )
    first_exit, second_exit = Alert.objects.filter(kind="inclusion_zone_exit").order_by(
        "occurred_at"
    )
    assert (first_exit.occurred_at, second_exit.occurred_at) == (
        datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
    )
    assert second_exit.priority > first_exit.priority, "a repeat curfew breach escalates"

    # Then nothing more from the device. The silence watchdog, run as if 45 minutes had
    # passed since the last frame was received, raises a message gap.
    silent_since = device_last_seen(device)
    device_silence_check(now=silent_since + dt.timedelta(minutes=45))
    assert ("message_gap", on_device, "open") in _alerts(participant)

    # It comes home and reports again; the next run of the watchdog (on the real clock: the
    # frame was received just now) closes the gap.
    with running_gateway(tmp_path) as gateway:
        wearer = Wearer(gateway.ports["gt06"], home)
        wearer.at(datetime(2026, 11, 2, 3, 0, tzinfo=UTC), HOME)  # 22:00 EST
        wearer.close()
    assert device_last_seen(device) > silent_since
    device_silence_check(now=timezone.now())

    assert _alerts(participant) == sorted(
        [
            ("exclusion_zone_entry", zone_excluded, "auto_resolved"),
            ("inclusion_zone_exit", zone_home, "auto_resolved"),
            ("inclusion_zone_exit", zone_home, "auto_resolved"),
            ("message_gap", on_device, "auto_resolved"),
            ("strap_tamper", on_device, "open"),
        ]
    ), "coming home clears the curfew breach and the gap; a cut strap waits for a person"


def device_last_seen(device: Device) -> datetime:
    device.refresh_from_db()
    assert device.last_seen_at is not None
    return device.last_seen_at
