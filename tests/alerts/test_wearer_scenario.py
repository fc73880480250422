"""Scripted wearers: ``ontrack simulate --script`` run as its own process, sending real GT06
frames to a real gateway (its TCP server and batch writer, on a thread of this process so
that it shares the test database), through the zone engine and the device-event rules into
alerts. Fix times are scripted across the end of daylight saving time in New York
(2026-11-01 02:00 EDT -> 01:00 EST), so the whole day is a replay of the past: grace is
judged by the fixes' own times.

Wearer A: a short excursion into the exclusion zone (left within grace: no alert), a real
entry, a curfew breach on the Saturday night (EDT), stepping out at 19:30 EST on the Sunday
(20:30 by the summer clock: must not count), a second curfew breach (escalated), a cut
strap, a silence past two message-gap tiers, and the return home. Wearer B stays home
through the DST night, steps out of the curfew for five minutes (within grace) and is
silent at the same time as A. Each must yield exactly the expected alerts and none extra.
"""

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ontrack.accounts.models import User
from ontrack.alerts.models import Alert, AlertStatus, Priority
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device, Position
from ontrack.tracking.watchdogs import device_silence_check
from ontrack.zones.models import Zone
from ontrack.zones.services import ZoneData, zone_create
from tests.support import cli_environment
from tests.tracking.gateway_helpers import eventually, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)

IMEI_A = "359710049095888"
IMEI_B = "359710049095889"
HOME_A = (40.72, -74.05)  # (lat, lon)
EXCLUDED_A = (40.75, -73.95)
AWAY_A = (40.70, -74.00)
HOME_B = (40.80, -73.90)
AWAY_B = (40.78, -73.90)
CURFEW = [{"days": list(range(7)), "start": "20:00", "end": "06:00"}]
PACE_S = 0.04  # wall seconds per scripted minute of silence


def _circle(lat_lon: tuple[float, float], radius_m: float) -> dict[str, object]:
    return {"type": "Circle", "center": [lat_lon[1], lat_lon[0]], "radius_m": radius_m}


def _home(participant: Participant, actor: User, where: tuple[float, float]) -> Zone:
    return zone_create(
        actor=actor,
        participant=participant,
        data=ZoneData(name="Home", kind="inclusion", geometry=_circle(where, 300), schedule=CURFEW),
    )


def _step(at: str, place: tuple[float, float], **extra: object) -> dict[str, object]:
    return {"at": at, "lat": place[0], "lon": place[1], **extra}


A_SILENT_AT = "2026-11-02T02:00:00Z"
B_SILENT_AT = "2026-11-02T02:05:00Z"
SCRIPT = {
    "wearers": [
        {
            "device": IMEI_A,
            "protocol": "gt06",
            "steps": [
                _step("2026-10-31T19:00:00Z", HOME_A),  # Sat 15:00 EDT
                _step("2026-10-31T19:30:00Z", EXCLUDED_A),  # a short excursion...
                _step("2026-10-31T19:31:00Z", AWAY_A),  # ...out after 1 min (grace 2)
                _step("2026-10-31T20:00:00Z", EXCLUDED_A),  # a real entry
                _step("2026-10-31T20:05:00Z", EXCLUDED_A),  # still there after grace
                _step("2026-10-31T20:30:00Z", AWAY_A),
                _step("2026-10-31T23:30:00Z", HOME_A),  # 19:30 EDT
                _step("2026-11-01T03:00:00Z", AWAY_A),  # 23:00 EDT: curfew breach
                _step("2026-11-01T03:40:00Z", HOME_A),  # home after 40 min
                # Clocks go back at 06:00Z. Sunday evening, EST (UTC-5).
                _step("2026-11-02T00:30:00Z", AWAY_A),  # 19:30 EST: not yet curfew
                _step("2026-11-02T01:30:00Z", AWAY_A),  # 20:30 EST: curfew breach
                _step(A_SILENT_AT, AWAY_A, event="strap_cut", silent_for_min=150),
                _step("2026-11-02T04:35:00Z", HOME_A),  # back home, reporting again
            ],
        },
        {
            "device": IMEI_B,
            "protocol": "gt06",
            "steps": [
                _step("2026-10-31T23:00:00Z", HOME_B),  # Sat 19:00 EDT
                _step("2026-11-01T03:00:00Z", HOME_B),  # 23:00 EDT
                _step("2026-11-01T05:30:00Z", HOME_B),  # 01:30 EDT
                _step("2026-11-01T06:30:00Z", HOME_B),  # 01:30 EST, the hour again
                _step("2026-11-02T01:30:00Z", HOME_B),  # Sun 20:30 EST
                _step("2026-11-02T02:00:00Z", AWAY_B),  # steps out during the curfew...
                _step(B_SILENT_AT, HOME_B, silent_for_min=200),  # ...back in 5 (grace 10)
                _step("2026-11-02T04:30:00Z", HOME_B),
            ],
        },
    ]
}


