"""Battery and GPS from what devices report in every message: the battery percentage and
charging flag of their fixes against the rule's thresholds, and the GPS-lost watchdog for a
device that keeps reporting without a valid fix. Stored through ``store_batch`` (so through
the real hand-off), each batch received at its fix time."""

import datetime as dt
from collections.abc import Callable

import pytest

from ontrack.accounts.actors import SYSTEM
from ontrack.accounts.models import Program, Role, User
from ontrack.alerts.models import Alert, AlertKind, AlertStatus
from ontrack.alerts.services import RuleValues, alert_raise, alert_rule_setting_save
from ontrack.participants.models import Participant
from ontrack.tracking.models import Device
from ontrack.tracking.protocols.records import Fix
from ontrack.tracking.services.devices import device_assign
from ontrack.tracking.services.directory import device_directory
from ontrack.tracking.services.ingest import store_batch
from ontrack.tracking.watchdogs import gps_fix_check

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def _min(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


@pytest.fixture
def worn(
    make_device: Callable[..., Device], make_gps_participant: Callable[..., Participant]
) -> tuple[Device, Participant]:
    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM, at=T0 - dt.timedelta(hours=1))
    return device, participant


def _level(
    device: Device,
    at: dt.datetime,
    pct: int,
    charging: bool | None = None,
    valid: bool = True,
) -> None:
    info = device_directory()[device.identifier]
    attributes = {} if charging is None else {"charging": charging}
    fix = Fix(
        device.identifier,
        at,
        40.7,
        -74.0,
        accuracy_m=10.0,
        valid=valid,
        battery_pct=pct,
        attributes=attributes,
    )
    store_batch([(info, fix)], received_at=at)


def _statuses(participant: Participant) -> dict[str, str]:
    return dict(Alert.objects.filter(participant=participant).values_list("kind", "status"))


