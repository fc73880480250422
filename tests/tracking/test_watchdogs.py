"""The device watchdogs: message-gap tiers and the charger check, on positions and events
stored through ``store_batch`` (so through the real hand-off), with ``now`` set explicitly."""

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Role, User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus, AlertStep, Priority
from ontrack.alerts.services import RuleValues, alert_rule_setting_save
from ontrack.participants.models import Participant
from ontrack.tracking import handoff
from ontrack.tracking.alerting import batch_alerts
from ontrack.tracking.models import Device, DeviceEventRecord
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.services.devices import device_assign, device_unassign
from ontrack.tracking.services.directory import device_directory
from ontrack.tracking.services.ingest import store_batch
from ontrack.tracking.watchdogs import CHARGER_FLAG, charger_check, device_silence_check

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _min(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def worn(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> tuple[Device, Participant]:
    """A device fitted an hour before T0 on a participant of the ``officer`` fixture."""
    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=T0 - dt.timedelta(hours=1))
    return device, participant


def _report(device: Device, at: dt.datetime, **attributes: Any) -> None:
    info = device_directory()[device.identifier]
    fix = Fix(device.identifier, at, 40.7, -74.0, accuracy_m=10.0, attributes=attributes)
    store_batch([(info, fix)], received_at=at)


def _event(device: Device, at: dt.datetime, kind: EventKind) -> None:
    info = device_directory()[device.identifier]
    store_batch([(info, DeviceEvent(device.identifier, at, kind, raw_code="test"))], received_at=at)


def _gap(participant: Participant) -> Alert:
    return Alert.objects.get(participant=participant, kind=AlertKind.MESSAGE_GAP)


def test_message_gap_raises_tiered_alerts_escalates_and_clears_when_the_device_reports(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _report(device, T0)

    assert device_silence_check(now=T0 + _min(29)) == 0
    assert not Alert.objects.exists(), "silent for less than the first tier"

    assert device_silence_check(now=T0 + _min(31)) == 1
    alert = _gap(participant)
    assert alert.source == f"device:{device.pk}"
    assert (alert.status, alert.priority) == (AlertStatus.OPEN, Priority.MEDIUM)
    assert alert.details["tier_minutes"] == 30
    assert dt.datetime.fromisoformat(alert.details["silent_since"]) == T0
    assert alert.occurred_at == T0 + _min(30)

    assert device_silence_check(now=T0 + _min(90)) == 0, "same tier: nothing new"
    assert _gap(participant).occurrences == 1

    assert device_silence_check(now=T0 + _min(121)) == 1
    alert = _gap(participant)
    assert (alert.priority, alert.details["tier_minutes"]) == (Priority.HIGH, 120)
    step = AlertStep.objects.filter(alert=alert).last()
    assert step is not None
    assert "Medium -> High" in step.note

    assert device_silence_check(now=T0 + _min(1441)) == 1
    assert _gap(participant).priority == Priority.CRITICAL
    assert Alert.objects.count() == 1, "escalation keeps one alert"

    _report(device, T0 + _min(1500))
    alert = _gap(participant)
    assert alert.status == AlertStatus.AUTO_RESOLVED, "the device's next report clears it"
    assert alert.closed_at == T0 + _min(1500)
    assert device_silence_check(now=T0 + _min(1505)) == 0
    assert Alert.objects.count() == 1


def test_a_silent_device_that_is_already_past_a_later_tier_starts_there(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _report(device, T0)
    assert device_silence_check(now=T0 + _min(200)) == 1
    alert = _gap(participant)
    assert (alert.priority, alert.details["tier_minutes"]) == (Priority.HIGH, 120)


def test_the_check_clears_a_gap_the_hand_off_missed(worn: tuple[Device, Participant]) -> None:
    device, participant = worn
    _report(device, T0)
    device_silence_check(now=T0 + _min(40))
    handoff.unregister(batch_alerts)
    try:
        _report(device, T0 + _min(45))
    finally:
        handoff.register(batch_alerts)
    assert _gap(participant).status == AlertStatus.OPEN, "nothing cleared it yet"
    assert device_silence_check(now=T0 + _min(50)) == 0
    alert = _gap(participant)
    assert alert.status == AlertStatus.AUTO_RESOLVED
    assert alert.closed_at == T0 + _min(45)


def test_a_device_never_heard_from_is_silent_since_its_fitting(
    worn: tuple[Device, Participant],
) -> None:
    _device, participant = worn
    assert device_silence_check(now=T0 - _min(30)) == 1
    alert = _gap(participant)
    assert dt.datetime.fromisoformat(alert.details["silent_since"]) == T0 - dt.timedelta(hours=1)


def test_a_participants_own_tiers_and_a_disabled_rule_are_obeyed(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
    officer: User,
) -> None:
    quick, quiet = make_gps_participant(), make_gps_participant()
    for participant in (quick, quiet):
        device_assign(make_device(), participant, actor=SYSTEM, at=T0)
    alert_rule_setting_save(
        user=officer,
        kind=AlertKind.MESSAGE_GAP,
        participant=quick,
        values=RuleValues(gap_tiers_minutes=(10, 20)),
    )
    alert_rule_setting_save(
        user=officer,
        kind=AlertKind.MESSAGE_GAP,
        participant=quiet,
        values=RuleValues(enabled=False),
    )
    assert device_silence_check(now=T0 + _min(21)) == 1
    alert = _gap(quick)
    assert (alert.details["tier_minutes"], alert.priority) == (20, Priority.HIGH)
    assert device_silence_check(now=T0 + _min(3000)) == 0
    assert not Alert.objects.filter(participant=quiet).exists()


def test_taking_the_device_back_closes_its_gap_alert(
    worn: tuple[Device, Participant], make_user: Callable[..., User]
) -> None:
    device, participant = worn
    device_silence_check(now=T0 + _min(40))
    device_unassign(
        device,
        actor=make_user(Role.SUPERVISOR),
        reason="returned to stock",
        at=T0 + _min(50),
    )
    device_silence_check(now=T0 + _min(55))
    assert _gap(participant).status == AlertStatus.AUTO_RESOLVED


# --- charger ------------------------------------------------------------------------------


def _charger(participant: Participant) -> Alert:
    return Alert.objects.get(participant=participant, kind=AlertKind.CHARGER_NOT_CONNECTED)


def test_charger_watchdog_raises_after_the_configured_hours_and_a_charger_event_clears(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _event(device, T0, EventKind.CHARGER_DISCONNECTED)

    assert charger_check(now=T0 + dt.timedelta(hours=23)) == 0
    assert charger_check(now=T0 + dt.timedelta(hours=24, minutes=1)) == 1
    alert = _charger(participant)
    assert alert.source == f"device:{device.pk}"
    assert alert.details["hours"] == 24
    assert dt.datetime.fromisoformat(alert.details["last_charged_at"]) == T0
    assert alert.occurred_at == T0 + dt.timedelta(hours=24)
    assert charger_check(now=T0 + dt.timedelta(hours=25)) == 0
    assert _charger(participant).occurrences == 1, "a second run is not a second occurrence"

    _event(device, T0 + dt.timedelta(hours=26), EventKind.CHARGER_CONNECTED)
    assert _charger(participant).status == AlertStatus.AUTO_RESOLVED
    assert charger_check(now=T0 + dt.timedelta(hours=60)) == 0, "on charge now"


def test_charger_hours_follow_the_participants_rule(
    worn: tuple[Device, Participant], officer: User
) -> None:
    device, participant = worn
    alert_rule_setting_save(
        user=officer,
        kind=AlertKind.CHARGER_NOT_CONNECTED,
        participant=participant,
        values=RuleValues(charger_hours=6),
    )
    _event(device, T0, EventKind.CHARGER_DISCONNECTED)
    assert charger_check(now=T0 + dt.timedelta(hours=5)) == 0
    assert charger_check(now=T0 + dt.timedelta(hours=6)) == 1
    assert _charger(participant).details["hours"] == 6


def test_a_device_that_only_flags_charging_in_its_reports_gets_charger_events(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _report(device, T0, charging=True)
    assert charger_check(now=T0 + _min(10)) == 0
    unplugged = T0 + dt.timedelta(hours=8)
    _report(device, unplugged, charging=False)
    assert charger_check(now=unplugged + _min(20)) == 0

    derived = list(
        DeviceEventRecord.objects.filter(device=device, raw_code=CHARGER_FLAG).values_list(
            "kind", "time"
        )
    )
    assert derived == [
        (EventKind.CHARGER_CONNECTED, T0),
        (EventKind.CHARGER_DISCONNECTED, unplugged),
    ]
    assert charger_check(now=unplugged + dt.timedelta(hours=23)) == 0
    assert charger_check(now=unplugged + dt.timedelta(hours=24)) == 1
    last = dt.datetime.fromisoformat(_charger(participant).details["last_charged_at"])
    assert last == unplugged


def test_a_device_that_never_says_anything_about_charging_is_not_judged(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _report(device, T0)
    assert charger_check(now=T0 + dt.timedelta(days=3)) == 0
    assert not Alert.objects.filter(participant=participant).exists()
