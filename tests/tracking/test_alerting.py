"""Device events into alerts: real GT06 alarm frames through a running gateway."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ontrack.alerts.models import Alert, AlertStatus
from ontrack.participants.models import Participant
from ontrack.tracking.protocols import gt06
from tests.tracking.gateway_helpers import connect, eventually, receive_exactly, running_gateway

pytestmark = pytest.mark.django_db(transaction=True)

IMEI = "359710049095777"
WHEN = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)


def _alarm(alarm_code: int, serial: int, when: datetime = WHEN) -> bytes:
    """A GT06 alarm packet (0x16): a location block, then terminal info, voltage, signal and
    the alarm code."""
    location = gt06.encode_gps_lbs(time=when, lat=40.7, lon=-74.0, serial=serial)
    content = location[4:22] + bytes([9]) + location[22:30] + bytes([0x44, 5, 4, alarm_code, 2])
    return gt06.encode_frame(gt06.MSG_ALARM, content, serial)


def _send(tmp_path: Path, *frames: bytes) -> None:
    with running_gateway(tmp_path) as gateway:
        sock = connect(gateway.ports["gt06"])
        sock.sendall(gt06.encode_frame(gt06.MSG_LOGIN, bytes.fromhex("0" + IMEI), 1))
        receive_exactly(sock, 10)
        for frame in frames:
            sock.sendall(frame)
            receive_exactly(sock, 10)
        sock.close()


def test_a_strap_cut_reported_twice_is_one_alert_for_the_wearer(
    tmp_path: Path, worn_gt06: Callable[[str], Participant]
) -> None:
    participant = worn_gt06(IMEI)
    _send(tmp_path, _alarm(0x13, 5), _alarm(0x13, 6, WHEN.replace(minute=31)))
    alert = eventually(lambda: Alert.objects.filter(participant=participant).first())
    assert alert.kind == "strap_tamper"
    assert alert.status == AlertStatus.OPEN
    assert alert.source.startswith("device:")
    assert eventually(lambda: Alert.objects.get().occurrences == 2)


def test_a_device_worn_by_nobody_raises_nothing(tmp_path: Path) -> None:
    from tests.tracking.device_helpers import register_device

    register_device(IMEI, "gt06")
    _send(tmp_path, _alarm(0x13, 5))
    assert Alert.objects.count() == 0


def test_charger_connected_within_grace_cancels_the_low_battery_alert(
    make_participant: Callable[..., Participant],
) -> None:
    from ontrack.tracking.alerting import device_events_to_alerts
    from ontrack.tracking.handoff import StoredEvent

    p = make_participant()
    now = datetime.now(UTC)
    device_events_to_alerts(
        [
            StoredEvent(device_id=4, participant_id=p.pk, time=now, kind="low_battery",
                        raw_code="0x19"),
            StoredEvent(device_id=4, participant_id=p.pk, time=now + timedelta(minutes=1),
                        kind="charger_connected", raw_code="0x04"),
        ]
    )  # fmt: skip
    assert Alert.objects.get().status == AlertStatus.CANCELLED