def _alerts(participant: Participant) -> list[tuple[str, str, str]]:
    return sorted(
        Alert.objects.filter(participant=participant).values_list("kind", "source", "status")
    )


def _stored(device: Device, at: str) -> bool:
    when = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return Position.objects.filter(device=device, time=when).exists()


def test_scripted_wearers_through_the_simulator_yield_exactly_the_expected_alerts(
    tmp_path: Path, worn_gt06: Callable[[str], Participant], officer: User
) -> None:
    a, b = worn_gt06(IMEI_A), worn_gt06(IMEI_B)
    assert a.time_zone == b.time_zone == "America/New_York"
    device_a, device_b = (
        Device.objects.get(identifier=IMEI_A),
        Device.objects.get(identifier=IMEI_B),
    )
    home_a, home_b = _home(a, officer, HOME_A), _home(b, officer, HOME_B)
    excluded = zone_create(
        actor=officer,
        participant=a,
        data=ZoneData(
            name="Victim's street",
            kind="exclusion",
            geometry=_circle(EXCLUDED_A, 300),
            buffer_m=100,
        ),
    )
    script = tmp_path / "wearers.json"
    script.write_text(json.dumps(SCRIPT))
    started = time.monotonic()

    with running_gateway(tmp_path) as gateway:
        simulator = subprocess.Popen(
            [sys.executable, "-m", "ontrack.cli", "simulate", "--script", str(script),
             "--port", str(gateway.ports["gt06"]), "--script-pace", str(PACE_S)],
            env=cli_environment(tmp_path / "home"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # Both devices fall silent. The message-gap watchdog runs as if 45 minutes, then
            # 125 minutes, had passed since the later of their last frames was received.
            assert eventually(
                lambda: _stored(device_a, A_SILENT_AT) and _stored(device_b, B_SILENT_AT),
                timeout=120,
            ), "both wearers reached their silence"
            assert eventually(lambda: ("strap_tamper", f"device:{device_a.pk}", "open") in
                              _alerts(a))  # fmt: skip
            device_a.refresh_from_db()
            device_b.refresh_from_db()
            assert device_a.last_seen_at is not None
            assert device_b.last_seen_at is not None
            silent_since = max(device_a.last_seen_at, device_b.last_seen_at)
            assert device_silence_check(now=silent_since + dt.timedelta(minutes=45)) == 2
            assert device_silence_check(now=silent_since + dt.timedelta(minutes=125)) == 2
            output, _ = simulator.communicate(timeout=40)
        finally:
            if simulator.poll() is None:
                simulator.kill()
        assert simulator.returncode == 0, output.decode()[-2000:]
        # The return home is the last frame of each; wait for it to be judged.
        assert eventually(
            lambda: (
                _stored(device_a, "2026-11-02T04:35:00Z")
                and _stored(device_b, "2026-11-02T04:30:00Z")
                and not Alert.objects.filter(kind="message_gap", status=AlertStatus.OPEN).exists()
            )
        ), "both came back"

    zone_a, zone_excluded, zone_b = (f"zone:{z.pk}" for z in (home_a, excluded, home_b))
    on_a, on_b = f"device:{device_a.pk}", f"device:{device_b.pk}"
    assert _alerts(a) == sorted(
        [
            ("exclusion_zone_entry", zone_excluded, "cancelled"),  # left within grace
            ("exclusion_zone_entry", zone_excluded, "auto_resolved"),
            ("inclusion_zone_exit", zone_a, "auto_resolved"),  # Saturday, EDT
            ("inclusion_zone_exit", zone_a, "auto_resolved"),  # Sunday, EST, until home
            ("message_gap", on_a, "auto_resolved"),
            ("strap_tamper", on_a, "open"),  # a cut strap waits for a person
        ]
    )
    assert _alerts(b) == sorted(
        [
            ("inclusion_zone_exit", zone_b, "cancelled"),  # five minutes out, within grace
            ("message_gap", on_b, "auto_resolved"),
        ]
    )

    saturday, sunday = Alert.objects.filter(participant=a, kind="inclusion_zone_exit").order_by(
        "occurred_at"
    )
    assert (saturday.occurred_at, sunday.occurred_at) == (
        datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
    ), "19:30 EST is not curfew; 20:30 EST is"
    assert sunday.closed_at == datetime(2026, 11, 2, 4, 35, tzinfo=UTC), (
        "the breach lasted past nothing but the return home"
    )
    assert (saturday.priority, sunday.priority) == (Priority.MEDIUM, Priority.HIGH), (
        "a repeat curfew breach escalates"
    )
    entry = Alert.objects.get(participant=a, kind="exclusion_zone_entry", status="auto_resolved")
    assert entry.priority == Priority.HIGH, "the cancelled excursion does not count"
    gap = Alert.objects.get(participant=a, kind="message_gap")
    assert (gap.priority, gap.details["tier_minutes"]) == (Priority.HIGH, 120)
    assert time.monotonic() - started < 60