def test_a_reported_level_at_the_threshold_raises_low_battery_and_below_ten_critical_too(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _level(device, T0, 50)
    assert _statuses(participant) == {}
    _level(device, T0 + _min(5), 20)
    assert _statuses(participant) == {AlertKind.LOW_BATTERY: AlertStatus.PENDING}
    _level(device, T0 + _min(10), 9)
    _level(device, T0 + _min(45), 9)  # still low after both graces: they held
    assert _statuses(participant) == {
        AlertKind.LOW_BATTERY: AlertStatus.OPEN,
        AlertKind.CRITICAL_BATTERY: AlertStatus.OPEN,
    }
    assert Alert.objects.get(kind=AlertKind.LOW_BATTERY).source == f"device:{device.pk}"


def test_a_level_back_above_the_threshold_and_its_margin_clears_the_alert(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _level(device, T0, 15)
    _level(device, T0 + _min(40), 15)
    _level(device, T0 + _min(50), 23)  # above 20, within the 5-point margin: no flapping
    assert _statuses(participant) == {AlertKind.LOW_BATTERY: AlertStatus.OPEN}
    _level(device, T0 + _min(60), 30)
    alert = Alert.objects.get()
    assert (alert.status, alert.closed_at) == (AlertStatus.AUTO_RESOLVED, T0 + _min(60))


def test_going_on_charge_clears_low_battery_and_a_charging_device_raises_none(
    worn: tuple[Device, Participant],
) -> None:
    device, participant = worn
    _level(device, T0, 12, charging=True)
    assert _statuses(participant) == {}, "a device on charge is being looked after"
    _level(device, T0 + _min(5), 12, charging=False)
    assert _statuses(participant) == {AlertKind.LOW_BATTERY: AlertStatus.PENDING}
    _level(device, T0 + _min(8), 12, charging=True)
    assert _statuses(participant) == {AlertKind.LOW_BATTERY: AlertStatus.CANCELLED}


def test_a_programs_battery_threshold_replaces_the_default(
    worn: tuple[Device, Participant], make_user: Callable[..., User], program: Program
) -> None:
    device, participant = worn
    alert_rule_setting_save(
        user=make_user(Role.ADMINISTRATOR, office=None),
        kind=AlertKind.LOW_BATTERY,
        values=RuleValues(battery_pct=40),
        program=program,
    )
    _level(device, T0, 35)
    assert _statuses(participant) == {AlertKind.LOW_BATTERY: AlertStatus.PENDING}


def test_a_device_reporting_without_a_fix_raises_gps_lost_and_a_valid_fix_clears_it(
    worn: tuple[Device, Participant],
) -> None:
    device, _participant = worn
    _level(device, T0, 80)
    for minutes in (10, 20, 31):
        _level(device, T0 + _min(minutes), 80, valid=False)  # reports, but no position
    assert gps_fix_check(now=T0 + _min(29)) == 0, "not yet 30 minutes without a fix"
    assert gps_fix_check(now=T0 + _min(35)) == 1
    alert = Alert.objects.get(kind=AlertKind.GPS_LOST)
    assert alert.occurred_at == T0 + _min(30)
    assert alert.details["last_fix_at"] == T0.isoformat()
    assert gps_fix_check(now=T0 + _min(40)) == 0, "one alert, not one per run"
    _level(device, T0 + _min(70), 80)
    alert.refresh_from_db()
    assert (alert.status, alert.closed_at) == (AlertStatus.AUTO_RESOLVED, T0 + _min(70))


def test_a_silent_device_is_a_message_gap_not_gps_lost(worn: tuple[Device, Participant]) -> None:
    device, _participant = worn
    _level(device, T0, 80)
    assert gps_fix_check(now=T0 + _min(90)) == 0
    assert not Alert.objects.filter(kind=AlertKind.GPS_LOST).exists()


def test_one_batch_clears_the_wearers_gap_and_raises_their_low_battery(
    worn: tuple[Device, Participant],
) -> None:
    """The batch's open alerts of every kind it acts on are read once: the gap's clear
    and the battery check both see them."""
    device, participant = worn
    gap = alert_raise(
        participant_id=participant.pk,
        kind=AlertKind.MESSAGE_GAP,
        source=f"device:{device.pk}",
        occurred_at=T0 - _min(120),
        device_id=device.pk,
    )
    assert gap is not None
    _level(device, T0, 15)
    gap.refresh_from_db()
    assert (gap.status, gap.closed_at) == (AlertStatus.AUTO_RESOLVED, T0)
    assert _statuses(participant)[AlertKind.LOW_BATTERY] == AlertStatus.PENDING


def test_a_participants_battery_threshold_above_every_other_still_raises(
    worn: tuple[Device, Participant], make_user: Callable[..., User]
) -> None:
    device, participant = worn
    alert_rule_setting_save(
        user=make_user(Role.ADMINISTRATOR, office=None),
        kind=AlertKind.CRITICAL_BATTERY,
        values=RuleValues(battery_pct=60),
        participant=participant,
    )
    _level(device, T0, 55)
    assert _statuses(participant) == {
        AlertKind.CRITICAL_BATTERY: AlertStatus.PENDING,
    }


def test_a_report_opens_only_the_pending_alerts_whose_grace_it_reached(
    worn: tuple[Device, Participant],
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
) -> None:
    """Held alerts are promoted by their own wearer's later reports, each alert by its own
    end of grace; another wearer's report in the same batch opens nothing of theirs."""
    device, participant = worn
    other_device, other = make_device(), make_gps_participant()
    device_assign(other_device, other, actor=SYSTEM, at=T0 - dt.timedelta(hours=1))

    def held(pid: int, kind: str, at: dt.datetime) -> Alert:
        alert = alert_raise(participant_id=pid, kind=kind, source="zone:1", occurred_at=at)
        assert alert is not None
        assert alert.status == AlertStatus.PENDING  # backdated
        return alert

    entry = held(participant.pk, AlertKind.EXCLUSION_ZONE_ENTRY, T0)  # grace ends T0 + 2
    exit_ = held(participant.pk, AlertKind.INCLUSION_ZONE_EXIT, T0)  # grace ends T0 + 10
    others = held(other.pk, AlertKind.EXCLUSION_ZONE_ENTRY, T0 + _min(4))  # ends T0 + 6
    directory = device_directory()
    store_batch(
        [
            (directory[d.identifier], Fix(d.identifier, T0 + _min(5), 40.7, -74.0))
            for d in (device, other_device)
        ],
        received_at=T0 + _min(5),
    )
    statuses = {a.pk: a.status for a in Alert.objects.all()}
    assert statuses == {
        entry.pk: AlertStatus.OPEN,
        exit_.pk: AlertStatus.PENDING,
        others.pk: AlertStatus.PENDING,
    }
    _level(other_device, T0 + _min(6), 80)
    others.refresh_from_db()
    assert others.status == AlertStatus.OPEN
