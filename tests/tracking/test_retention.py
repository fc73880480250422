"""Retention: old positions and events go, recent ones stay, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.db import connection
from django.test import override_settings

from ontrack.audit.tasks import retention_purge_nightly
from ontrack.tracking import partitions
from ontrack.tracking.models import Device, DeviceEventRecord, Position
from ontrack.tracking.protocols.records import DeviceEvent, EventKind, Fix
from ontrack.tracking.retention import positions_purge
from ontrack.tracking.services.directory import DeviceInfo
from ontrack.tracking.services.ingest import store_batch

NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.UTC)


def _store_days(device: Device, info: DeviceInfo, days_ago: list[int]) -> None:
    items: list[tuple[DeviceInfo, Fix | DeviceEvent]] = []
    for days in days_ago:
        when = NOW - dt.timedelta(days=days)
        items.append((info, Fix(device.identifier, when, 40.7, -74.0)))
        items.append((info, DeviceEvent(device.identifier, when, EventKind.TAMPER, "t")))
    store_batch(items, received_at=NOW)


@pytest.mark.django_db
def test_positions_older_than_the_limit_are_purged_and_counted(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    partitions.forget_known_partitions()
    device = make_device()
    _store_days(device, info_for(device), [40, 31, 30, 29, 1, 0])
    removed = positions_purge(dt.timedelta(days=30, hours=1), now=NOW)
    assert removed == 2
    kept = sorted((NOW - t).days for t in Position.objects.values_list("time", flat=True))
    assert kept == [0, 1, 29, 30]


@pytest.mark.django_db
def test_on_postgresql_whole_day_partitions_are_dropped(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("day partitions exist on PostgreSQL only")
    partitions.forget_known_partitions()
    device = make_device()
    _store_days(device, info_for(device), [40, 10, 0])
    old_day = (NOW - dt.timedelta(days=40)).date()
    assert old_day in partitions.existing_partitions()
    assert positions_purge(dt.timedelta(days=20), now=NOW) == 1
    assert old_day not in partitions.existing_partitions()
    assert Position.objects.count() == 2


@pytest.mark.django_db
def test_a_partition_created_late_takes_over_rows_from_the_default_partition(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("day partitions exist on PostgreSQL only")
    device = make_device()
    day = NOW.date()
    partitions._known.add(day)  # pretend the partition exists: the row lands in DEFAULT
    store_batch([(info_for(device), Fix(device.identifier, NOW, 40.7, -74.0))], received_at=NOW)
    partitions.forget_known_partitions()
    assert partitions.positions_ensure_days([day]) == [day]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM tracking_position")
        assert [row[0] for row in cursor.fetchall()] == [partitions.partition_name(day)]


@pytest.mark.django_db
@override_settings(ONTRACK_RETENTION_DAYS={"positions": 30, "device_events": 30})
def test_the_nightly_task_purges_positions_and_events(
    make_device: Callable[..., Device], info_for: Callable[[Device], DeviceInfo]
) -> None:
    partitions.forget_known_partitions()
    device = make_device()
    recent = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    ancient = dt.datetime.now(dt.UTC) - dt.timedelta(days=400)
    info = info_for(device)
    store_batch(
        [
            (info, Fix(device.identifier, recent, 40.7, -74.0)),
            (info, Fix(device.identifier, ancient, 40.7, -74.0)),
            (info, DeviceEvent(device.identifier, ancient, EventKind.SOS, "s")),
        ],
        received_at=dt.datetime.now(dt.UTC),
    )
    result = retention_purge_nightly()
    assert (result["positions"], result["device_events"]) == (1, 1)
    assert Position.objects.count() == 1
    assert DeviceEventRecord.objects.count() == 0
