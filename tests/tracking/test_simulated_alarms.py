"""Scripted device events reach the gateway as the GT06 alarm frames a real unit sends
(0x26 with the alarm code), over a real socket, and come out as the right device events and
alerts: an SOS is an SOS alert (not a battery event), a low battery is low and not
critical, a cut strap is a strap tamper."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ontrack.alerts.models import Alert
from ontrack.participants.models import Participant
from ontrack.tracking.models import DeviceEventRecord
from ontrack.tracking.simulator.script import script_parse, script_play
from tests.tracking.gateway_helpers import eventually, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)

SOS_IMEI = "359710049096001"
LOW_IMEI = "359710049096002"
STRAP_IMEI = "359710049096003"
POWER_IMEI = "359710049096004"
HOME = (40.72, -74.05)


def _wearer(imei: str, event: str, battery: int) -> dict[str, Any]:
    return {
        "device": imei,
        "protocol": "gt06",
        "steps": [
            {"at": "2026-11-02T02:00:00Z", "lat": HOME[0], "lon": HOME[1], "battery": battery},
            {"at": "2026-11-02T02:01:00Z", "lat": HOME[0], "lon": HOME[1], "battery": battery,
             "event": event},
        ],
    }  # fmt: skip


def _play(port: int, *wearers: dict[str, Any]) -> None:
    script = script_parse(json.dumps({"wearers": list(wearers)}))
    asyncio.run(script_play(script, host="127.0.0.1", port=port, pace_s=0.01))


def _events(imei: str) -> list[tuple[str, str]]:
    return list(
        DeviceEventRecord.objects.filter(device__identifier=imei)
        .order_by("time", "id")
        .values_list("kind", "raw_code")
    )


def _alert_kinds(participant: Participant) -> list[str]:
    return sorted(
        Alert.objects.filter(participant=participant)
        .exclude(status="cancelled")
        .values_list("kind", flat=True)
    )


def test_scripted_sos_is_an_alarm_frame_that_raises_an_sos_alert_and_nothing_about_battery(
    tmp_path: Path, worn_gt06: Callable[[str], Participant]
) -> None:
    wearer = worn_gt06(SOS_IMEI)
    with running_gateway(tmp_path) as gateway:
        _play(gateway.ports["gt06"], _wearer(SOS_IMEI, "sos", 73))
        assert eventually(lambda: _events(SOS_IMEI)), "the SOS was stored"

    assert _events(SOS_IMEI) == [("sos", "gt06:alarm:0x01")]
    assert _alert_kinds(wearer) == ["sos"], "one SOS alert, no battery alert at 73 %"


def test_scripted_low_battery_is_low_not_critical_and_stays_raised(
    tmp_path: Path, worn_gt06: Callable[[str], Participant]
) -> None:
    wearer = worn_gt06(LOW_IMEI)
    with running_gateway(tmp_path) as gateway:
        _play(gateway.ports["gt06"], _wearer(LOW_IMEI, "low_battery", 15))
        assert eventually(lambda: _events(LOW_IMEI)), "the low battery was stored"

    assert [kind for kind, _raw in _events(LOW_IMEI)] == ["low_battery"]
    assert _alert_kinds(wearer) == ["low_battery"], (
        "15 % is low (under 20 %), not critical (under 10 %), and the level the alarm frame "
        "carries must not clear the alert it raised"
    )


def test_scripted_strap_cut_and_power_cut_are_their_own_alarm_codes(
    tmp_path: Path, worn_gt06: Callable[[str], Participant]
) -> None:
    strap, _power = worn_gt06(STRAP_IMEI), worn_gt06(POWER_IMEI)
    with running_gateway(tmp_path) as gateway:
        _play(
            gateway.ports["gt06"],
            _wearer(STRAP_IMEI, "strap_cut", 80),
            _wearer(POWER_IMEI, "power_cut", 80),
        )
        assert eventually(lambda: _events(STRAP_IMEI) and _events(POWER_IMEI))

    assert _events(STRAP_IMEI) == [("tamper", "gt06:alarm:0x13")]
    assert _events(POWER_IMEI) == [("external_power_cut", "gt06:alarm:0x02")]
    assert _alert_kinds(strap) == ["strap_tamper"]
