"""store_batch: what is written, what is dropped, what "latest" means, and the hand-off."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from ontrack.accounts.actors import SYSTEM
from ontrack.participants.models import Participant
from ontrack.tracking import handoff
from ontrack.tracking.models import Device, DeviceEventRecord, Position
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix, Record
from ontrack.tracking.services.devices import device_assign
from ontrack.tracking.services.directory import DeviceInfo, device_directory
from ontrack.tracking.services.ingest import store_batch

T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
RECEIVED = T0 + dt.timedelta(minutes=5)


def fix(
    device: Device,
    minutes: float,
    lat: float = 40.7,
    lon: float = -74.1,
    *,
    speed_kmh: float | None = None,
    course: float | None = None,
    accuracy_m: float | None = None,
    satellites: int | None = None,
    valid: bool = True,
    battery_pct: int | None = None,
    attributes: dict[str, Any] | None = None,
) -> Fix:
    return Fix(
        device_id=device.identifier,
        time=T0 + dt.timedelta(minutes=minutes),
        lat=lat,
        lon=lon,
        speed_kmh=speed_kmh,
        course=course,
        accuracy_m=accuracy_m,
        satellites=satellites,
        valid=valid,
        battery_pct=battery_pct,
        attributes=attributes or {},
    )


@pytest.fixture
def handed_off() -> Iterator[list[handoff.StoredBatch]]:
    batches: list[handoff.StoredBatch] = []
    handoff.register(batches.append)
    yield batches
    handoff.unregister(batches.append)


@pytest.mark.django_db
def test_fixes_and_events_are_stored_with_their_values(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    result = store_batch(
        [
            (info, fix(device, 0, speed_kmh=12.5, course=90.0, accuracy_m=8.0, satellites=7)),
            (info, DeviceEvent(device.identifier, T0, EventKind.TAMPER, raw_code="0x03")),
        ],
        received_at=RECEIVED,
    )
    assert (result.stored_fixes, result.stored_events, result.dropped) == (1, 1, {})
    position = Position.objects.get()
    assert (position.device_id, position.time, position.lat, position.lon) == (
        device.pk,
        T0,
        40.7,
        -74.1,
    )
    assert (position.speed_kmh, position.course, position.accuracy_m, position.satellites) == (
        12.5,
        90.0,
        8.0,
        7,
    )
    assert position.received_at == RECEIVED
    event = DeviceEventRecord.objects.get()
    assert (event.kind, event.raw_code, event.time) == ("tamper", "0x03", T0)


@pytest.mark.django_db
def test_positions_carry_the_wearer_at_the_time_of_storage(
    make_device: Callable[..., Device],
    make_gps_participant: Callable[..., Participant],
) -> None:
    device = make_device()
    participant = make_gps_participant()
    device_assign(device, participant, actor=SYSTEM)
    info = device_directory()[device.identifier]
    assert info.participant_id == participant.pk
    store_batch([(info, fix(device, 0))], received_at=RECEIVED)
    assert Position.objects.get().participant_id == participant.pk


@pytest.mark.django_db
def test_future_and_inaccurate_fixes_are_dropped_and_invalid_ones_stored_marked(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    result = store_batch(
        [
            (info, fix(device, 0, valid=False)),
            (info, fix(device, 1, lat=0.0, lon=0.0)),
            (info, fix(device, 60 * 24)),
            (info, fix(device, 2, accuracy_m=5000.0)),
            (info, fix(device, 3)),
        ],
        received_at=RECEIVED,
    )
    assert result.stored_fixes == 3
    assert result.dropped == {"future": 1, "low_accuracy": 1}
    assert result.invalid == {"device_marked_invalid": 1, "no_fix": 1}
    assert list(Position.objects.values_list("time", "invalid_reason", "lat")) == [
        (T0, "device_marked_invalid", 40.7),
        (T0 + dt.timedelta(minutes=1), "no_fix", None),
        (T0 + dt.timedelta(minutes=3), "", 40.7),
    ]


@pytest.mark.django_db
def test_device_events_are_never_filtered_even_with_a_useless_fix(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    sos = DeviceEvent(device.identifier, T0, EventKind.SOS, raw_code="sos")
    tamper = DeviceEvent(device.identifier, T0, EventKind.TAMPER, raw_code="tamper")
    result = store_batch(
        [(info, fix(device, 0, lat=0.0, lon=0.0, valid=False)), (info, sos), (info, tamper)],
        received_at=RECEIVED,
    )
    assert result.stored_events == 2
    assert DeviceEventRecord.objects.filter(kind__in=["sos", "tamper"]).count() == 2


@pytest.mark.django_db
def test_a_fix_repeated_in_the_batch_or_already_stored_is_a_duplicate(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    first = store_batch([(info, fix(device, 0)), (info, fix(device, 0))], received_at=RECEIVED)
    assert (first.stored_fixes, first.dropped) == (1, {"duplicate": 1})
    again = store_batch(
        [(info, fix(device, 0)), (info, fix(device, 1))],
        received_at=RECEIVED + dt.timedelta(seconds=1),
    )
    assert (again.stored_fixes, again.dropped) == (1, {"duplicate": 1})
    assert Position.objects.count() == 2


@pytest.mark.django_db
def test_a_late_fix_is_stored_but_does_not_move_latest_back(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    store_batch([(info, fix(device, 10, lat=41.0, battery_pct=80))], received_at=RECEIVED)
    store_batch(
        [(info, fix(device, 2, lat=42.0, battery_pct=20))],
        received_at=RECEIVED + dt.timedelta(minutes=1),
    )
    device.refresh_from_db()
    assert device.last_fix_time == T0 + dt.timedelta(minutes=10)
    assert device.last_lat == 41.0
    assert device.battery_pct == 80, "an old fix must not overwrite the current battery level"
    assert device.last_seen_at == RECEIVED + dt.timedelta(minutes=1)
    times = list(Position.objects.filter(device=device).order_by("time").values_list("lat"))
    assert times == [(42.0,), (41.0,)]


@pytest.mark.django_db
def test_latest_fix_battery_and_charging_come_from_the_newest_fix(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    store_batch(
        [
            (
                info,
                fix(
                    device,
                    5,
                    lat=40.5,
                    accuracy_m=9.0,
                    battery_pct=55,
                    attributes={"charging": True},
                ),
            ),
            (info, fix(device, 1, lat=40.1, battery_pct=60, attributes={"charging": False})),
        ],
        received_at=RECEIVED,
    )
    device.refresh_from_db()
    assert (device.last_fix_time, device.last_lat, device.last_accuracy_m) == (
        T0 + dt.timedelta(minutes=5),
        40.5,
        9.0,
    )
    assert (device.battery_pct, device.charging) == (55, True)


@pytest.mark.django_db
def test_charger_events_set_the_charging_flag(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    device = make_device()
    info = info_for(device)
    event = DeviceEvent(device.identifier, T0, EventKind.CHARGER_CONNECTED, raw_code="c")
    store_batch([(info, event)], received_at=RECEIVED)
    device.refresh_from_db()
    assert device.charging is True


@pytest.mark.django_db
def test_the_stored_batch_is_handed_off_once_without_duplicates(
    make_device: Callable[..., Device],
    info_for: Callable[[Device], DeviceInfo],
    handed_off: list[handoff.StoredBatch],
) -> None:
    device = make_device()
    info = info_for(device)
    store_batch([(info, fix(device, 0))], received_at=RECEIVED)
    store_batch(
        [
            (info, fix(device, 0)),
            (info, fix(device, 1, accuracy_m=4.0)),
            (info, DeviceEvent(device.identifier, T0, EventKind.LOW_BATTERY, raw_code="lb")),
        ],
        received_at=RECEIVED + dt.timedelta(seconds=1),
    )
    assert len(handed_off) == 2
    second = handed_off[1]
    assert [(f.device_id, f.time, f.accuracy_m) for f in second.fixes] == [
        (device.pk, T0 + dt.timedelta(minutes=1), 4.0)
    ]
    assert [(e.kind, e.raw_code) for e in second.events] == [("low_battery", "lb")]


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_reported_durable_once_committed_and_before_its_hand_off(
    make_device: Callable[..., Device],
    info_for: Callable[[Device], DeviceInfo],
    handed_off: list[handoff.StoredBatch],
) -> None:
    """The gateway acknowledges on ``on_durable``: never before the commit that makes the
    batch durable, and without waiting for the rules the hand-off runs."""
    device = make_device()
    info = info_for(device)
    handed_off_when_durable: list[int] = []

    def durable() -> None:
        handed_off_when_durable.append(len(handed_off))

    store_batch([(info, fix(device, 0))], received_at=RECEIVED, on_durable=durable)
    assert handed_off_when_durable == [0], "durable before the hand-off"
    with transaction.atomic():
        store_batch([(info, fix(device, 1))], received_at=RECEIVED, on_durable=durable)
        assert handed_off_when_durable == [0], "not durable inside an uncommitted block"
    assert handed_off_when_durable == [0, 2], "durable at the enclosing block's commit"


@pytest.mark.django_db
def test_a_replayed_batch_does_not_store_or_hand_off_its_events_twice(
    make_device: Callable[..., Device],
    info_for: Callable[[Device], DeviceInfo],
    handed_off: list[handoff.StoredBatch],
) -> None:
    """A spooled batch replayed after a crash mid-replay, or an alarm a device resent for
    want of an acknowledgement: the same event (device, time, kind, code) is stored once."""
    device = make_device()
    info = info_for(device)
    tamper = DeviceEvent(device.identifier, T0, EventKind.TAMPER, raw_code="gt06:alarm:0x13")
    batch: list[tuple[DeviceInfo, Record]] = [
        (info, fix(device, 0)),
        (info, tamper),
        (info, tamper),
    ]
    first = store_batch(batch, received_at=RECEIVED)
    again = store_batch(batch, received_at=RECEIVED + dt.timedelta(minutes=30))
    assert (first.stored_events, again.stored_events) == (1, 0)
    assert DeviceEventRecord.objects.filter(device=device, kind="tamper").count() == 1
    assert [len(b.events) for b in handed_off] == [1], "handed to the alerts once"
    other = DeviceEvent(device.identifier, T0, EventKind.SOS, raw_code="gt06:alarm:0x01")
    assert store_batch([(info, other)], received_at=RECEIVED).stored_events == 1, (
        "another event at the same instant is not a duplicate"
    )


@pytest.mark.django_db
def test_a_failing_hand_off_does_not_lose_the_batch(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    def broken(batch: handoff.StoredBatch) -> None:
        raise RuntimeError("zone engine bug")

    device = make_device()
    handoff.register(broken)
    try:
        result = store_batch([(info_for(device), fix(device, 0))], received_at=RECEIVED)
    finally:
        handoff.unregister(broken)
    assert result.stored_fixes == 1
    assert Position.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_in_the_database_writes_nothing(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    """Here the events insert fails (its table is gone) after the positions insert ran: the
    positions must be rolled back with it, and the error must reach the caller."""
    from django.db import DatabaseError

    device = make_device()
    info = info_for(device)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tracking_deviceeventrecord RENAME TO gone_for_a_moment")
    try:
        with pytest.raises(DatabaseError):
            store_batch(
                [
                    (info, fix(device, 0)),
                    (info, DeviceEvent(device.identifier, T0, EventKind.SOS, raw_code="s")),
                ],
                received_at=RECEIVED,
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE gone_for_a_moment RENAME TO tracking_deviceeventrecord")
    assert Position.objects.count() == 0
    device.refresh_from_db()
    assert device.last_seen_at is None


@pytest.mark.django_db
def test_the_directory_leaves_out_retired_devices(
    make_device: Callable[..., Device],
) -> None:
    from ontrack.tracking.services.devices import device_retire

    kept = make_device()
    retired = make_device()
    device_retire(retired, actor=SYSTEM)
    assert set(device_directory()) == {kept.identifier}


@pytest.mark.django_db
def test_positions_go_into_day_partitions_on_postgresql(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("day partitions exist on PostgreSQL only")
    from ontrack.tracking import partitions

    partitions.forget_known_partitions()
    device = make_device()
    store_batch([(info_for(device), fix(device, 0))], received_at=RECEIVED)
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM tracking_position")
        assert cursor.fetchone()[0] == partitions.partition_name(T0.date())


@pytest.mark.django_db
def test_the_device_updates_of_every_batch_are_hot_on_postgresql(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    """No index covers what ``store_batch`` moves on every device in every batch, so on
    PostgreSQL each of those updates stays on its page and writes no index entry."""
    if connection.vendor != "postgresql":
        pytest.skip("HOT updates are PostgreSQL's")
    device = make_device()
    info = info_for(device)

    def updates() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'tracking_device'"
            )
            return cursor.fetchone()

    before = updates()
    for minute in range(3):
        store_batch(
            [(info, fix(device, minute, battery_pct=80 - minute))],
            received_at=RECEIVED + dt.timedelta(minutes=minute),
        )
    after = updates()
    assert after[0] - before[0] == 3
    assert after[1] - before[1] == 3, "an update of tracking_device was not HOT"
